/**
 * Decoding and resampling off the event loop: each job runs in a fresh worker_thread
 * (dist/audio/decodeWorker.js, found from the package root as the service's and capture's child
 * scripts are, under vitest too), so a long MP3 or a hostile FLAC cannot stall `serve`'s `/health`
 * or the daemon. At most one job per CPU runs at once (the rest wait their turn: memory stays
 * bounded by that many jobs); an AbortSignal terminates the worker, or takes a waiting job out of
 * the queue, and rejects with an AbortError. The worker's JavaScript heap is capped (resourceLimits);
 * its samples live in ArrayBuffers and WebAssembly memory, which those limits do not cover, so what it
 * holds is bounded by decodeToPcm's own budget.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AbortError, WhisperError, type WhisperErrorCode } from '../errors.js';
import { packageRoot } from '../native.js';
import { ffmpegTimeoutMs } from './ffmpeg.js';
import type { Pcm16k, WasmFormat } from './wasm.js';

export type Job =
  | { kind: 'decode'; bytes: Uint8Array; format: WasmFormat; name: string; maxSeconds: number }
  /** channels at `rate` → 16 kHz mono (a WAV at another rate); the channels are handed over (detached) */
  | { kind: 'resample'; channels: Float32Array[]; rate: number; name: string; maxSeconds: number };

export type Reply = ({ ok: true } & Pcm16k) | { ok: false; code: string; message: string; reason?: string };

const script = (): string => join(packageRoot, 'dist', 'audio', 'decodeWorker.js');

const slots = { free: Math.max(1, availableParallelism()), waiting: [] as Array<() => void> };

function acquire(signal: AbortSignal | undefined): Promise<void> {
  if (slots.free > 0) {
    slots.free--;
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const turn = (): void => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const abort = (): void => {
      slots.waiting.splice(slots.waiting.indexOf(turn), 1);
      reject(new AbortError(undefined, { cause: signal?.reason }));
    };
    slots.waiting.push(turn);
    signal?.addEventListener('abort', abort, { once: true });
  });
}

function release(): void {
  const next = slots.waiting.shift();
  if (next) next();
  else slots.free++;
}

/**
 * The job's input moved (not copied) to the worker: the caller's bytes are copied once first (they
 * stay the caller's); a resample job's channels are handed over (detached here).
 */
function transferable(job: Job): { data: Job; transfer: ArrayBuffer[] } {
  if (job.kind === 'decode') {
    const bytes = new Uint8Array(job.bytes); // a copy (Buffer#slice would be a view)
    return { data: { ...job, bytes }, transfer: [bytes.buffer] };
  }
  const channels = job.channels.map((c) => (c.byteOffset === 0 && c.byteLength === c.buffer.byteLength ? c : c.slice()));
  return { data: { ...job, channels }, transfer: channels.map((c) => c.buffer as ArrayBuffer) };
}

/**
 * Runs `job` in a worker; rejects with its WhisperError, an AbortError when `signal` fires, or
 * BAD_AUDIO (reason 'timeout') past `timeoutMs` of running (ffmpeg's limit: ≥ 20× real time).
 */
export async function runInWorker(job: Job, signal?: AbortSignal, timeoutMs = ffmpegTimeoutMs(job.maxSeconds)): Promise<Pcm16k> {
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  await acquire(signal);
  try {
    return await new Promise<Pcm16k>((resolve, reject) => {
      const { data, transfer } = transferable(job);
      const worker = new Worker(script(), {
        workerData: data,
        transferList: transfer,
        execArgv: [], // not the parent's (--input-type, loaders): this file is plain JavaScript
        resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32 },
      });
      let settled = false;
      const settle = (f: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        f();
      };
      const timer = setTimeout(() => {
        const took = `took longer than ${(timeoutMs / 1000).toFixed(0)} s to decode; stopped`;
        settle(() => reject(new WhisperError('BAD_AUDIO', `${job.name} ${took}`, { reason: 'timeout' })));
        void worker.terminate();
      }, timeoutMs);
      const abort = (): void => {
        settle(() => reject(new AbortError(undefined, { cause: signal?.reason })));
        void worker.terminate();
      };
      signal?.addEventListener('abort', abort, { once: true });
      worker.on('message', (r: Reply) => {
        if (r.ok) settle(() => resolve({ pcm: r.pcm, truncated: r.truncated, seconds: r.seconds }));
        else settle(() => reject(new WhisperError(r.code as WhisperErrorCode, r.message, r.reason ? { reason: r.reason } : undefined)));
      });
      worker.on('error', (e: Error & { code?: string }) => {
        const memory = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
        settle(() =>
          reject(
            memory
              ? new WhisperError('BAD_AUDIO', `${job.name} needs more memory to decode than is allowed`, { reason: 'too-big', cause: e })
              : new WhisperError('BAD_AUDIO', `${job.name} could not be decoded: ${e.message}`, { cause: e }),
          ),
        );
      });
      worker.on('exit', (code) => settle(() => reject(new WhisperError('BAD_AUDIO', `${job.name} could not be decoded (the decoder stopped, status ${code})`))));
    });
  } finally {
    release();
  }
}
