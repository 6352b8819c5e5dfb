/**
 * The priority lane under load: 16 clients keep every state busy with batch uploads (as `serve` sends
 * them) while a dictation arrives now and then. Its queue time as an 'interactive' request against the
 * same request sent as 'batch' (first come first served behind the uploads), in one run.
 */
import { loadModel } from '../model.js';
import type { Priority } from '../scheduler.js';
import type { BenchContext } from './context.js';
import { type Summary, summarize } from './stats.js';

export interface PriorityResult {
  clients: number;
  states: number;
  uploadSeconds: number;
  /** queue time of a dictation sent as 'interactive' (the daemon) vs as 'batch' (no lane) */
  interactiveQueueMs: Summary;
  batchQueueMs: Summary;
}

const CLIENTS = 16;
const UPLOAD_SECONDS = 3;

export async function priorityLane(ctx: BenchContext, states: number): Promise<PriorityResult> {
  const model = await loadModel(ctx.modelPath, { gpu: ctx.gpu, states, threads: ctx.threads });
  const upload = ctx.jfk.pcm.subarray(0, UPLOAD_SECONDS * 16000);
  const dictation = ctx.jfk.pcm.subarray(0, 2 * 16000);
  const dictations = Math.max(3, Math.ceil(ctx.runs / 2));
  try {
    const measure = async (priority: Priority): Promise<number[]> => {
      let stop = false;
      const clients = Array.from({ length: CLIENTS }, async () => {
        while (!stop) await model.transcribe(upload, { audioCtx: 'auto', priority: 'batch' });
      });
      // let every client queue its first upload before the first dictation arrives
      await new Promise((r) => setImmediate(r));
      const queued: number[] = [];
      for (let i = 0; i < dictations; i++) queued.push((await model.transcribe(dictation, { audioCtx: 'auto', priority })).timings.queueMs);
      stop = true;
      await Promise.all(clients);
      return queued;
    };
    const interactive = summarize(await measure('interactive'));
    const batch = summarize(await measure('batch'));
    ctx.log(`priority: a dictation queues ${interactive.p50.toFixed(0)} ms as interactive, ${batch.p50.toFixed(0)} ms as batch`);
    return { clients: CLIENTS, states, uploadSeconds: UPLOAD_SECONDS, interactiveQueueMs: interactive, batchQueueMs: batch };
  } finally {
    await model.close();
  }
}
