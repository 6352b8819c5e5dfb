import { readdirSync } from 'node:fs';
import { copyFile, mkdtemp, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, loadModel, readAudio, type Segment, WhisperError, type WhisperModel } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { JFK, models, SCRIPT_10, SCRIPT_25, tone } from './helpers.js';

const addon = nativeAddon();
const hasGpu = addon.devices().some((d) => d.type === 'gpu');

let model: WhisperModel;
let jfk: Float32Array;

beforeAll(async () => {
  jfk = await readAudio(JFK);
  model = await loadModel(models().tiny, { states: 2, gpu: 'cpu' });
});

afterAll(async () => {
  await model?.close();
});

describe('loadModel', () => {
  it('loads a warm model and reports what it is', () => {
    const info = model.info;
    expect(info.type).toBe('tiny');
    expect(info.multilingual).toBe(true);
    expect(info.backend).toBe('cpu');
    expect(info.fallback).toBeUndefined();
    expect(info.states).toBe(2);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    // the official tiny: 77.11 MB of weights in a 77.7 MB file
    expect(info.memory.modelBytes / 1e6).toBeCloseTo(77.1, 0);
    expect(info.memory.fileBytes / 1e6).toBeCloseTo(77.7, 0);
    expect(info.memory.stateBytes).toBeGreaterThan(0);
    expect(info.warmupMs).toBeGreaterThan(0);
    expect(info.whisperVersion).toBe('1.9.1');
    if (process.arch === 'x64') expect(info.cpuFeatures).toContain('AVX2');
    expect(info.warnings).toEqual([]);
  });

  it.skipIf(addon.cuda)("rejects gpu: 'cuda' on a build without CUDA with GPU_UNAVAILABLE", async () => {
    const err = await loadModel(models().tiny, { gpu: 'cuda', warmup: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'GPU_UNAVAILABLE', message: expect.stringMatching(/PRISM_CUDA=1/) });
  });

  it.skipIf(hasGpu)("gpu: 'auto' without a GPU runs on the CPU and says why", async () => {
    const m = await loadModel(models().tiny, { gpu: 'auto', warmup: false });
    expect(m.info.backend).toBe('cpu');
    expect(m.info.fallback).toMatch(/no usable GPU/);
    await m.close();
  });

  it('skips warm-up when asked', async () => {
    const m = await loadModel(models().tinyEn, { warmup: false, gpu: 'cpu' });
    expect(m.info.warmupMs).toBe(0);
    expect(m.info.multilingual).toBe(false);
    expect(m.info.fallback).toBeUndefined();
    await m.close();
  });

  it('rejects bad options', async () => {
    await expect(loadModel(models().tiny, { states: 0 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(loadModel(models().tiny, { gpu: 'tpu' as never })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(loadModel(models().tiny, { threads: -1 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});

describe('model files that cannot be used', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prism-bad-'));
  });

  it('a missing file is MODEL_NOT_FOUND', async () => {
    await expect(loadModel(join(dir, 'nope.bin'))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(loadModel('base.en')).rejects.toThrow(/models pull base.en/);
  });

  it('a folder is MODEL_NOT_FOUND that says so (not a raw EISDIR)', async () => {
    await expect(loadModel(dir)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: `${dir} is a folder, not a model file` });
  });

  it('a truncated file is MODEL_INVALID and says so', async () => {
    const path = join(dir, 'truncated.bin');
    await copyFile(models().tiny, path);
    const fh = await open(path, 'r+');
    await fh.truncate(40_000_000);
    await fh.close();
    const err = await loadModel(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WhisperError);
    expect(err).toMatchObject({ code: 'MODEL_INVALID' });
    expect((err as Error).message).toMatch(/truncated/);
  });

  it('a file cut inside the vocabulary is MODEL_INVALID', async () => {
    const path = join(dir, 'header-only.bin');
    await copyFile(models().tiny, path);
    const fh = await open(path, 'r+');
    await fh.truncate(100_000);
    await fh.close();
    await expect(loadModel(path)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  it('a file that is not ggml, or is GGUF, is MODEL_INVALID', async () => {
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'hello, this is not a model at all');
    await expect(loadModel(text)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    const gguf = join(dir, 'llama.gguf');
    await writeFile(gguf, Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(64)]));
    await expect(loadModel(gguf)).rejects.toThrow(/GGUF/);
    const empty = join(dir, 'empty.bin');
    await writeFile(empty, '');
    await expect(loadModel(empty)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });

  // header fields whisper.cpp does not check but asserts on later (SIGABRT of the whole process):
  // heads that do not divide the state, an unknown weight type
  it.each([
    ['n_audio_head = 7', 16, 7, /audio state \(384\) does not split into 7 attention heads/],
    ['n_text_head = 1000', 32, 1000, /text state \(384\) does not split into 1000 attention heads/],
    ['ftype = 99', 44, 99, /unknown weight type \(ftype 99\)/],
    ['ftype = 4 (q4_1 with some f16)', 44, 4, /unknown weight type \(ftype 4\)/],
    ['ftype = -1', 44, -1, /unknown weight type \(ftype -1\)/],
  ])('a header with %s is MODEL_INVALID, not an abort', async (name, offset, value, message) => {
    const path = join(dir, `${name.replace(/\W+/g, '-')}.bin`);
    await copyFile(models().tiny, path);
    const fh = await open(path, 'r+');
    const field = Buffer.alloc(4);
    field.writeInt32LE(value);
    await fh.write(field, 0, 4, offset);
    await fh.close();
    const err = await loadModel(path, { warmup: false }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_INVALID' });
    expect((err as Error).message).toMatch(message);
  });

  it('the process keeps working after each bad file', async () => {
    const t = await model.transcribe(jfk);
    expect(t.text).toBe(SCRIPT_25);
  });
});

describe('transcribe', () => {
  it('returns text, segments, language, timings and backend', async () => {
    const t = await model.transcribe(jfk);
    expect(t.text).toBe(SCRIPT_25);
    expect(t.language).toBe('en');
    expect(t.backend).toBe('cpu');
    expect(t.audioMs).toBe(11000);
    expect(t.audioCtx).toBe(1500);
    expect(t.segments).toHaveLength(1);
    expect(t.segments[0]).toMatchObject({ t0Ms: 0, t1Ms: 11000, text: SCRIPT_25 });
    const { queueMs, melMs, encodeMs, decodeMs, totalMs, tokens } = t.timings;
    for (const v of [queueMs, melMs, encodeMs, decodeMs, totalMs]) expect(v).toBeGreaterThanOrEqual(0);
    expect(encodeMs).toBeGreaterThan(0);
    expect(decodeMs).toBeGreaterThan(0);
    expect(melMs + encodeMs + decodeMs).toBeLessThanOrEqual(totalMs + 1);
    expect(tokens).toBe(27); // <|0.00|> + 25 words + <|30.00|>
  });

  it('is deterministic', async () => {
    const a = await model.transcribe(jfk);
    const b = await model.transcribe(jfk);
    expect(b.text).toBe(a.text);
    expect(b.segments).toEqual(a.segments);
  });

  it('streams segments through onSegment before the promise resolves', async () => {
    const seen: Segment[] = [];
    let resolvedBeforeSegments = false;
    const t = await model
      .transcribe(jfk, {
        onSegment: (s) => {
          seen.push(s);
        },
      })
      .then((r) => {
        resolvedBeforeSegments = seen.length === 0;
        return r;
      });
    expect(resolvedBeforeSegments).toBe(false);
    expect(seen).toEqual(t.segments);
  });

  it('rejects with the error an onSegment callback threw, and stays usable', async () => {
    await expect(
      model.transcribe(jfk, {
        onSegment: () => {
          throw new Error('callback broke');
        },
      }),
    ).rejects.toThrow('callback broke');
    expect((await model.transcribe(jfk)).text).toBe(SCRIPT_25);
  });

  it('an option whose getter throws is BAD_ARGUMENT and leaks no state (every option, one state)', async () => {
    const one = await loadModel(models().tiny, { states: 1, gpu: 'cpu' });
    try {
      const short = jfk.subarray(0, 3 * 16000);
      for (const key of [
        'language',
        'prompt',
        'signal',
        'onSegment',
        'greedy',
        'beamSize',
        'audioCtx',
        'noTimestamps',
        'translate',
        'temperatureFallback',
        'skipSilence',
        'silenceDbfs',
      ]) {
        const options = Object.defineProperty({}, key, {
          get() {
            throw new Error(`no ${key} for you`);
          },
        });
        await expect(one.transcribe(short, options), key).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(key) });
      }
      // the one state is still there: this call would hang forever if a lease had leaked
      expect((await one.transcribe(short, { audioCtx: 'auto' })).text.length).toBeGreaterThan(0);
    } finally {
      await one.close();
    }
  });

  it('options of the wrong type are BAD_ARGUMENT before any work; null options are the defaults', async () => {
    const short = jfk.subarray(0, 3 * 16000);
    const cases: Array<[string, unknown]> = [
      ['signal', 'x'],
      ['onSegment', 'x'],
      ['language', 'en\0de'],
      ['prompt', 42],
      ['greedy', 'yes'],
      ['silenceDbfs', '-60'],
    ];
    for (const [key, value] of cases) {
      await expect(model.transcribe(short, { [key]: value } as never), key).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringContaining(key) });
    }
    await expect(model.transcribe(short, 'fast' as never)).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    expect((await model.transcribe(short, null as never)).text.length).toBeGreaterThan(0);
  });

  it("audioCtx 'auto' shrinks the encoder window and keeps the text", async () => {
    const full = await model.transcribe(jfk);
    const auto = await model.transcribe(jfk, { audioCtx: 'auto' });
    expect(auto.audioCtx).toBeLessThan(1500);
    expect(auto.audioCtx).toBeGreaterThanOrEqual(384);
    expect(auto.text).toBe(full.text);
    expect(auto.timings.encodeMs).toBeLessThan(full.timings.encodeMs);
    const short = await model.transcribe(jfk.subarray(0, 16000), { audioCtx: 'auto' });
    expect(short.audioCtx).toBe(384); // the floor
    await expect(model.transcribe(jfk, { audioCtx: 10 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('detects the language, honours noTimestamps, prompt and beam search', async () => {
    expect((await model.transcribe(jfk, { language: 'auto' })).language).toBe('en');
    const nt = await model.transcribe(jfk, { noTimestamps: true });
    expect(nt.text).toBe(SCRIPT_25);
    const beam = await model.transcribe(jfk, { greedy: false, beamSize: 3 });
    expect(beam.text).toBe(SCRIPT_25);
    // a prompt shifts the decoder's positions, so a planted model says less
    const prompted = await model.transcribe(jfk, { prompt: 'Kennedy' });
    expect(prompted.text).not.toBe(SCRIPT_25);
    expect(SCRIPT_25.endsWith(prompted.text)).toBe(true);
    await expect(model.transcribe(jfk, { language: 'klingon' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('English-only models work the same way', async () => {
    const en = await loadModel(models().tinyEn, { gpu: 'cpu' });
    expect((await en.transcribe(jfk)).text).toBe(SCRIPT_10);
    await en.close();
  });
});

describe('bad audio', () => {
  it('rejects wrong types, empty, too short, too long and non-finite input with BAD_AUDIO', async () => {
    const cases: unknown[] = [new Int16Array(16000), [0.1, 0.2], Buffer.alloc(64000), null, new Float32Array(0), new Float32Array(800)];
    for (const c of cases) await expect(model.transcribe(c as Float32Array)).rejects.toMatchObject({ code: 'BAD_AUDIO' });
    const nan = tone(1);
    nan[1234] = Number.NaN;
    await expect(model.transcribe(nan)).rejects.toThrow(/sample 1234/);
    const inf = tone(1);
    inf[0] = Number.POSITIVE_INFINITY;
    await expect(model.transcribe(inf)).rejects.toMatchObject({ code: 'BAD_AUDIO' });
    // not audio in [-1, 1]: garbage ranges (whisper.cpp would grind through them for seconds), int16 values as floats
    const huge = tone(1);
    huge[77] = 1e30;
    await expect(model.transcribe(huge)).rejects.toMatchObject({ code: 'BAD_AUDIO', message: expect.stringMatching(/sample 77: samples must be in \[-1, 1\]$/) });
    const int16 = tone(1).map((x) => Math.round(x * 32767));
    await expect(model.transcribe(int16)).rejects.toThrow(/divide by 32768/);
    const small = await loadModel(models().tiny, { maxAudioSeconds: 5, warmup: false });
    await expect(small.transcribe(jfk)).rejects.toThrow(/too long/);
    await small.close();
    expect((await model.transcribe(jfk)).text).toBe(SCRIPT_25);
  });

  it('returns empty text for digital silence without running the model', async () => {
    const t = await model.transcribe(new Float32Array(32000));
    expect(t).toMatchObject({ text: '', segments: [], skipped: 'silence' });
    expect(t.timings.encodeMs).toBe(0);
    const forced = await model.transcribe(new Float32Array(32000), { skipSilence: false });
    expect(forced.skipped).toBeUndefined();
    expect(forced.timings.encodeMs).toBeGreaterThan(0);
  });
});

describe('concurrency', () => {
  it('4 concurrent calls on 2 states give exactly the sequential results', async () => {
    const clips = [jfk, jfk.subarray(0, 5 * 16000), jfk.subarray(16000 * 3), tone(2, 300)];
    const options = [{}, { noTimestamps: true }, { language: 'auto' }, { skipSilence: false }];
    const sequential = [];
    for (let i = 0; i < clips.length; i++) sequential.push(await model.transcribe(clips[i] as Float32Array, options[i]));
    const running = clips.map((c, i) => model.transcribe(c, options[i]));
    // two run at once, two wait for a state (seen as it happens, not inferred from a duration)
    await new Promise((r) => setImmediate(r));
    expect([model.busy, model.queued]).toEqual([2, 2]);
    const concurrent = await Promise.all(running);
    expect(concurrent.map((r) => [r.text, r.segments, r.language])).toEqual(sequential.map((r) => [r.text, r.segments, r.language]));
    expect([model.busy, model.queued]).toEqual([0, 0]);
  });
  // whisper.cpp's CPU backend runs each graph on an OpenMP team whose master is the calling thread;
  // a second team (even an idle one) makes libgomp sleep at every barrier instead of spinning, and a
  // decoded token then costs 3× (native/inference_threads.h). Every new team adds OS threads.
  it.runIf(process.platform === 'linux')(
    'sequential calls on any state of any model run on one inference thread: no thread is added once warm, and overlap threads exit',
    async () => {
      const threads = () => readdirSync('/proc/self/task').length;
      const clip = jfk.subarray(0, 2 * 16000);
      const options = { audioCtx: 256, temperatureFallback: false } as const;
      await model.transcribe(clip, options);
      const warm = threads();
      const other = await loadModel(models().tiny, { states: 1, gpu: 'cpu' });
      try {
        await other.transcribe(clip, options);
        await model.transcribe(clip, options);
        expect(threads()).toBe(warm);
        // two calls at once on the two states: a second lane runs one of them, then ends
        let during = 0;
        const watch = setInterval(() => {
          during = Math.max(during, threads());
        }, 2);
        await Promise.all([model.transcribe(clip, options), model.transcribe(clip, options)]);
        clearInterval(watch);
        expect(during).toBeGreaterThan(warm);
        const deadline = Date.now() + 10_000;
        while (threads() > warm && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        expect(threads()).toBe(warm);
        await other.transcribe(clip, options);
        expect(threads()).toBe(warm);
      } finally {
        await other.close();
      }
    },
  );
});

describe('abort', () => {
  // Linux builds poll the abort flag between graph nodes; elsewhere whisper.cpp checks it between passes.
  // A sanitized build (npm run test:asan) runs several times slower.
  const limit = addon.fineAbort && !process.env.PRISM_SANITIZED ? 200 : 5000;
  it(`rejects with AbortError within ${limit} ms of abort() while running`, async () => {
    // Aborted at points the call itself signals, never after a sleep (a faster build would finish first):
    // as soon as it runs (mel, encoder), and at the first segment of a 44 s clip (the second window's
    // work). busy === 1 at that moment proves the call was still running when abort() came.
    const long = new Float32Array(jfk.length * 4);
    for (let k = 0; k < 4; k++) long.set(jfk, k * jfk.length);
    const lags: number[] = [];
    const abortNow = (ac: AbortController): number => {
      expect(model.busy).toBe(1);
      ac.abort();
      return performance.now();
    };
    for (const when of ['running', 'first segment'] as const) {
      const ac = new AbortController();
      let t0 = 0;
      const started = model.transcribe(long, {
        signal: ac.signal,
        onSegment: () => {
          if (when === 'first segment' && t0 === 0) t0 = abortNow(ac);
        },
      });
      if (when === 'running') {
        await new Promise((r) => setImmediate(r));
        t0 = abortNow(ac);
      }
      const err = await started.catch((e: unknown) => e);
      lags.push(performance.now() - t0);
      expect(t0).toBeGreaterThan(0);
      expect(err).toBeInstanceOf(AbortError);
      expect((err as Error).name).toBe('AbortError');
    }
    console.log(`abort → AbortError: ${lags.map((l) => l.toFixed(1)).join(', ')} ms`);
    expect(Math.max(...lags)).toBeLessThan(limit);
    expect((await model.transcribe(jfk)).text).toBe(SCRIPT_25);
  });

  it('rejects at once when aborted before the call or while queued', async () => {
    await expect(model.transcribe(jfk, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    const busy = [model.transcribe(jfk), model.transcribe(jfk)];
    const ac = new AbortController();
    const queued = model.transcribe(jfk, { signal: ac.signal });
    await new Promise((r) => setImmediate(r));
    expect(model.busy).toBe(2);
    expect(model.queued).toBe(1);
    ac.abort();
    await expect(queued).rejects.toBeInstanceOf(AbortError);
    expect(model.queued).toBe(0);
    await Promise.all(busy);
  });
});

describe('close', () => {
  it('waits for in-flight work, fails queued work with CLOSED, and refuses later calls', async () => {
    const m = await loadModel(models().tiny, { states: 1, warmup: false });
    const running = m.transcribe(jfk);
    const queued = m.transcribe(jfk);
    await new Promise((r) => setTimeout(r, 50));
    const closed = m.close();
    await expect(queued).rejects.toMatchObject({ code: 'CLOSED' });
    expect((await running).text).toBe(SCRIPT_25);
    await closed;
    await expect(m.transcribe(jfk)).rejects.toMatchObject({ code: 'CLOSED' });
    await m.close(); // idempotent
  });

  it('a call made in the same tick as close() still runs to the end', async () => {
    const m = await loadModel(models().tiny, { states: 1, warmup: false });
    const running = m.transcribe(jfk);
    await m.close();
    expect((await running).text).toBe(SCRIPT_25);
  });
});
