import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Endpointer, type EndpointState } from '../lib/audio/endpoint.js';
import { readAudio } from '../lib/audio/read.js';
import { Vad, voicedMs } from '../lib/audio/vad.js';
import { WhisperError } from '../lib/errors.js';
import { AudioRing } from '../lib/host/ring.js';
import { espeak, JFK } from './helpers.js';

/** 0, 1, 2, … as float samples, so order and position are visible in what comes back. */
function ramp(from: number, n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => from + i);
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return WhisperError.is(e) ? e.code : `not a WhisperError: ${e}`;
  }
  return undefined;
}

describe('AudioRing', () => {
  it('keeps the newest samples in order across the wrap', () => {
    const ring = new AudioRing(1, 10); // 10 samples
    for (let at = 0; at < 27; at += 3) ring.write(ramp(at, 3));
    expect(ring.end).toBe(27);
    expect(ring.start).toBe(17);
    expect(Array.from(ring.read(17, 27))).toEqual(Array.from(ramp(17, 10)));
    expect(Array.from(ring.read(20, 24))).toEqual([20, 21, 22, 23]);
    expect(ring.read(27, 27).length).toBe(0);
  });

  it('clamps a read of overwritten audio to the oldest sample held', () => {
    const ring = new AudioRing(1, 10);
    ring.write(ramp(0, 25));
    expect(Array.from(ring.read(3, 20))).toEqual(Array.from(ramp(15, 5)));
    expect(ring.read(0, 10).length).toBe(0); // all of it overwritten
  });

  it('refuses reads past the end and reversed ranges', () => {
    const ring = new AudioRing(1, 10);
    ring.write(ramp(0, 5));
    expect(code(() => ring.read(0, 6))).toBe('BAD_ARGUMENT');
    expect(code(() => ring.read(4, 3))).toBe('BAD_ARGUMENT');
    expect(Array.from(ring.read(0, 5))).toEqual([0, 1, 2, 3, 4]);
  });

  it('keeps only the newest samples of a block longer than the ring', () => {
    const ring = new AudioRing(1, 10);
    ring.write(ramp(0, 4));
    ring.write(ramp(4, 23));
    expect(ring.end).toBe(27);
    expect(ring.start).toBe(17);
    expect(Array.from(ring.read(0, 27))).toEqual(Array.from(ramp(17, 10)));
    ring.write(ramp(27, 2)); // and it goes on from the right place
    expect(Array.from(ring.read(ring.start, ring.end))).toEqual(Array.from(ramp(19, 10)));
  });

  it('defaults to 30 s at 16 kHz and converts ms to samples', () => {
    const ring = new AudioRing();
    expect(ring.capacity).toBe(480_000);
    expect(ring.msToSamples(300)).toBe(4800);
  });
});

