import { describe, expect, it } from 'vitest';
import { FallbackEngine } from '../lib/engine/fallback.js';
import { WhisperError } from '../lib/errors.js';
import type { Transcript } from '../lib/model.js';

const transcript = (text: string): Transcript => ({
  text,
  segments: [],
  language: 'en',
  timings: { queueMs: 0, melMs: 0, encodeMs: 0, decodeMs: 0, tokens: 0, windows: 0, totalMs: 0 },
  backend: text,
  audioMs: 0,
  audioCtx: 1500,
});

function setup(remoteFails: () => Error | undefined) {
  let now = 1000;
  const calls: string[] = [];
  const notes: string[] = [];
  const remote = {
    transcribe: async () => {
      calls.push('remote');
      const e = remoteFails();
      if (e) throw e;
      return transcript('remote');
    },
  };
  const local = {
    transcribe: async () => {
      calls.push('local');
      return transcript('local');
    },
  };
  const engine = new FallbackEngine(remote, local, { url: 'http://gpu-box:8178', retryRemoteMs: 60_000, notify: (m) => notes.push(m), clock: { now: () => now } });
  return { engine, calls, notes, advance: (ms: number) => (now += ms) };
}

describe('FallbackEngine: the remote engine first, this machine when it cannot be reached', () => {
  it('uses the remote engine while it answers', async () => {
    const s = setup(() => undefined);
    expect((await s.engine.transcribe(new Float32Array(16), {})).text).toBe('remote');
    expect(s.calls).toEqual(['remote']);
    expect(s.notes).toEqual([]);
  });

  it('an unreachable server: the same request is transcribed locally, the next minute stays local, then the remote is tried again', async () => {
    let down = true;
    const s = setup(() => (down ? new WhisperError('SERVICE_UNAVAILABLE', 'cannot reach http://gpu-box:8178') : undefined));
    expect((await s.engine.transcribe(new Float32Array(16), {})).text).toBe('local');
    expect(s.notes).toEqual(['the remote engine failed (cannot reach http://gpu-box:8178); transcribing on this machine']);
    expect(s.engine.current).toBe('local');
    s.advance(59_000);
    expect((await s.engine.transcribe(new Float32Array(16), {})).text).toBe('local');
    expect(s.calls).toEqual(['remote', 'local', 'local']);
    s.advance(2000);
    down = false;
    expect((await s.engine.transcribe(new Float32Array(16), {})).text).toBe('remote');
    expect(s.notes[1]).toBe('the remote engine http://gpu-box:8178 answers again; dictations go there');
    expect(s.engine.current).toBe('remote');
  });

  it('a refused token or bad audio is the user’s to see, not hidden behind the fallback', async () => {
    const s = setup(() => new WhisperError('CONFIG_INVALID', 'refused the token'));
    await expect(s.engine.transcribe(new Float32Array(16), {})).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(s.calls).toEqual(['remote']);
  });

  it('an aborted request is not retried locally', async () => {
    const ac = new AbortController();
    ac.abort();
    const s = setup(() => new WhisperError('SERVICE_UNAVAILABLE', 'aborted under way'));
    await expect(s.engine.transcribe(new Float32Array(16), { signal: ac.signal })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(s.calls).toEqual(['remote']);
  });
});
