import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../lib/audio/resample.js';
import {
  AbortError,
  type Engine,
  type FinalEvent,
  loadModel,
  type PartialEvent,
  readAudio,
  type StreamEvent,
  streamTranscription,
  type TranscribeOptions,
  type Transcript,
  type TranscriptionStream,
  WhisperError,
  type WhisperModel,
} from '../lib/index.js';
import { ServiceServer } from '../lib/service/server.js';
import { ServiceEngine } from '../lib/service/serviceEngine.js';
import { audible, espeak, JFK, models, SCRIPT_25 } from './helpers.js';

const RATE = 16000;
let model: WhisperModel;
let jfk: Float32Array;
/** two spoken sentences with pauses: 0.6 s silence, sentence, 1.5 s silence, sentence, 1.2 s silence */
let speech: Float32Array;
/** where each sentence's voice starts and ends, ms */
let voiced: Array<{ from: number; to: number }>;

function withPauses(parts: Float32Array[], pausesMs: number[]): { pcm: Float32Array; voiced: Array<{ from: number; to: number }> } {
  const gaps = pausesMs.map((ms) => new Float32Array((ms * RATE) / 1000));
  const out = new Float32Array(gaps.reduce((n, g) => n + g.length, 0) + parts.reduce((n, p) => n + p.length, 0));
  const spans: Array<{ from: number; to: number }> = [];
  let at = 0;
  for (const [i, g] of gaps.entries()) {
    at += g.length;
    const p = parts[i];
    if (!p) continue;
    out.set(p, at);
    spans.push({ from: (at / RATE) * 1000, to: ((at + p.length) / RATE) * 1000 });
    at += p.length;
  }
  return { pcm: out, voiced: spans };
}

/**
 * Writes `pcm` in `chunkMs` chunks at the pace it would be heard (each chunk on a timer when its
 * audio has "arrived"), then ends the stream; resolves with end()'s promise. `writtenAt(ms)` says
 * when the sample at `ms` was written.
 */
function feed(stream: TranscriptionStream, pcm: Float32Array, chunkMs = 40): { done: Promise<void>; writtenAt: (ms: number) => number | undefined } {
  const chunk = (chunkMs * RATE) / 1000;
  const times: number[] = [];
  const t0 = performance.now();
  const done = new Promise<void>((resolve, reject) => {
    let at = 0;
    const next = (): void => {
      if (stream.closed) {
        resolve();
        return;
      }
      try {
        stream.write(pcm.subarray(at, at + chunk));
      } catch (e) {
        reject(e);
        return;
      }
      times.push(performance.now());
      at += chunk;
      if (at >= pcm.length) {
        stream.end().then(resolve, reject);
        return;
      }
      // the next chunk is due when its audio has been heard: real time from the start
      setTimeout(next, Math.max(0, t0 + (at / RATE) * 1000 + chunkMs - performance.now()));
    };
    setTimeout(next, chunkMs);
  });
  return { done, writtenAt: (ms) => times[Math.floor(ms / chunkMs)] };
}

async function collect(stream: TranscriptionStream): Promise<Array<StreamEvent & { at: number }>> {
  const events: Array<StreamEvent & { at: number }> = [];
  for await (const e of stream) events.push({ ...e, at: performance.now() });
  return events;
}

/** An engine over the model that counts its calls, their overlap, and how each ended. */
class Watched implements Engine {
  calls: Array<{ kind: 'preview' | 'final'; outcome?: 'ok' | 'aborted' | 'failed'; signalAborted?: boolean }> = [];
  running = 0;
  maxRunning = 0;
  private startedWaiters: Array<() => void> = [];
  constructor(private readonly inner: Engine) {}

  async transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<Transcript> {
    const call: Watched['calls'][number] = { kind: options.noTimestamps ? 'preview' : 'final' };
    this.calls.push(call);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    for (const w of this.startedWaiters.splice(0)) w();
    try {
      const r = await this.inner.transcribe(pcm, options);
      call.outcome = 'ok';
      return r;
    } catch (e) {
      call.outcome = e instanceof AbortError ? 'aborted' : 'failed';
      throw e;
    } finally {
      call.signalAborted = options.signal?.aborted ?? false;
      this.running--;
    }
  }

  /** resolves when the next call starts */
  started(): Promise<void> {
    return new Promise((r) => this.startedWaiters.push(r));
  }
}

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as WhisperError).code;
  }
  return undefined;
};

