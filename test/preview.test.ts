import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readAudio } from '../lib/audio/read.js';
import { Vad } from '../lib/audio/vad.js';
import { validateConfig } from '../lib/config/load.js';
import { AbortError } from '../lib/errors.js';
import { DictationHost } from '../lib/host/dictation.js';
import { History } from '../lib/host/history.js';
import { Output } from '../lib/host/output.js';
import type { LiveText } from '../lib/host/preview.js';
import type { TranscribeOptions, Transcript } from '../lib/model.js';
import { espeak, ManualClock } from './helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const SENTENCE = 'Please call me back after lunch, and bring the report about the meeting on Thursday with you.';
const wav = espeak(SENTENCE);
const tick = () => new Promise((r) => setImmediate(r));

interface Call {
  kind: 'preview' | 'final';
  samples: number;
  options: TranscribeOptions;
  at: number;
  settle(text: string): void;
  done: boolean;
}

/** An engine whose answers the test gives: finals at once, previews after `previewMs` of the manual clock. */
class ScriptedEngine {
  readonly calls: Call[] = [];
  /** what happened, in order: 'preview', 'preview aborted', 'final', … */
  readonly log: string[] = [];
  /** manual-clock time a preview takes (Infinity: it never answers by itself) */
  previewMs = 100;
  constructor(private readonly clock: ManualClock) {}
  transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<Transcript> {
    const kind = options.noTimestamps ? 'preview' : 'final';
    this.log.push(kind);
    return new Promise((resolve, reject) => {
      const call: Call = {
        kind,
        samples: pcm.length,
        options,
        at: this.clock.now(),
        done: false,
        settle: (text) => {
          if (call.done) return;
          call.done = true;
          resolve({ text } as Transcript);
        },
      };
      this.calls.push(call);
      options.signal?.addEventListener('abort', () => {
        if (call.done) return;
        call.done = true;
        this.log.push(`${kind} aborted`);
        reject(new AbortError('aborted'));
      });
      // a final answers at once; a preview says as many words of the sentence as it heard half-seconds
      if (kind === 'final') setImmediate(() => call.settle(`Final ${this.calls.filter((c) => c.kind === 'final').indexOf(call) + 1}.`));
    });
  }
  get previews(): Call[] {
    return this.calls.filter((c) => c.kind === 'preview');
  }
  /** answers the previews whose time has come */
  due(): void {
    for (const c of this.calls)
      if (c.kind === 'preview' && !c.done && this.clock.now() - c.at >= this.previewMs)
        c.settle(
          SENTENCE.split(' ')
            .slice(0, Math.floor(c.samples / 8000))
            .join(' '),
        );
  }
}

async function makeHost(overrides: Record<string, unknown> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'prism-preview-'));
  dirs.push(dir);
  const config = validateConfig({ hotkey: { mode: 'toggle' }, vad: { mode: 2 }, preview: { enabled: true }, ...overrides });
  const clock = new ManualClock();
  const engine = new ScriptedEngine(clock);
  const delivered: string[] = [];
  const output = new Output({ ...config.output, method: 'stdout' }, { modifiers: ['ctrl'], key: 'v' }, undefined, undefined, (l) => delivered.push(l));
  const history = new History(join(dir, 'history'), config.history);
  const vad = await Vad.create({ mode: config.vad.mode, frameMs: config.vad.frameMs });
  const host = new DictationHost({ config, engine, history, output, vad, log: () => {}, notify: () => {}, clock });
  host.setMicrophone(undefined);
  const live: LiveText[] = [];
  host.on('live', (t: LiveText) => live.push(t));
  /** capture's 20 ms blocks, the engine answering as the clock goes */
  const feed = async (pcm: Float32Array) => {
    for (let i = 0; i < pcm.length; i += 320) {
      clock.advance(20);
      host.feed(pcm.subarray(i, Math.min(pcm.length, i + 320)));
      engine.due();
      await tick();
    }
  };
  return { host, engine, delivered, live, feed, clock, config };
}

const silence = (s: number) => new Float32Array(Math.round(s * 16000));

