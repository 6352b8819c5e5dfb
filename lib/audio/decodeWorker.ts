/**
 * The worker_thread of worker.ts: one job (workerData), one reply, then it ends. The decoders write
 * what they dislike in a file to console.error; hostile bytes must not fill the server's log, so that
 * is silenced here (what matters comes back in the reply).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { WhisperError } from '../errors.js';
import { decodeToPcm, Sink } from './wasm.js';
import type { Job, Reply } from './worker.js';

console.error = () => undefined;
console.warn = () => undefined;

async function run(job: Job): Promise<Reply> {
  try {
    if (job.kind === 'decode') return { ok: true, ...(await decodeToPcm(job.bytes, job.format, job.name, job.maxSeconds)) };
    const sink = new Sink(job.name, job.maxSeconds, false);
    sink.take({ channelData: job.channels, samplesDecoded: job.channels[0]?.length ?? 0, sampleRate: job.rate, errors: [] });
    return { ok: true, pcm: sink.finish(), truncated: false, seconds: sink.seconds };
  } catch (e) {
    if (e instanceof WhisperError) return { ok: false, code: e.code, message: e.message, ...(e.reason ? { reason: e.reason } : {}) };
    return { ok: false, code: 'BAD_AUDIO', message: `${job.name} could not be decoded: ${(e as Error)?.message ?? String(e)}` };
  }
}

const reply = await run(workerData as Job);
parentPort?.postMessage(reply, reply.ok ? [reply.pcm.buffer as ArrayBuffer] : []);
