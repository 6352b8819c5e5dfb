/** Aggregate throughput (audio seconds per wall second) with N concurrent requests on N states: the curve. */
import { loadModel } from '../model.js';
import type { BenchContext } from './context.js';
import { type Summary, summarize } from './stats.js';

export interface ConcurrencyPoint {
  streams: number;
  audioSecondsPerSecond: number;
  speedup: number;
  latencyMs: Summary;
}

export async function concurrencyCurve(ctx: BenchContext, levels: number[]): Promise<ConcurrencyPoint[]> {
  const states = Math.max(...levels);
  const model = await loadModel(ctx.modelPath, { gpu: ctx.gpu, states, threads: ctx.threads });
  const perStream = Math.max(2, Math.ceil(ctx.runs / 2));
  const points: ConcurrencyPoint[] = [];
  try {
    for (const n of levels) {
      const latencies: number[] = [];
      const started = performance.now();
      await Promise.all(
        Array.from({ length: n }, async () => {
          for (let i = 0; i < perStream; i++) latencies.push((await model.transcribe(ctx.jfk.pcm, { audioCtx: 'auto' })).timings.totalMs);
        }),
      );
      const wallS = (performance.now() - started) / 1000;
      const rate = (n * perStream * ctx.jfk.seconds) / wallS;
      points.push({ streams: n, audioSecondsPerSecond: rate, speedup: rate / (points[0]?.audioSecondsPerSecond ?? rate), latencyMs: summarize(latencies) });
      ctx.log(`concurrency ${n}: ${rate.toFixed(1)} audio s/s`);
    }
  } finally {
    await model.close();
  }
  return points;
}
