/** The parts of a transcription stream on their own: the agreement policy, the cadence, the event queue, phrase cutting. */
import { describe, expect, it } from 'vitest';
import { readAudio } from '../lib/audio/read.js';
import { Vad } from '../lib/audio/vad.js';
import { LocalAgreement } from '../lib/engine/stream/agreement.js';
import { Cadence } from '../lib/engine/stream/cadence.js';
import { EventQueue, type PartialEvent } from '../lib/engine/stream/events.js';
import { type PhraseChange, Phraser } from '../lib/engine/stream/phraser.js';
import { JFK } from './helpers.js';

describe('LocalAgreement-2', () => {
  it('commits the words two consecutive hypotheses agree on, and never takes them back', () => {
    const a = new LocalAgreement();
    expect(a.update('And so my')).toMatchObject({ committed: [], tail: ['And', 'so', 'my'], added: 0 });
    expect(a.update('and so my fellow')).toMatchObject({ committed: ['and', 'so', 'my'], tail: ['fellow'], added: 3 });
    // disagreement past the committed words: nothing more is committed, the tail follows the newest
    expect(a.update('and so my yellow americans')).toMatchObject({ committed: ['and', 'so', 'my'], tail: ['yellow', 'americans'], added: 0 });
    // a hypothesis that contradicts committed words commits nothing and is counted; committed stays
    expect(a.update('hand so my yellow americans')).toMatchObject({ committed: ['and', 'so', 'my'], conflict: true, added: 0 });
    expect(a.conflicts).toBe(1);
    // the next one must agree with the previous (conflicting) one to commit: it does not
    expect(a.update('and so my yellow americans ask')).toMatchObject({ committed: ['and', 'so', 'my'], added: 0 });
    // two that agree with the committed words and each other commit again; punctuation and case do not matter
    expect(a.update('And so my yellow Americans, ask not')).toMatchObject({ committed: ['and', 'so', 'my', 'yellow', 'Americans,', 'ask'], tail: ['not'], added: 3 });
  });
});

describe('Cadence', () => {
  it('waits max(minIntervalMs, backoff × the last decode) after a decode, and for the phrase to grow', () => {
    const c = new Cadence({ minIntervalMs: 300, backoff: 2, minPreviewMs: 500, minGrowthMs: 200 });
    expect(c.nextPreviewAt(0, 400)).toBe(Number.POSITIVE_INFINITY); // too little audio yet
    expect(c.nextPreviewAt(0, 500)).toBe(0);
    c.previewed(500);
    c.decoded(1000, 100); // a fast decode: the floor rules
    expect(c.nextPreviewAt(1000, 600)).toBe(Number.POSITIVE_INFINITY); // grew 100 ms only
    expect(c.nextPreviewAt(1000, 700)).toBe(1300);
    c.previewed(700);
    c.decoded(2000, 800); // a slow one: it backs off
    expect(c.nextPreviewAt(2000, 1000)).toBe(3600);
    expect(c.nextPreviewAt(4000, 1000)).toBe(4000);
    c.newPhrase();
    expect(c.nextPreviewAt(4000, 500)).toBe(4000);
  });
});

describe('EventQueue', () => {
  const partial = (phrase: number, committed: string): PartialEvent => ({ type: 'partial', phrase, committed, tail: '', startMs: 0, audioMs: 0, decodeMs: 0 });

  it('a slow reader gets the newest partial of a phrase, every final, then the end or the error', async () => {
    const q = new EventQueue();
    q.push(partial(1, 'a'));
    q.push(partial(1, 'a b'));
    q.push({ type: 'final', phrase: 1, text: 'a b c', startMs: 0, endMs: 1, reason: 'pause', committed: 'a b', revised: false, timings: {} as never, latencyMs: 0, waitMs: 0 });
    q.push(partial(2, 'x'));
    q.close(new Error('boom'));
    expect((await q.next()).value).toMatchObject({ type: 'partial', committed: 'a b' });
    expect((await q.next()).value).toMatchObject({ type: 'final' });
    expect((await q.next()).value).toMatchObject({ phrase: 2 });
    await expect(q.next()).rejects.toThrow('boom');
  });
});

describe('Phraser', () => {
  const collect = async (pcm: Float32Array, o: { maxPhraseMs: number; hangoverMs?: number }) => {
    const vad = await Vad.create({ mode: 3, frameMs: 20 });
    const p = new Phraser(vad, { hangoverMs: o.hangoverMs ?? 500, minSpeechMs: 200, preRollMs: 300, maxPhraseMs: o.maxPhraseMs });
    const changes: PhraseChange[] = [];
    for (let at = 0; at < pcm.length; at += 700) changes.push(...p.push(pcm.subarray(at, at + 700)));
    const last = p.finish();
    if (last) changes.push(last);
    vad.close();
    return changes.filter((c): c is Extract<PhraseChange, { kind: 'cut' }> => c.kind === 'cut');
  };

  it('cuts at pauses: each phrase holds its speech, a pre-roll before it, the hangover after it', async () => {
    const jfk = await readAudio(JFK);
    const pcm = new Float32Array(jfk.length + 3 * 16000);
    pcm.set(jfk.subarray(0, 4 * 16000), 8000);
    pcm.set(jfk.subarray(4 * 16000), 8000 + 4 * 16000 + 32000); // a 2 s pause inserted at 4.5 s
    const cuts = await collect(pcm, { maxPhraseMs: 30_000 });
    expect(cuts.length).toBeGreaterThanOrEqual(2);
    for (const [i, c] of cuts.entries()) {
      expect(c.audio.length).toBe(c.endSample - c.startSample);
      expect(c.audio).toEqual(pcm.slice(c.startSample, c.endSample));
      if (i > 0) expect(c.startSample).toBeGreaterThanOrEqual((cuts[i - 1] as { endSample: number }).endSample);
    }
    expect(cuts.some((c) => c.reason === 'pause' && c.endSample > 4.5 * 16000 && c.endSample < 6.5 * 16000)).toBe(true);
  });

  it('cuts a phrase at maxPhraseMs and goes on with the next', async () => {
    const jfk = await readAudio(JFK);
    const cuts = await collect(jfk, { maxPhraseMs: 1000, hangoverMs: 2000 });
    const long = cuts.filter((c) => c.reason === 'max-length');
    expect(long.length).toBeGreaterThanOrEqual(3);
    for (const c of long) expect(c.endSample - c.startSample).toBe(16000);
  });
});