/** Checks the events of one stream as its users rely on them. */
async function checkEvents(events: StreamEvent[], pcm: Float32Array, engine: Engine): Promise<FinalEvent[]> {
  const finals = events.filter((e): e is FinalEvent => e.type === 'final');
  expect(finals.map((f) => f.phrase)).toEqual(finals.map((_, i) => i + 1));
  for (const f of finals) {
    const partials = events.filter((e): e is PartialEvent => e.type === 'partial' && e.phrase === f.phrase);
    // nothing of a phrase after its final; its committed words only grow
    expect(events.findLastIndex((e) => e.phrase === f.phrase)).toBe(events.indexOf(f));
    let committed: string[] = [];
    for (const p of partials) {
      const now = p.committed.split(' ').filter(Boolean);
      expect(now.slice(0, committed.length)).toEqual(committed);
      committed = now;
    }
    expect(f.committed).toBe(committed.join(' '));
    // the final is a batch transcription of exactly the phrase's audio, with its prompt
    const audio = pcm.slice(Math.round((f.startMs * RATE) / 1000), Math.round((f.endMs * RATE) / 1000));
    const batch = await engine.transcribe(audio, { prompt: f.prompt, audioCtx: 'auto', priority: 'interactive' });
    expect(f.text).toBe(batch.text);
    expect(f.revised).toBe(!`${f.text} `.toLowerCase().startsWith(`${f.committed} `.toLowerCase()) && f.committed !== '');
  }
  // the daemon's prompt: each phrase after the first gets the previous phrase's final text
  for (let i = 1; i < finals.length; i++) expect(finals[i]?.prompt).toBe((finals[i - 1] as FinalEvent).text);
  return finals;
}

beforeAll(async () => {
  model = await loadModel(models().tiny, { states: 2 });
  jfk = await readAudio(JFK);
  const a = espeak('The quick brown fox jumps over the lazy dog.');
  const b = espeak('Ask not what your country can do for you.');
  const parts = a && b ? [audible(await readAudio(a)), audible(await readAudio(b))] : [jfk.slice(0, 3.5 * RATE), jfk.slice(5.5 * RATE)];
  ({ pcm: speech, voiced } = withPauses(parts, [600, 1500, 1200]));
});

afterAll(async () => {
  await model?.close();
});

