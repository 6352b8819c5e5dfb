/**
 * The priority lane under load: 16 HTTP clients keep every state busy with uploads to `serve` (the
 * OpenAI-compatible API, which sends them as 'batch') while a dictation arrives now and then. Its queue
 * time as an 'interactive' request (as the daemon sends it) against the same request sent as 'batch'
 * (first come first served behind the uploads), in one run.
 */

import { WHISPER_RATE } from '../audio/resample.js';
import { encodeWav } from '../audio/wav.js';
import { loadModel } from '../model.js';
import type { Priority } from '../scheduler.js';
import { listenApi } from '../web/api.js';
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
  const api = await listenApi({ engine: model, health: () => ({ state: 'ready', backend: model.info.backend, model: model.info.path }), port: 0 });
  const upload = new Blob([new Uint8Array(encodeWav(ctx.jfk.pcm.subarray(0, UPLOAD_SECONDS * WHISPER_RATE)))], { type: 'audio/wav' });
  const dictation = ctx.jfk.pcm.subarray(0, 2 * WHISPER_RATE);
  const dictations = Math.max(3, Math.ceil(ctx.runs / 2));
  try {
    const measure = async (priority: Priority): Promise<number[]> => {
      let stop = false;
      const clients = Array.from({ length: CLIENTS }, async () => {
        while (!stop) {
          const form = new FormData();
          form.append('file', upload, 'upload.wav');
          const r = await fetch(`${api.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
          await r.arrayBuffer();
          if (!r.ok) throw new Error(`serve answered ${r.status}`);
        }
      });
      // the first dictation once every client's upload is queued
      const deadline = performance.now() + 30_000;
      while (model.queued < CLIENTS - states && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
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
    await api.close();
    await model.close();
  }
}
