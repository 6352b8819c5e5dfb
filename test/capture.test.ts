/**
 * Microphone capture (lib/host/capture.ts) end to end on a headless desktop (test/e2e/desktop.ts):
 * a sentence played into the PulseAudio source `vmic` must come out of openCapture at 16 kHz, in
 * real time, matching the played samples. Also the desktop harness's own paste targets, and the
 * pieces that need no desktop (streaming resampler, device choice).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudio } from '../lib/audio/read.js';
import { concatSamples, resample, StreamResampler } from '../lib/audio/resample.js';
import { encodeWav } from '../lib/audio/wav.js';
import { WhisperError } from '../lib/errors.js';
import { listInputDevices, openCapture } from '../lib/host/capture.js';
import { availability, type CaptureBackendKind, chooseBackend, naudiodonPath } from '../lib/host/captureBackend.js';
import { type InputDevice, pickDevice } from '../lib/host/devices.js';
import { listSoundSources } from '../lib/host/soundSources.js';
import { type Desktop, desktopMissing, onPath, startDesktop } from './e2e/desktop.js';

function noise(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** This process's child processes. */
function children(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Voluntary context switches (wake-ups after sleeping) of all threads of a process. */
function switches(pid: number): number {
  let n = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) n += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'))?.[1] ?? 0);
  return n;
}

function rms(x: Float32Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return x.length ? Math.sqrt(s / x.length) : 0;
}

describe('StreamResampler', () => {
  for (const rate of [48000, 44100, 22050, 8000]) {
    it(`${rate} Hz → 16 kHz in random blocks equals the whole-buffer resampler`, () => {
      const input = noise(rate); // 1 s
      const r = new StreamResampler(rate);
      const parts: Float32Array[] = [];
      const sizes = noise(1000, 7);
      for (let at = 0, i = 0; at < input.length; i++) {
        const size = 1 + Math.floor(((sizes[i % sizes.length] as number) + 0.5) * 700);
        parts.push(r.push(input.subarray(at, at + size)));
        at += size;
      }
      const streamed = concatSamples(parts);
      const whole = resample(input, rate);
      // Same filter and grid; only the ends differ (whole-buffer edges vs. the filter's half-width held back).
      expect(whole.length - streamed.length).toBeGreaterThanOrEqual(0);
      expect(whole.length - streamed.length).toBeLessThanOrEqual(40);
      let worst = 0;
      for (let i = 100; i < Math.min(streamed.length, whole.length) - 100; i++) worst = Math.max(worst, Math.abs((streamed[i] as number) - (whole[i] as number)));
      expect(worst).toBeLessThan(1e-5);
    });
  }

  it('keeps a 1 kHz tone at pitch and level over 60 s of 44.1 kHz blocks (no drift, no clicks)', () => {
    const r = new StreamResampler(44100);
    const parts: Float32Array[] = [];
    const block = 882;
    for (let at = 0; at < 44100 * 60; at += block) {
      const x = new Float32Array(block);
      for (let i = 0; i < block; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * 1000 * (at + i)) / 44100);
      parts.push(r.push(x));
    }
    const out = concatSamples(parts);
    expect(Math.abs(out.length - 16000 * 60)).toBeLessThan(20);
    // The output must be the ideal 16 kHz tone, delayed by the filter's half-width: fit that delay once.
    const tail = out.subarray(out.length - 16000);
    const start = out.length - 16000;
    let best = { err: Number.POSITIVE_INFINITY, delay: 0 };
    for (let d = 0; d < 80; d += 0.25) {
      let err = 0;
      for (let i = 0; i < tail.length; i += 7) err = Math.max(err, Math.abs((tail[i] as number) - 0.5 * Math.sin((2 * Math.PI * 1000 * (start + i - d)) / 16000)));
      if (err < best.err) best = { err, delay: d };
    }
    expect(best.err).toBeLessThan(5e-3);
    // The same delay fits the first seconds too: no drift over a minute.
    const head = out.subarray(16000, 32000);
    let err = 0;
    for (let i = 0; i < head.length; i++) err = Math.max(err, Math.abs((head[i] as number) - 0.5 * Math.sin((2 * Math.PI * 1000 * (16000 + i - best.delay)) / 16000)));
    expect(err).toBeLessThan(5e-3);
  });
});

