/**
 * Stages of a simulated dictation through the daemon's own pipeline and stage timer (DictationHost):
 * each utterance is fed to it in 20 ms capture blocks after a toggle (hands-free), followed by silence, so
 * the real WebRTC VAD cuts the phrase at the end of speech; then the warm model transcribes and the text is "delivered"
 * (to nowhere: the paste itself needs a desktop and is measured by the end-to-end test).
 * Audio is fed faster than real time; the end-of-speech figure is the VAD's decision lag in audio time.
 */

import { WHISPER_RATE } from '../audio/resample.js';
import { Vad } from '../audio/vad.js';
import { validateConfig } from '../config/load.js';
import { type DictationEvent, DictationHost } from '../host/dictation.js';
import { History } from '../host/history.js';
import { Output } from '../host/output.js';
import type { Transcript } from '../model.js';
import type { BenchContext } from './context.js';
import type { Utterance } from './corpus.js';
import { type Summary, summarize } from './stats.js';

export interface PipelineResult {
  utterances: number;
  source: string;
  secondsRange: [number, number];
  /** endOfSpeech: last voiced frame → end decided (audio time); textReady: end decided → text delivered */
  stages: Record<'endOfSpeech' | 'queue' | 'mel' | 'encode' | 'decode' | 'textReady' | 'speechEndToText', Summary>;
  /** text ready, by utterance length */
  byLength: Array<{ bucket: string; n: number; textReadyMs: Summary }>;
  hangoverMs: number;
}

const BLOCK = 320; // 20 ms at 16 kHz

export async function pipelineStages(ctx: BenchContext, utterances: Utterance[], source: string): Promise<PipelineResult> {
  const config = validateConfig({ hotkey: { mode: 'toggle', enabled: false }, history: { enabled: false }, output: { method: 'stdout' } });
  const vad = await Vad.create({ mode: config.vad.mode, frameMs: config.vad.frameMs });
  let last: Transcript | undefined;
  const engine = {
    transcribe: async (pcm: Float32Array, o: Parameters<typeof ctx.model.transcribe>[1]) => {
      last = await ctx.model.transcribe(pcm, o);
      return last;
    },
  };
  const output = new Output(config.output, { modifiers: ['ctrl'], key: 'v' }, undefined, undefined, () => undefined);
  const host = new DictationHost({ config, engine, history: new History('', config.history), output, vad, log: () => undefined });
  host.setMicrophone(undefined);
  const feed = (pcm: Float32Array) => {
    for (let i = 0; i < pcm.length; i += BLOCK) host.feed(pcm.subarray(i, Math.min(pcm.length, i + BLOCK)));
  };
  const silence = new Float32Array(WHISPER_RATE * 2);
  const rows: Array<{ seconds: number; eos: number; queue: number; mel: number; encode: number; decode: number; textReady: number }> = [];
  const events: DictationEvent[] = [];
  let arrived: (() => void) | undefined;
  host.on('dictation', (e: DictationEvent) => {
    events.push(e);
    arrived?.();
  });
  /**
   * Feeds `pcm` faster than real time, but waits for each phrase the VAD cuts to be delivered before
   * going on: spoken in real time, the next phrase takes seconds, far longer than the transcription
   * that overlaps it, so no phrase queues behind another.
   */
  const speak = async (pcm: Float32Array, until?: () => boolean) => {
    for (let i = 0; i < pcm.length && !until?.(); i += BLOCK) {
      const cut = host.phrasesCut;
      host.feed(pcm.subarray(i, Math.min(pcm.length, i + BLOCK)));
      while (host.phrasesCut > cut && events.length < host.phrasesCut) await new Promise<void>((r) => (arrived = r));
    }
  };
  try {
    for (const u of utterances) {
      events.length = 0;
      feed(silence.subarray(0, 8000));
      host.toggle(); // hands-free: the VAD cuts a phrase at each pause
      await speak(u.pcm);
      // silence until the VAD has cut the phrase that the utterance ends with (2 s at most, if it heard no speech)
      const cut = host.phrasesCut;
      await speak(silence, () => host.phrasesCut > cut);
      host.toggle(); // the press that ends the dictation
      await host.drain();
      const times = events.filter((e) => e.times.total !== undefined).at(-1)?.times;
      const t = last?.timings;
      last = undefined;
      if (!t || times?.total === undefined) continue; // no speech heard: nothing transcribed
      rows.push({ seconds: u.seconds, eos: times.endOfSpeech ?? 0, queue: t.queueMs, mel: t.melMs, encode: t.encodeMs, decode: t.decodeMs, textReady: times.total });
    }
  } finally {
    host.cancel('bench over');
    await host.drain();
    vad.close();
  }
  const stage = (k: keyof (typeof rows)[number]): Summary => summarize(rows.map((r) => r[k]));
  const buckets: Array<[string, number, number]> = [
    ['≤ 3 s', 0, 3],
    ['3–7 s', 3, 7],
    ['7–15 s', 7, 16],
  ];
  const seconds = rows.map((r) => r.seconds);
  ctx.log(`pipeline: ${rows.length} of ${utterances.length} utterances through the dictation host`);
  return {
    utterances: rows.length,
    source,
    secondsRange: [Math.min(...seconds), Math.max(...seconds)],
    stages: {
      endOfSpeech: stage('eos'),
      queue: stage('queue'),
      mel: stage('mel'),
      encode: stage('encode'),
      decode: stage('decode'),
      textReady: stage('textReady'),
      speechEndToText: summarize(rows.map((r) => r.eos + r.textReady)),
    },
    byLength: buckets
      .map(([bucket, lo, hi]) => {
        const inBucket = rows.filter((r) => r.seconds > lo && r.seconds <= hi);
        return { bucket, n: inBucket.length, textReadyMs: summarize(inBucket.map((r) => r.textReady)) };
      })
      .filter((b) => b.n > 0),
    hangoverMs: config.vad.hangoverMs,
  };
}
