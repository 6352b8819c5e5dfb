/**
 * Stages of a simulated dictation on the library path: the utterance is already captured; the
 * end-of-speech decision belongs to the daemon's VAD (not built yet, so it is reported as such);
 * then transcription (queue, mel, encode, decode) until the text is ready for paste.
 */
import type { BenchContext } from './context.js';
import type { Utterance } from './corpus.js';
import { type Summary, summarize } from './stats.js';

export interface PipelineResult {
  utterances: number;
  source: string;
  secondsRange: [number, number];
  stages: Record<'queue' | 'mel' | 'encode' | 'decode' | 'textReady', Summary>;
  /** text ready, by utterance length */
  byLength: Array<{ bucket: string; n: number; textReadyMs: Summary }>;
  endOfSpeech: string;
}

export async function pipelineStages(ctx: BenchContext, utterances: Utterance[], source: string): Promise<PipelineResult> {
  const rows: Array<{ seconds: number; queue: number; mel: number; encode: number; decode: number; textReady: number }> = [];
  for (const u of utterances) {
    const started = performance.now();
    const t = await ctx.model.transcribe(u.pcm, { audioCtx: 'auto' });
    const textReady = performance.now() - started;
    rows.push({ seconds: u.seconds, queue: t.timings.queueMs, mel: t.timings.melMs, encode: t.timings.encodeMs, decode: t.timings.decodeMs, textReady });
  }
  const stage = (k: keyof (typeof rows)[number]): Summary => summarize(rows.map((r) => r[k]));
  const buckets: Array<[string, number, number]> = [
    ['≤ 3 s', 0, 3],
    ['3–7 s', 3, 7],
    ['7–15 s', 7, 16],
  ];
  const seconds = rows.map((r) => r.seconds);
  ctx.log(`pipeline: ${rows.length} utterances`);
  return {
    utterances: rows.length,
    source,
    secondsRange: [Math.min(...seconds), Math.max(...seconds)],
    stages: { queue: stage('queue'), mel: stage('mel'), encode: stage('encode'), decode: stage('decode'), textReady: stage('textReady') },
    byLength: buckets
      .map(([bucket, lo, hi]) => {
        const inBucket = rows.filter((r) => r.seconds > lo && r.seconds <= hi);
        return { bucket, n: inBucket.length, textReadyMs: summarize(inBucket.map((r) => r.textReady)) };
      })
      .filter((b) => b.n > 0),
    endOfSpeech: "not measured yet: the daemon's WebRTC VAD stage arrives with prism-dictate start",
  };
}