describe('Vad', () => {
  let vad: Vad;
  let jfk: Float32Array;
  beforeAll(async () => {
    vad = await Vad.create({ mode: 2, frameMs: 20 });
    jfk = await readAudio(JFK);
  });
  afterAll(() => vad.close());

  function frames(pcm: Float32Array): boolean[] {
    const out: boolean[] = [];
    for (let at = 0; at + vad.frameSamples <= pcm.length; at += vad.frameSamples) out.push(vad.isSpeech(pcm.subarray(at, at + vad.frameSamples)));
    return out;
  }

  it('hears no speech in digital silence', () => {
    expect(vad.frameSamples).toBe(320);
    vad.reset();
    expect(frames(new Float32Array(48000)).filter(Boolean).length).toBe(0);
    expect(voicedMs(vad, new Float32Array(48000))).toBe(0);
  });

  it('hears no speech in low steady noise once it has adapted to it', () => {
    let seed = 7;
    const noise = Float32Array.from({ length: 48000 }, () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return 0.01 * (seed / 2 ** 31 - 1); // white, ±0.01 (about −45 dBFS)
    });
    vad.reset();
    const decisions = frames(noise);
    // A fresh detector calls the first few frames of anything speech while it learns the noise floor.
    expect(decisions.slice(10).filter(Boolean).length).toBe(0);
    expect(voicedMs(vad, noise)).toBeLessThanOrEqual(100);
  });

  it('hears speech in real speech', () => {
    expect(voicedMs(vad, jfk.subarray(0, 16000))).toBeGreaterThanOrEqual(600);
    const all = voicedMs(vad, jfk);
    expect(all).toBeGreaterThan(5000);
    expect(all).toBeLessThan(jfk.length / 16);
  });

  it('keeps its mode and 16 kHz rate across reset (20 ms frames still accepted)', () => {
    vad.reset();
    expect(() => vad.isSpeech(new Float32Array(320))).not.toThrow();
    expect(voicedMs(vad, jfk.subarray(0, 16000))).toBeGreaterThanOrEqual(600);
  });

  it('rejects frames of the wrong length, bad options, and use after close', async () => {
    expect(code(() => vad.isSpeech(new Float32Array(319)))).toBe('BAD_ARGUMENT');
    expect(code(() => vad.isSpeech(new Float32Array(480)))).toBe('BAD_ARGUMENT');
    await expect(Vad.create({ mode: 4 as 3, frameMs: 20 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(Vad.create({ mode: 1, frameMs: 25 as 20 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    const other = await Vad.create({ mode: 3, frameMs: 30 });
    expect(other.frameSamples).toBe(480);
    expect(other.isSpeech(new Float32Array(480))).toBe(false);
    other.close();
    other.close();
    expect(code(() => other.isSpeech(new Float32Array(480)))).toBe('CLOSED');
  });
});

/** Push a pattern of decisions; returns every state, and the frame indexes that returned 'end'. */
function feed(ep: Endpointer, pattern: Array<[boolean, number]>): { states: EndpointState[]; ends: number[] } {
  const states: EndpointState[] = [];
  for (const [speech, n] of pattern) for (let i = 0; i < n; i++) states.push(ep.push(speech));
  return { states, ends: states.flatMap((s, i) => (s === 'end' ? [i] : [])) };
}

describe('Endpointer', () => {
  it('does not start an utterance on a blip shorter than minSpeechMs', () => {
    const ep = new Endpointer({ frameMs: 20, hangoverMs: 500 });
    const { states, ends } = feed(ep, [
      [false, 10],
      [true, 2],
      [false, 300],
    ]);
    expect(ends).toEqual([]);
    expect(states.every((s) => s === 'silence')).toBe(true);
    expect(ep.heardSpeech).toBe(false);
    expect(ep.speechMs).toBe(40);
  });

  it('forgets blips separated by a hangover of silence, but starts on minSpeechMs of voice', () => {
    const ep = new Endpointer({ frameMs: 20, hangoverMs: 200 });
    expect(
      feed(ep, [
        [true, 4],
        [false, 10],
        [true, 4],
        [false, 10],
      ]).ends,
    ).toEqual([]);
    expect(ep.heardSpeech).toBe(false);
    ep.reset();
    const { states, ends } = feed(ep, [
      [true, 5],
      [false, 10],
    ]);
    expect(states[4]).toBe('speech');
    expect(ends).toEqual([14]);
  });

  it('rides over a pause shorter than the hangover and ends exactly a hangover after the last speech', () => {
    const ep = new Endpointer({ frameMs: 20, hangoverMs: 500 });
    const { states, ends } = feed(ep, [
      [false, 25], // 0.5 s before
      [true, 50], // 1 s of speech
      [false, 15], // 300 ms pause
      [true, 25], // 0.5 s more
      [false, 100],
    ]);
    const finalSpeechEnd = 25 + 50 + 15 + 25; // frames
    expect(states.slice(75, 90).every((s) => s === 'speech')).toBe(true); // the pause stays inside the utterance
    expect(ends).toEqual([finalSpeechEnd + 25 - 1]); // the 25th silent frame
    expect(ep.heardSpeech).toBe(true);
    expect(ep.speechMs).toBe(1500);
    expect(ep.lastSpeechAtMs).toBe(finalSpeechEnd * 20);
    expect(ep.decisionLagMs).toBe(500);
    expect(states.slice(finalSpeechEnd + 25).every((s) => s === 'silence')).toBe(true);
    expect(
      feed(ep, [
        [true, 50],
        [false, 50],
      ]).ends,
    ).toEqual([]); // nothing more until reset
    ep.reset();
    expect(ep.elapsedMs).toBe(0);
    expect(
      feed(ep, [
        [true, 10],
        [false, 30],
      ]).ends,
    ).toEqual([34]);
  });

  it.each([
    { frameMs: 10, hangoverMs: 150, silentFrames: 15 },
    { frameMs: 30, hangoverMs: 150, silentFrames: 5 },
    { frameMs: 20, hangoverMs: 150, silentFrames: 8 }, // 160 ms: the first frame boundary at or past 150
    { frameMs: 20, hangoverMs: 2000, silentFrames: 100 },
    { frameMs: 10, hangoverMs: 2000, silentFrames: 200 },
  ])('honours a $hangoverMs ms hangover at $frameMs ms frames', ({ frameMs, hangoverMs, silentFrames }) => {
    const ep = new Endpointer({ frameMs, hangoverMs });
    const speechFrames = Math.ceil(300 / frameMs);
    const { ends } = feed(ep, [
      [true, speechFrames],
      [false, silentFrames + 50],
    ]);
    expect(ends).toEqual([speechFrames + silentFrames - 1]);
    expect(ep.decisionLagMs).toBe(silentFrames * frameMs);
    expect(ep.decisionLagMs).toBeGreaterThanOrEqual(hangoverMs);
    expect(ep.decisionLagMs).toBeLessThan(hangoverMs + frameMs);
  });

  it('rejects nonsense options', () => {
    expect(code(() => new Endpointer({ frameMs: 0, hangoverMs: 500 }))).toBe('BAD_ARGUMENT');
    expect(code(() => new Endpointer({ frameMs: 20, hangoverMs: -1 }))).toBe('BAD_ARGUMENT');
    expect(code(() => new Endpointer({ frameMs: 20, hangoverMs: 500, minSpeechMs: Number.NaN }))).toBe('BAD_ARGUMENT');
  });
});

const spoken = espeak('The quick brown fox jumps over the lazy dog.');

describe('Vad + Endpointer on synthetic speech', () => {
  it.skipIf(!spoken)('ends once, a hangover after the sentence (skipped: espeak-ng is not installed)', async () => {
    const sentence = await readAudio(spoken as Buffer);
    let audible = sentence.length - 1; // espeak pads its output with near-silence
    while (audible > 0 && Math.abs(sentence[audible] as number) < 1e-3) audible--;
    const lead = 16000;
    const pcm = new Float32Array(lead + sentence.length + 32000);
    pcm.set(sentence, lead);
    const sentenceEndMs = (lead + sentence.length) / 16;
    const audibleEndMs = (lead + audible + 1) / 16;

    const vad = await Vad.create({ mode: 2, frameMs: 20 });
    const ep = new Endpointer({ frameMs: 20, hangoverMs: 500 });
    const ends: Array<{ atMs: number; lagMs: number }> = [];
    let firstSpeechMs = -1;
    for (let at = 0; at + vad.frameSamples <= pcm.length; at += vad.frameSamples) {
      const state = ep.push(vad.isSpeech(pcm.subarray(at, at + vad.frameSamples)));
      if (state === 'speech' && firstSpeechMs < 0) firstSpeechMs = ep.elapsedMs;
      if (state === 'end') ends.push({ atMs: ep.elapsedMs, lagMs: ep.decisionLagMs });
    }
    vad.close();

    expect(ends.length).toBe(1);
    const end = ends[0] as { atMs: number; lagMs: number };
    expect(firstSpeechMs).toBeGreaterThan(1000);
    expect(end.lagMs).toBeGreaterThanOrEqual(500);
    expect(end.lagMs).toBeLessThanOrEqual(520);
    expect(end.atMs).toBeGreaterThanOrEqual(audibleEndMs + 500);
    expect(end.atMs).toBeLessThanOrEqual(sentenceEndMs + 600);
  });
});
