/**
 * Engine breakdown of a warm call: queue, mel, encode, decode, ms/token; full vs auto window, greedy
 * vs beam 5; and the longest the event loop stood still during a call (what the JS thread spends).
 */
import type { TranscribeOptions } from '../model.js';
import type { BenchContext } from './context.js';
import { withLoopGap } from './loopGap.js';
import { type Summary, summarize } from './stats.js';

export interface EngineRow {
  window: 'full' | 'auto';
  decoding: 'greedy' | 'beam 5';
  audioCtx: number;
  tokens: number;
  totalMs: Summary;
  queueMs: Summary;
  melMs: Summary;
  encodeMs: Summary;
  decodeMs: Summary;
  msPerToken: number;
  /** the longest event-loop gap during a call, over the runs (ms) */
  loopGapMs: number;
}

export async function engineBreakdown(ctx: BenchContext): Promise<EngineRow[]> {
  const rows: EngineRow[] = [];
  for (const window of ['full', 'auto'] as const) {
    for (const decoding of ['greedy', 'beam 5'] as const) {
      const options: TranscribeOptions = { audioCtx: window === 'auto' ? 'auto' : undefined, greedy: decoding === 'greedy', beamSize: 5 };
      const samples: Array<Awaited<ReturnType<typeof ctx.model.transcribe>>> = [];
      let loopGapMs = 0;
      for (let i = 0; i < ctx.runs; i++) {
        const { value, gapMs } = await withLoopGap(() => ctx.model.transcribe(ctx.jfk.pcm, options));
        samples.push(value);
        loopGapMs = Math.max(loopGapMs, gapMs);
      }
      const pick = (f: (t: (typeof samples)[number]) => number): Summary => summarize(samples.map(f));
      const decodeMs = pick((t) => t.timings.decodeMs);
      const tokens = samples[0]?.timings.tokens ?? 0;
      rows.push({
        window,
        decoding,
        audioCtx: samples[0]?.audioCtx ?? 0,
        tokens,
        totalMs: pick((t) => t.timings.totalMs),
        queueMs: pick((t) => t.timings.queueMs),
        melMs: pick((t) => t.timings.melMs),
        encodeMs: pick((t) => t.timings.encodeMs),
        decodeMs,
        msPerToken: tokens > 0 ? decodeMs.p50 / tokens : Number.NaN,
        loopGapMs,
      });
      ctx.log(`engine ${window}/${decoding}: ${decodeMs.p50.toFixed(1)} ms decode`);
    }
  }
  return rows;
}