describe.skipIf(!wav)('the live preview of a dictation (espeak-ng speech, the real VAD; skipped without espeak-ng)', async () => {
  const speech = wav ? await readAudio(wav) : new Float32Array();

  it('previews the open phrase while it is spoken (greedy, no timestamps, the final’s prompt), none after its cut; only the final is delivered', async () => {
    const h = await makeHost({ transcription: { prompt: 'Grafana' } });
    await h.feed(silence(0.3));
    h.host.toggle();
    await h.feed(speech);
    const during = h.engine.previews.length;
    expect(during).toBeGreaterThanOrEqual(4); // ~5 s of speech, one every ~0.4 s once 0.5 s is heard
    expect(h.engine.log).not.toContain('final');
    await h.feed(silence(1.5)); // the pause cuts the phrase
    await h.host.drain();
    const cutAt = h.engine.log.indexOf('final');
    expect(cutAt).toBeGreaterThan(0);
    expect(h.engine.log.slice(cutAt).filter((e) => e === 'preview')).toEqual([]); // never after the cut (the next phrase has no speech)
    const previews = h.engine.previews;
    const final = h.engine.calls.find((c) => c.kind === 'final') as Call;
    for (const p of previews) {
      expect(p.options).toMatchObject({ greedy: true, noTimestamps: true, temperatureFallback: false, priority: 'interactive', audioCtx: 'auto', language: 'en' });
      expect(p.options.prompt).toBe(final.options.prompt); // the prompt the final gets
      expect(p.samples).toBeLessThan(final.samples);
    }
    expect(previews.map((p) => p.samples)).toEqual([...previews.map((p) => p.samples)].sort((a, b) => a - b)); // the phrase so far, growing
    // the live text: committed words only grow, and they are the sentence's
    const committed = h.live.map((t) => t.committed).filter(Boolean);
    expect(committed.length).toBeGreaterThan(1);
    for (let i = 1; i < committed.length - 1; i++) expect((committed[i] as string).startsWith(committed[i - 1] as string)).toBe(true);
    expect(SENTENCE.startsWith(committed.at(-2) as string)).toBe(true);
    expect(h.live.at(-1)).toEqual({ committed: 'Final 1.', tail: '' }); // the final replaces the phrase's live text
    h.host.toggle();
    await h.host.drain();
    expect(h.delivered).toEqual(['Final 1. ']); // nothing of a preview is ever delivered
    expect(h.host.status().preview).toMatchObject({ enabled: true, previews: expect.any(Number), aborted: expect.any(Number) });
  });

  it('a preview still running at the release is aborted before the final is sent; the final goes first', async () => {
    const h = await makeHost({ hotkey: { mode: 'hold' } });
    h.engine.previewMs = Number.POSITIVE_INFINITY; // a slow preview: it runs until the cut
    h.host.hotkeyDown();
    await h.feed(speech.subarray(0, 16000 * 2));
    expect(h.engine.log).toEqual(['preview']); // one at a time: no second one queued behind it
    h.host.hotkeyUp(); // the release cuts the phrase
    expect(h.engine.log).toEqual(['preview', 'preview aborted']); // at once, before anything of the final
    await h.feed(silence(0.04)); // the block holding the release arrives
    await h.host.drain();
    expect(h.engine.log).toEqual(['preview', 'preview aborted', 'final']);
    expect(h.delivered).toEqual(['Final 1. ']);
    expect(h.host.status().preview).toMatchObject({ previews: 0, aborted: 1 });
  });

  it('a phrase cut at a pause while its preview runs: aborted, its final first; the next phrase is previewed only once that final is in', async () => {
    const h = await makeHost({ hotkey: { mode: 'hold' } });
    h.engine.previewMs = Number.POSITIVE_INFINITY; // it runs into the pause's cut
    h.host.hotkeyDown();
    const short = speech.subarray(0, Math.round(16000 * 1.4));
    await h.feed(short);
    await h.feed(silence(1));
    while (!h.engine.log.includes('final')) await new Promise((r) => setTimeout(r, 5)); // its audio is kept first
    expect(h.engine.log.slice(0, 3)).toEqual(['preview', 'preview aborted', 'final']);
    h.engine.previewMs = 100;
    await h.feed(speech);
    h.host.hotkeyUp();
    await h.feed(silence(0.04));
    await h.host.drain();
    // every preview of phrase 2 came after phrase 1's final; the release's final after every preview
    const log = h.engine.log;
    expect(log.filter((e) => e === 'final')).toHaveLength(2);
    expect(log.indexOf('preview', 3)).toBeGreaterThan(log.indexOf('final'));
    expect(log.lastIndexOf('preview')).toBeLessThan(log.lastIndexOf('final'));
    expect(h.delivered).toEqual(['Final 1. Final 2. ']);
  });

  it('on a slow engine the cadence backs off: the next preview waits 2 × the last decode time', async () => {
    const gaps = async (previewMs: number) => {
      const h = await makeHost({ preview: { enabled: true, minIntervalMs: 300 } });
      h.engine.previewMs = previewMs;
      h.host.toggle();
      await h.feed(speech);
      h.host.cancel('test');
      await h.host.drain();
      const at = h.engine.previews.map((p) => p.at);
      return at.slice(1).map((t, i) => t - (at[i] as number));
    };
    const fast = await gaps(20);
    const slow = await gaps(600);
    expect(fast.length).toBeGreaterThan(slow.length);
    // a fast decode: end + minIntervalMs (300); a slow one: its 600 ms + 2 × 600 ms
    for (const g of fast) expect(g).toBeGreaterThanOrEqual(20 + 300);
    expect(slow.length).toBeGreaterThanOrEqual(1);
    for (const g of slow) expect(g).toBeGreaterThanOrEqual(600 + 1200);
  });

  it('preview.enabled false: no preview decode at all, the same text', async () => {
    const h = await makeHost({ hotkey: { mode: 'hold' }, preview: { enabled: false } });
    h.host.hotkeyDown();
    await h.feed(speech);
    await h.feed(silence(1));
    await h.feed(speech);
    h.host.hotkeyUp();
    await h.feed(silence(0.04));
    await h.host.drain();
    expect(h.engine.log).toEqual(['final', 'final']);
    expect(h.live).toEqual([]);
    expect(h.delivered).toEqual(['Final 1. Final 2. ']);
  });

  it('a latched dictation keeps pasting phrase by phrase with the preview on', async () => {
    const h = await makeHost();
    h.host.toggle();
    await h.feed(speech);
    await h.feed(silence(1.5));
    await h.host.drain();
    expect(h.delivered).toEqual(['Final 1. ']);
    await h.feed(speech);
    await h.feed(silence(1.5));
    await h.host.drain();
    expect(h.delivered).toEqual(['Final 1. ', 'Final 2. ']);
    expect(h.engine.previews.length).toBeGreaterThan(4);
    h.host.toggle();
    await h.host.drain();
  });
});