describe('pickDevice', () => {
  const devices: InputDevice[] = [
    { id: 0, name: 'HDA Intel PCH: ALC257 Analog (hw:0,0)', hostApi: 'ALSA', maxInputChannels: 2, defaultSampleRate: 44100, isDefault: false },
    { id: 1, name: 'HDMI 0 (hw:0,3)', hostApi: 'ALSA', maxInputChannels: 0, defaultSampleRate: 48000, isDefault: false },
    { id: 2, name: 'pulse', hostApi: 'ALSA', maxInputChannels: 32, defaultSampleRate: 44100, isDefault: false },
    { id: 3, name: 'default', hostApi: 'ALSA', maxInputChannels: 32, defaultSampleRate: 44100, isDefault: true },
  ];

  it('takes the default input, an id, an exact name or a name substring', () => {
    expect(pickDevice(devices, undefined).id).toBe(3);
    expect(pickDevice(devices, 2).id).toBe(2);
    expect(pickDevice(devices, 'PULSE').id).toBe(2);
    expect(pickDevice(devices, 'alc257').id).toBe(0);
  });

  it('MIC_UNAVAILABLE names the input devices there are', () => {
    const e = (() => {
      try {
        pickDevice(devices, 'usb headset');
      } catch (err) {
        return err;
      }
    })();
    expect(WhisperError.is(e, 'MIC_UNAVAILABLE')).toBe(true);
    expect((e as Error).message).toMatch(/"usb headset".*#0 "HDA Intel.*#2 "pulse".*#3 "default"/);
    expect((e as Error).message).not.toMatch(/HDMI/);
    expect(() => pickDevice(devices, 1)).toThrow(/No input device with id 1/);
    expect(() => pickDevice([devices[1] as InputDevice], undefined)).toThrow(/No audio input device found \(only output devices: #1 "HDMI/);
    expect(() => pickDevice([], undefined)).toThrow(/No audio input device found\. Check/);
  });
});

/** Both ways to record, on the same virtual microphone: the same blocks, names and errors where they can. */
const BACKENDS = ['portaudio', 'parec', 'arecord'] as const;
const NAMES: Record<(typeof BACKENDS)[number], { desk: string; vmic: string }> = {
  portaudio: { desk: 'Desk_USB_Microphone (desk, through pulse) via PortAudio', vmic: 'Virtual_Microphone (vmic, through pulse) via PortAudio' },
  parec: { desk: "PulseAudio 'Desk_USB_Microphone' (desk) via parec", vmic: "PulseAudio 'Virtual_Microphone' (vmic) via parec" },
  arecord: { desk: '(arecord takes ALSA device names, not sources)', vmic: "ALSA 'default input' via arecord" },
};

const missing = desktopMissing();
if (missing) console.warn(`capture.test.ts: desktop tests skipped: ${missing}`);

describe.skipIf(missing)(`on a headless desktop${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let desktop: Desktop;
  let speech: string;
  let speechPcm: Float32Array;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    const started = performance.now();
    desktop = await startDesktop();
    console.info(`desktop ${desktop.display} up in ${(performance.now() - started).toFixed(0)} ms`);
    // The capture child inherits process.env: point it at this desktop's PulseAudio.
    for (const k of Object.keys(process.env)) if (!(k in desktop.env)) delete process.env[k];
    Object.assign(process.env, desktop.env);
    speech = await desktop.speak('The quick brown fox jumps over the lazy dog.');
    speechPcm = await readAudio(speech);
  }, 60_000);

  afterAll(async () => {
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
    await desktop?.stop();
  }, 30_000);

  /** Opens a capture, lets `silenceMs` pass, plays the sentence, and returns what came out. */
  async function captureSentence(backend: CaptureBackendKind, rate?: number) {
    const blocks: Float32Array[] = [];
    const arrivals: { at: number; samples: number }[] = [];
    const errors: WhisperError[] = [];
    let samples = 0;
    const opened = performance.now();
    const capture = await openCapture({
      backend,
      ...(rate ? { rate } : {}),
      onData: (pcm) => {
        blocks.push(pcm);
        samples += pcm.length;
        arrivals.push({ at: performance.now(), samples });
      },
      onError: (e) => errors.push(e),
    });
    const openMs = performance.now() - opened;
    await sleep(2500); // two or more idle batches
    const idleBlocks = blocks.length;
    capture.live(true); // as the host does when an utterance starts
    const playFrom = samples;
    await desktop.play(speech);
    await sleep(800);
    await capture.stop();
    const sizes = blocks.map((b) => b.length);
    return { capture, pcm: concatSamples(blocks), arrivals, errors, openMs, playFrom, idleSizes: sizes.slice(1, idleBlocks), blockSizes: sizes.slice(idleBlocks + 1) };
  }

  /** Where `ref` best matches inside `x` (searched from `from`), and the normalised correlation there. */
  function locate(x: Float32Array, ref: Float32Array, from: number): { at: number; correlation: number } {
    const hop = 80;
    const envelope = (s: Float32Array) => {
      const e = new Float32Array(Math.floor(s.length / hop));
      for (let i = 0; i < e.length; i++) e[i] = rms(s.subarray(i * hop, (i + 1) * hop));
      return e;
    };
    const ex = envelope(x.subarray(from));
    const er = envelope(ref);
    let coarse = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let lag = 0; lag + er.length <= ex.length; lag++) {
      let s = 0;
      for (let i = 0; i < er.length; i++) s += (ex[lag + i] as number) * (er[i] as number);
      if (s > bestScore) [bestScore, coarse] = [s, lag];
    }
    const refNorm = Math.sqrt(ref.reduce((a, v) => a + v * v, 0));
    let best = { at: 0, correlation: Number.NEGATIVE_INFINITY };
    for (let at = Math.max(0, from + coarse * hop - 2 * hop); at <= Math.min(x.length - ref.length, from + coarse * hop + 2 * hop); at++) {
      let dot = 0;
      let norm = 0;
      for (let i = 0; i < ref.length; i++) {
        const v = x[at + i] as number;
        dot += v * (ref[i] as number);
        norm += v * v;
      }
      const c = dot / (Math.sqrt(norm) * refNorm || 1);
      if (c > best.correlation) best = { at, correlation: c };
    }
    return best;
  }

  function expectSentence(r: Awaited<ReturnType<typeof captureSentence>>, minCorrelation: number) {
    expect(r.errors).toEqual([]);
    // Real time: samples over wall-clock time between the first and the last block, ±10 %.
    const first = r.arrivals[0];
    const last = r.arrivals.at(-1);
    if (!first || !last) throw new Error('no audio');
    const perSecond = ((last.samples - first.samples) / (last.at - first.at)) * 1000;
    expect(perSecond).toBeGreaterThan(16000 * 0.9);
    expect(perSecond).toBeLessThan(16000 * 1.1);
    // The sentence is in there, sample for sample, after the silence.
    const found = locate(r.pcm, speechPcm, r.playFrom - 1600);
    expect(found.correlation).toBeGreaterThan(minCorrelation);
    const silence = r.pcm.subarray(0, r.playFrom);
    const spoken = r.pcm.subarray(found.at, found.at + speechPcm.length);
    expect(rms(spoken)).toBeGreaterThan(0.5 * rms(speechPcm));
    expect(rms(spoken)).toBeGreaterThan(100 * rms(silence) + 1e-3);
    return { perSecond, ...found, silenceRms: rms(silence), spokenRms: rms(spoken) };
  }

  for (const backend of BACKENDS) {
    // each recorder where it is installed (arecord: alsa-utils, which .ci/run installs)
    const absent = backend === 'portaudio' ? !naudiodonPath() : !onPath(backend);
    describe.skipIf(absent)(`through ${backend}${absent ? ' (skipped: not installed here)' : ''}`, () => {
      it.skipIf(backend === 'arecord')("selects a microphone by the sound server's source name or description: each capture hears only its own source", async () => {
        const sources = await listSoundSources();
        expect(sources).toEqual(
          expect.arrayContaining([
            { name: 'vmic', description: 'Virtual_Microphone', isDefault: true, monitor: false },
            { name: 'desk', description: 'Desk_USB_Microphone', isDefault: false, monitor: false },
          ]),
        );
        const open = async (device: string) => {
          const blocks: Float32Array[] = [];
          const capture = await openCapture({ backend, device, onData: (pcm) => blocks.push(pcm), onError: () => undefined });
          capture.live(true);
          return { capture, blocks };
        };
        const desk = await open('usb'); // a part of the description, any case
        const vmic = await open('vmic'); // the source's name
        try {
          expect(desk.capture.device.name).toBe(NAMES[backend].desk);
          expect(vmic.capture.device.name).toBe(NAMES[backend].vmic);
          const deskFrom = concatSamples(desk.blocks).length;
          const vmicFrom = concatSamples(vmic.blocks).length;
          await desktop.play(speech, 'desk_sink');
          await sleep(500);
          const heardOnDesk = concatSamples(desk.blocks).subarray(deskFrom);
          const heardOnVmic = concatSamples(vmic.blocks).subarray(vmicFrom);
          expect(locate(heardOnDesk, speechPcm, 0).correlation).toBeGreaterThan(0.9);
          expect(rms(heardOnDesk)).toBeGreaterThan(100 * rms(heardOnVmic) + 1e-3);
        } finally {
          await desk.capture.stop();
          await vmic.capture.stop();
        }
      });

      it.skipIf(backend === 'arecord')("an input that matches nothing: MIC_UNAVAILABLE naming the PortAudio devices and the sound server's inputs", async () => {
        await expect(openCapture({ backend, device: 'no-such-mic', onData: () => undefined, onError: () => undefined })).rejects.toMatchObject({
          code: 'MIC_UNAVAILABLE',
          message: expect.stringMatching(
            /No input device matching "no-such-mic".*the sound server's inputs are: "Virtual_Microphone" \(vmic, default\), "Desk_USB_Microphone" \(desk\)/,
          ),
        });
      });

      it.skipIf(backend !== 'portaudio')('lists the PulseAudio devices', async () => {
        const devices = await listInputDevices();
        expect(devices.map((d) => d.name)).toEqual(expect.arrayContaining(['pulse', 'default']));
        expect(devices.filter((d) => d.isDefault)).toHaveLength(1);
        for (const d of devices) expect(d.maxInputChannels).toBeGreaterThan(0);
      });

      it('captures a played sentence at 16 kHz, in real time, sample for sample', async () => {
        const r = await captureSentence(backend);
        expect(r.capture.rate).toBe(16000);
        expect(r.capture.device.isDefault).toBe(true);
        const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
        // idle: ~1 s batches (four 250 ms periods of the idle stream)
        expect(median(r.idleSizes)).toBeGreaterThanOrEqual(16_000);
        expect(median(r.idleSizes)).toBeLessThanOrEqual(16_000 + 2 * 320);
        expect(median(r.blockSizes)).toBe(320); // live: 20 ms blocks
        const m = expectSentence(r, 0.95);
        console.info(
          `capture (${backend}): opened "${r.capture.device.name}" #${r.capture.device.id} at ${r.capture.rate} Hz in ${r.openMs.toFixed(0)} ms; ${m.perSecond.toFixed(0)} samples/s; correlation ${m.correlation.toFixed(4)}; rms ${m.spokenRms.toFixed(4)} vs silence ${m.silenceRms.toFixed(6)}`,
        );
      });

      it('idle and live streams: a live stream joins and leaves mid-sound without losing or doubling a sample', async () => {
        // 4 s of noise (every block unique) as 16-bit samples: the virtual microphone passes them through unchanged.
        const played = noise(4 * 16000, 3).map((v) => Math.round(v * 16000) / 32768);
        const wav = join(desktop.dir, 'noise.wav');
        await writeFile(wav, encodeWav(played));
        const blocks: Array<{ pcm: Float32Array; at: number }> = [];
        const notes: string[] = [];
        const capture = await openCapture({ backend, blockMs: 50, onData: (pcm) => blocks.push({ pcm, at: performance.now() }), onError: () => {}, onNote: (n) => notes.push(n) });
        try {
          expect(capture.streams).toBe(2);
          await sleep(600);
          const playing = desktop.play(wav);
          await sleep(1000);
          const liveFrom = blocks.length;
          capture.live(true);
          await sleep(1500);
          capture.live(false);
          const idleFrom = blocks.length;
          await playing;
          await sleep(700);
          const pcm = concatSamples(blocks.map((b) => b.pcm));
          const toInt = (x: Float32Array) => Int16Array.from(x, (v) => Math.round(v * 32768));
          const got = Buffer.from(toInt(pcm).buffer);
          const want = Buffer.from(toInt(played).buffer);
          const at = got.indexOf(want.subarray(0, 1600));
          expect(at).toBeGreaterThanOrEqual(0);
          // The whole 4 s, sample for sample, through the idle stream, the join, the live stream and back.
          expect(got.subarray(at, at + want.length).equals(want)).toBe(true);
          // While live, 50 ms blocks arrived (800 samples), not only ~250 ms chunks.
          const liveSizes = blocks.slice(liveFrom, idleFrom).map((b) => b.pcm.length);
          expect(liveSizes.filter((n) => n === 800).length).toBeGreaterThan(15);
          expect(blocks.slice(0, liveFrom).every((b) => b.pcm.length >= 4000)).toBe(true);
          expect(notes).toEqual([]);
        } finally {
          await capture.stop();
        }
      });

      it('idle, the two-stream capture process wakes far less often than one short-block stream', async () => {
        /** voluntary context switches of the capture process over 3 s of idle */
        const wakeups = async (idlePeriodMs: number) => {
          const before = new Set(children());
          const capture = await openCapture({ backend, blockMs: 50, idlePeriodMs, onData: () => {}, onError: () => {} });
          try {
            const pid = children().find((p) => !before.has(p));
            if (!pid) throw new Error('no capture process');
            await sleep(1000);
            const a = switches(pid);
            await sleep(3000);
            return { streams: capture.streams, perSecond: (switches(pid) - a) / 3 };
          } finally {
            await capture.stop();
          }
        };
        const one = await wakeups(0);
        const two = await wakeups(250);
        console.info(`idle capture process (${backend}): ${two.perSecond.toFixed(0)} wake-ups/s (idle + live streams) vs ${one.perSecond.toFixed(0)} (one 50 ms stream)`);
        expect([one.streams, two.streams]).toEqual([1, 2]);
        expect(two.perSecond).toBeLessThan(one.perSecond / 2);
      });

      it('resamples a device opened at 44.1 kHz to 16 kHz', async () => {
        const r = await captureSentence(backend, 44100);
        expect(r.capture.rate).toBe(44100);
        const m = expectSentence(r, 0.9);
        console.info(
          `capture (${backend}) at 44.1 kHz: ${m.perSecond.toFixed(0)} samples/s; correlation ${m.correlation.toFixed(4)}; rms ${m.spokenRms.toFixed(4)} vs silence ${m.silenceRms.toFixed(6)}`,
        );
      });

      it.skipIf(backend === 'arecord')('MIC_UNAVAILABLE for a device that does not exist, naming those that do', async () => {
        const opening = openCapture({ backend, device: 'no such microphone', onData: () => {}, onError: () => {} });
        await expect(opening).rejects.toMatchObject({
          code: 'MIC_UNAVAILABLE',
          message: expect.stringMatching(backend === 'portaudio' ? /"no such microphone".*"pulse"/ : /"no such microphone".*"Virtual_Microphone" \(vmic, default\)/),
        });
      });

      it('MIC_LOST when the sound server dies', async () => {
        const errors: WhisperError[] = [];
        const capture = await openCapture({ backend, onData: () => {}, onError: (e) => errors.push(e) });
        try {
          const gone = performance.now();
          await desktop.stopAudio();
          while (!errors.length && performance.now() - gone < 8000) await sleep(50);
          expect(errors.map((e) => e.code)).toEqual(['MIC_LOST']);
          console.info(`${backend}: MIC_LOST after ${(performance.now() - gone).toFixed(0)} ms: ${errors[0]?.message}`);
        } finally {
          await capture.stop();
          await desktop.startAudio();
        }
        // And the microphone is back once the server is.
        const again = await openCapture({ backend, onData: () => {}, onError: (e) => errors.push(e) });
        await again.stop();
        expect(errors).toHaveLength(1);
      });

      it('keeps capturing when the source is removed (PulseAudio moves the stream to another source)', async () => {
        const errors: WhisperError[] = [];
        let samples = 0;
        const capture = await openCapture({ backend, onData: (pcm) => (samples += pcm.length), onError: (e) => errors.push(e) });
        try {
          await desktop.pactl('unload-module', 'module-remap-source');
          const before = samples;
          await sleep(4000); // past the watchdog's 3 s (audio comes in ~1 s batches)
          expect(errors).toEqual([]);
          expect(samples - before).toBeGreaterThan(16000 * 2);
        } finally {
          await capture.stop();
          // both microphones as the desktop made them (unload-module took every remapped source), for the next backend's tests
          await desktop.pactl('load-module', 'module-remap-source', 'master=vmic_sink.monitor', 'source_name=vmic', 'source_properties=device.description=Virtual_Microphone');
          await desktop.pactl('load-module', 'module-remap-source', 'master=desk_sink.monitor', 'source_name=desk', 'source_properties=device.description=Desk_USB_Microphone');
          await desktop.pactl('set-default-source', 'vmic');
        }
      });
    });
  }

  describe('parec, the recorder a global install without a compiler has', () => {
    /** This process's parec children. */
    const recorders = () => children().filter((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'parec');
    const running = (pids: number[]) =>
      pids.filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });

    it('is chosen where the sound server answers, with naudiodon2 installed or not', async () => {
      expect(chooseBackend(await availability()).kind).toBe('parec');
      const withoutPortAudio = chooseBackend(await availability({ naudiodon: () => undefined }));
      expect(withoutPortAudio.kind).toBe('parec');
      expect(withoutPortAudio.why).toBe('PulseAudio via parec; naudiodon2 (PortAudio) not installed');
      const capture = await openCapture({ onData: () => {}, onError: () => {} });
      try {
        expect(capture.backend).toBe('parec (PulseAudio client)');
        expect(capture.device.name).toBe(NAMES.parec.vmic);
      } finally {
        await capture.stop();
      }
    });

    it('stop() ends the recorder processes, the idle one and the live one', async () => {
      const before = new Set(recorders());
      let liveBlock!: () => void;
      const live = new Promise<void>((resolve) => {
        liveBlock = resolve;
      });
      const capture = await openCapture({ backend: 'parec', onData: (pcm) => pcm.length === 320 && liveBlock(), onError: () => {} });
      capture.live(true);
      await live; // a 20 ms block: the live recorder runs
      const mine = recorders().filter((pid) => !before.has(pid));
      expect(mine).toHaveLength(2);
      await capture.stop();
      expect(running(mine)).toEqual([]);
    });

    it('a recorder killed from outside is MIC_LOST at once, naming how it ended', async () => {
      const before = new Set(recorders());
      let lost!: (e: WhisperError) => void;
      const error = new Promise<WhisperError>((resolve) => {
        lost = resolve;
      });
      const capture = await openCapture({ backend: 'parec', onData: () => {}, onError: (e) => lost(e) });
      const [pid] = recorders().filter((p) => !before.has(p));
      if (!pid) throw new Error('no parec process');
      const killedAt = performance.now();
      process.kill(pid, 'SIGKILL');
      const e = await error;
      expect(e.code).toBe('MIC_LOST');
      expect(e.message).toMatch(/^Lost the microphone "PulseAudio 'Virtual_Microphone' \(vmic\) via parec": parec ended \(killed by SIGKILL\)/);
      console.info(`parec killed: MIC_LOST after ${(performance.now() - killedAt).toFixed(0)} ms`);
      await capture.stop();
      expect(running(recorders().filter((p) => !before.has(p)))).toEqual([]);
    });
  });

  describe('the desktop harness', () => {
    const text = 'Hello from prism-dictate — naïve café ✓ 42';

    it('XTest ctrl+v pastes the clipboard into the Tk target exactly', async () => {
      const target = await desktop.openTarget('tk');
      try {
        await desktop.setClipboard(`${text}\nsecond line`);
        await target.focus();
        expect(await desktop.xdotool('getwindowfocus')).toBe(target.window);
        await desktop.xdotool('key', '--clearmodifiers', 'ctrl+v');
        expect(await target.waitFor((t) => t.length > 0)).toBe(`${text}\nsecond line`);
        await desktop.xdotool('type', '--delay', '5', ' typed');
        expect(await target.waitFor((t) => t.endsWith('typed'))).toBe(`${text}\nsecond line typed`);
      } finally {
        await target.close();
      }
    });

    it('XTest ctrl+shift+v pastes the clipboard into the xterm target; ctrl+v does not', async () => {
      const target = await desktop.openTarget('xterm');
      try {
        await desktop.setClipboard(text);
        await desktop.xdotool('key', '--clearmodifiers', 'ctrl+v');
        await desktop.xdotool('key', '--clearmodifiers', 'ctrl+shift+v');
        expect(await target.waitFor((t) => t.includes('✓ 42'))).toBe(`\x16${text}`);
      } finally {
        await target.close();
      }
    });

    it('XTest shift+Insert pastes CLIPBOARD into Tk and PRIMARY into xterm', async () => {
      await desktop.setClipboard('from the clipboard');
      await desktop.setClipboard('from the primary selection', 'primary');
      const tk = await desktop.openTarget('tk');
      const xterm = await desktop.openTarget('xterm');
      try {
        await tk.focus();
        await desktop.xdotool('key', '--clearmodifiers', 'shift+Insert');
        expect(await tk.waitFor((t) => t.length > 0)).toBe('from the clipboard');
        await xterm.focus();
        await desktop.xdotool('key', '--clearmodifiers', 'shift+Insert');
        expect(await xterm.waitFor((t) => t.length > 0)).toBe('from the primary selection');
      } finally {
        await Promise.all([tk.close(), xterm.close()]);
      }
    });

    it('stop() leaves no process, X lock file or temp folder behind', async () => {
      const other = await startDesktop();
      await other.openTarget('xterm');
      await other.openTarget('tk');
      await other.setClipboard('x');
      const pids = other.pids();
      expect(pids.length).toBeGreaterThanOrEqual(5); // Xvfb, pulseaudio, xterm, wish, xsel
      await other.stop();
      const alive = pids.filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
      expect(alive).toEqual([]);
      expect(existsSync(`/tmp/.X${other.display.slice(1)}-lock`)).toBe(false);
      expect(existsSync(other.dir)).toBe(false);
      expect(other.display).not.toBe(desktop.display);
    });
  });
});