describe('streamTranscription on a warm model', () => {
  it('speech with pauses written in real time: partials while speaking, one final per phrase equal to batch, committed words never taken back', async () => {
    const engine = new Watched(model);
    const stream = streamTranscription(engine);
    const reading = collect(stream);
    const fed = feed(stream, speech, 40);
    await fed.done;
    const events = await reading;
    const finals = await checkEvents(events, speech, model);
    expect(finals.length).toBeGreaterThanOrEqual(2);
    expect(finals.map((f) => f.reason)).toContain('pause');
    expect(finals.every((f) => f.text.length > 0)).toBe(true);
    // partials came while phrases were spoken, before their finals (checkEvents: none after), and committed
    // words (the test model agrees with itself). On a CPU so loaded that no preview of a phrase ends before
    // its pause, that phrase has none: the stale preview is aborted; here one phrase at least must have had time.
    expect(new Set(events.filter((e) => e.type === 'partial').map((e) => e.phrase)).size).toBeGreaterThanOrEqual(1);
    expect(events.some((e) => e.type === 'partial' && e.committed !== '')).toBe(true);
    // one decode at a time, and every call an 'interactive' one of this stream
    expect(engine.maxRunning).toBe(1);
    expect(stream.stats.finals).toBe(finals.length);
    expect(stream.stats.revisions).toBe(finals.filter((f) => f.revised).length);
    expect(stream.stats.audioMs).toBeCloseTo((speech.length / RATE) * 1000, 0);
    // the measurements the closing note quotes (no assertion on speed)
    const onset = fed.writtenAt((voiced[0] as { from: number }).from) as number;
    const firstPartial = events.find((e) => e.type === 'partial') as { at: number };
    const decodes = engine.calls.length;
    console.log(
      `stream (test-tiny, 2 states, this CPU): first partial ${(firstPartial.at - onset).toFixed(0)} ms after the onset was written; ` +
        `phrase cut → final ${finals.map((f) => f.latencyMs.toFixed(0)).join(', ')} ms; ` +
        `${decodes} decodes (${stream.stats.previews} previews, ${stream.stats.abortedPreviews} aborted, ${stream.stats.finals} finals) for ${(speech.length / RATE).toFixed(1)} s of audio = ${(decodes / (speech.length / RATE)).toFixed(2)}/s; ` +
        `preview time ${stream.stats.previewMs.toFixed(0)} ms, final time ${stream.stats.finalMs.toFixed(0)} ms; revisions ${stream.stats.revisions}`,
    );
  });

  it('callbacks instead of the iterator, at another sample rate (48 kHz resampled as written)', async () => {
    const pcm48 = resample(speech, RATE, 48000);
    const partials: PartialEvent[] = [];
    const finals: FinalEvent[] = [];
    const stream = streamTranscription(model, { sampleRate: 48000, onPartial: (e) => partials.push(e), onFinal: (e) => finals.push(e) });
    const chunk = 48000 / 25;
    for (let at = 0; at < pcm48.length; at += chunk) stream.write(pcm48.subarray(at, at + chunk)); // a burst: a file streamed
    await stream.end();
    expect(finals.length).toBeGreaterThanOrEqual(2);
    expect(stream.stats.audioMs).toBeCloseTo((speech.length / RATE) * 1000, -1);
    expect(finals.map((f) => f.phrase)).toEqual(finals.map((_, i) => i + 1));
    // the phrases sit where they were said
    expect((finals[0] as FinalEvent).endMs).toBeGreaterThan((voiced[0] as { to: number }).to);
    expect((finals[1] as FinalEvent).startMs).toBeLessThan((voiced[1] as { from: number }).from);
    expect((finals[1] as FinalEvent).startMs).toBeGreaterThanOrEqual((finals[0] as FinalEvent).endMs);
  });

  it('previews off and a short maxPhraseMs: finals only, long speech cut at the limit, each equal to batch', async () => {
    const engine = new Watched(model);
    const stream = streamTranscription(engine, { previews: false, maxPhraseMs: 3000, hangoverMs: 2000 });
    const reading = collect(stream);
    const clip = jfk.subarray(0, 7 * RATE);
    for (let at = 0; at < clip.length; at += 1600) stream.write(clip.subarray(at, at + 1600));
    await stream.end();
    const events = await reading;
    expect(events.every((e) => e.type === 'final')).toBe(true);
    expect(engine.calls.every((c) => c.kind === 'final')).toBe(true);
    const finals = await checkEvents(events, clip, model);
    const cut = finals.filter((f) => f.reason === 'max-length');
    expect(cut.length).toBeGreaterThanOrEqual(2);
    for (const f of cut) expect(f.endMs - f.startMs).toBe(3000);
    expect(finals.at(-1)?.reason).toBe('end');
  });

  it('a phrase cut while its preview runs: the stale preview is aborted, the final goes first', async () => {
    const engine = new Watched(model);
    const stream = streamTranscription(engine, { minPreviewMs: 300, minIntervalMs: 0, backoff: 0 });
    const reading = collect(stream);
    const first = (voiced[0] as { from: number; to: number }).to;
    const upTo = Math.round((first * RATE) / 1000);
    for (let at = 0; at < upTo; at += 640) stream.write(speech.subarray(at, Math.min(at + 640, upTo)));
    // a preview of the open phrase is running (or starts with the next write); then the pause arrives at once
    if (engine.running === 0) await engine.started();
    expect(engine.calls.at(-1)?.kind).toBe('preview');
    stream.write(new Float32Array(RATE)); // 1 s of silence: the hangover passes, the phrase is cut
    await stream.end();
    const events = await reading;
    expect(engine.maxRunning).toBe(1);
    const aborted = engine.calls.filter((c) => c.outcome === 'aborted');
    expect(aborted.length).toBeGreaterThanOrEqual(1);
    expect(aborted.every((c) => c.kind === 'preview' && c.signalAborted)).toBe(true);
    expect(stream.stats.abortedPreviews).toBe(aborted.length);
    const finals = await checkEvents(events, speech, model);
    expect(finals.length).toBe(1);
    expect(finals[0]?.reason).toBe('pause');
  });

  it('abort() in the middle of a decode: the engine call is aborted, no event after, the model is usable', async () => {
    const engine = new Watched(model);
    const seen: StreamEvent[] = [];
    const stream = streamTranscription(engine, { onPartial: (e) => seen.push(e), onFinal: (e) => seen.push(e) });
    const started = engine.started();
    const fed = feed(stream, speech, 20);
    await started;
    const before = seen.length;
    stream.abort();
    await expect(stream.end()).rejects.toBeInstanceOf(AbortError);
    await fed.done; // the feeder stops at a closed stream
    expect(code(() => stream.write(new Float32Array(320)))).toBe('CLOSED');
    for (let i = 0; i < 200 && engine.running > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(engine.running).toBe(0);
    expect(engine.calls.at(-1)).toMatchObject({ outcome: 'aborted', signalAborted: true });
    expect(seen.length).toBe(before);
    expect(model.busy).toBe(0);
    expect((await model.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
  });

  it('options.signal aborts it too; the iterator throws the AbortError, and leaving the loop early aborts', async () => {
    const ac = new AbortController();
    const engine = new Watched(model);
    const stream = streamTranscription(engine, { signal: ac.signal });
    const started = engine.started();
    const fed = feed(stream, speech, 20);
    const reading = collect(stream);
    await started;
    ac.abort();
    await expect(reading).rejects.toBeInstanceOf(AbortError);
    await expect(stream.end()).rejects.toBeInstanceOf(AbortError);
    await fed.done;
    expect(() => streamTranscription(model, { signal: ac.signal })).toThrow(AbortError);

    const other = streamTranscription(model);
    const fed2 = feed(other, speech, 20);
    for await (const e of other) if (e.type === 'partial') break;
    expect(other.closed).toBe(true);
    await expect(other.end()).rejects.toBeInstanceOf(AbortError);
    await fed2.done;
  });

  it('two streams at once beside a batch transcription on a 2-state model', async () => {
    const a = streamTranscription(model);
    const b = streamTranscription(model);
    const readA = collect(a);
    const readB = collect(b);
    const fedA = feed(a, speech, 40);
    const fedB = feed(b, speech, 100);
    const batch = model.transcribe(jfk, { priority: 'batch' });
    await Promise.all([fedA.done, fedB.done]);
    expect((await batch).text).toBe(SCRIPT_25);
    for (const events of [await readA, await readB]) expect((await checkEvents(events, speech, model)).length).toBeGreaterThanOrEqual(2);
    expect(model.busy).toBe(0);
  });

  it('refuses bad input with typed errors, and the stream goes on after a refused chunk', async () => {
    const stream = streamTranscription(model);
    expect(code(() => stream.write('audio' as unknown as Float32Array))).toBe('BAD_AUDIO');
    expect(code(() => stream.write(new Float64Array(320) as unknown as Float32Array))).toBe('BAD_AUDIO');
    expect(code(() => stream.write(new Int16Array(320) as unknown as Float32Array))).toBe('BAD_AUDIO');
    expect(code(() => stream.write(Float32Array.of(0, Number.NaN)))).toBe('BAD_AUDIO');
    expect(code(() => stream.write(Float32Array.of(0, 32767)))).toBe('BAD_AUDIO');
    stream.write(speech.subarray(0, RATE));
    await stream.end();
    expect(code(() => stream.write(new Float32Array(10)))).toBe('CLOSED');
    expect(code(() => stream[Symbol.asyncIterator]() && stream[Symbol.asyncIterator]())).toBe('BAD_ARGUMENT');
    for (const bad of [
      { hangoverMs: -1 },
      { sampleRate: 44100.5 },
      { minIntervalMs: Number.NaN },
      { vadMode: 7 },
      { onFinal: 'x' },
      { language: 3 },
      { previews: 'yes' },
      { maxPhraseMs: 10 },
    ])
      expect(code(() => streamTranscription(model, bad as never))).toBe('BAD_ARGUMENT');
    expect(code(() => streamTranscription({} as Engine))).toBe('BAD_ARGUMENT');
  });

  it('an engine that fails the final: end() and the iterator reject with its error', async () => {
    const failing: Engine = {
      transcribe: async (pcm, o) => {
        if (!o.noTimestamps) throw new WhisperError('TRANSCRIBE_FAILED', 'the engine broke');
        return model.transcribe(pcm, o);
      },
    };
    const stream = streamTranscription(failing);
    const reading = collect(stream);
    stream.write(speech);
    await expect(stream.end()).rejects.toMatchObject({ code: 'TRANSCRIBE_FAILED' });
    await expect(reading).rejects.toMatchObject({ code: 'TRANSCRIBE_FAILED' });
  });
});

describe('streamTranscription through the running service', () => {
  let server: ServiceServer;
  let engine: ServiceEngine;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'prism-stream-'));
    server = await ServiceServer.listen({ socketPath: join(dir, 's.sock'), model, maxQueue: 16 });
    engine = (await ServiceEngine.running({ socketPath: server.socketPath, timeoutMs: 2000 })) as ServiceEngine;
  });

  afterAll(async () => {
    engine?.close();
    await server?.close();
  });

  it.skipIf(process.platform === 'win32')('partials and finals over the socket equal the local batch; abort cancels the decode in the service', async () => {
    const stream = streamTranscription(engine);
    const reading = collect(stream);
    await feed(stream, speech, 40).done;
    expect((await checkEvents(await reading, speech, model)).length).toBeGreaterThanOrEqual(2);

    const watched = new Watched(engine);
    const aborted = streamTranscription(watched);
    const started = watched.started();
    const fed = feed(aborted, speech, 20);
    await started;
    aborted.abort();
    await fed.done;
    for (let i = 0; i < 300 && (watched.running > 0 || model.busy > 0); i++) await new Promise((r) => setTimeout(r, 10));
    expect(watched.calls.at(-1)).toMatchObject({ outcome: 'aborted' });
    expect(model.busy).toBe(0);
  });
});
