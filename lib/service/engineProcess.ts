/**
 * The engine process: loads the model (so a native crash, an out-of-memory or a hung kernel takes
 * only this process down), serves it on a private socket, and tells its supervisor over the IPC
 * channel when it is ready or why it failed.
 *   node dist/service/engineProcess.js '<json EngineConfig>'
 */
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { WhisperError } from '../errors.js';
import { loadModel, type WhisperModel } from '../model.js';
import { endOrphan, watchParent } from './orphan.js';
import { ServiceServer } from './server.js';

export interface EngineConfig {
  model: string;
  gpu: 'auto' | 'cuda' | 'cpu';
  states: number;
  threads?: number;
  socketPath: string;
}

export type EngineMessage =
  | { type: 'ready'; backend: string; path: string; states: number; fallback?: string; loadMs: number; pid: number }
  | { type: 'failed'; code: string; message: string };

function send(m: EngineMessage): Promise<void> {
  return new Promise((resolve) => (process.send ? process.send(m, () => resolve()) : resolve()));
}

/**
 * Test hook: with PRISM_TEST_HANG_MS and PRISM_TEST_HANG_MARKER set, the first engine process to
 * create the marker file blocks its thread for that long on its first transcription, as a hung kernel
 * would; the engines started after it behave.
 */
function withHangHook(model: WhisperModel): WhisperModel {
  const ms = Number(process.env.PRISM_TEST_HANG_MS ?? 0);
  const marker = process.env.PRISM_TEST_HANG_MARKER;
  if (!ms || !marker) return model;
  const transcribe = model.transcribe.bind(model);
  model.transcribe = (pcm, options) => {
    try {
      closeSync(openSync(marker, 'wx'));
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    } catch {
      // another engine hung already
    }
    return transcribe(pcm, options);
  };
  return model;
}

/**
 * Test hook: with PRISM_TEST_GPU_FAULT_MARKER set, the first engine process to create the marker file
 * fails its first transcription the way a CUDA fault is reported (the engine stays up but its GPU
 * context cannot be trusted); the engines started after it behave.
 */
function withGpuFaultHook(model: WhisperModel): WhisperModel {
  const marker = process.env.PRISM_TEST_GPU_FAULT_MARKER;
  if (!marker) return model;
  const transcribe = model.transcribe.bind(model);
  model.transcribe = (pcm, options) => {
    try {
      closeSync(openSync(marker, 'wx'));
    } catch {
      return transcribe(pcm, options); // another engine had the fault
    }
    return Promise.reject(new WhisperError('TRANSCRIBE_FAILED', 'CUDA error: an illegal memory access was encountered (test hook)'));
  };
  return model;
}

/**
 * Test hook: with PRISM_TEST_ENGINE_LOG set, every transcription that ends writes a line to that file
 * ("done", or "failed CODE"), and so does the end of an orphaned engine (orphan.ts): what a test reads
 * to know which calls ran to their end.
 */
function withCallLog(model: WhisperModel, logFile: string | undefined): WhisperModel {
  if (!logFile) return model;
  const transcribe = model.transcribe.bind(model);
  model.transcribe = async (pcm, options) => {
    try {
      const t = await transcribe(pcm, options);
      appendFileSync(logFile, 'done\n');
      return t;
    } catch (e) {
      appendFileSync(logFile, `failed ${(e as { code?: string }).code ?? (e as Error).name}\n`);
      throw e;
    }
  };
  return model;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as EngineConfig;
  const started = performance.now();
  // The supervisor gone at any point — while the model loads, while calls run or wait — ends this
  // process at once: an engine is never left running (and holding hundreds of MiB) under init, and
  // never works on answers nobody can receive. The main thread hears 'disconnect' when it is free; the
  // watch thread sees the parent pid change when it is not (orphan.ts).
  const orphan = { socketPath: config.socketPath, logFile: process.env.PRISM_TEST_ENGINE_LOG || undefined };
  let model: WhisperModel | undefined;
  process.on('disconnect', () => endOrphan(orphan, `the supervisor disconnected (${model ? `${model.busy} running, ${model.queued} queued` : 'while loading'})`));
  // gone before the listener was there (the channel closed while this process was starting): no event comes
  if (process.send && !process.connected) endOrphan(orphan, 'the supervisor went before this engine started');
  try {
    model = withCallLog(withGpuFaultHook(withHangHook(await loadModel(config.model, { gpu: config.gpu, states: config.states, threads: config.threads }))), orphan.logFile);
  } catch (e) {
    const err = e as Error & { code?: string };
    await send({ type: 'failed', code: err.code ?? 'MODEL_LOAD_FAILED', message: err.message });
    process.exit(2);
  }
  const loaded = model;
  const server = await ServiceServer.listen({ socketPath: config.socketPath, model: loaded, maxQueue: 1024 });
  // SIGTERM (the supervisor stops or replaces this engine): running calls end, then it goes
  process.on('SIGTERM', async () => {
    await server.close();
    await loaded.close();
    process.exit(0);
  });
  if (process.send && !process.connected) endOrphan(orphan, 'the supervisor went while the server was being set up');
  await send({
    type: 'ready',
    backend: loaded.info.backend,
    path: resolve(loaded.info.path), // absolute: clients compare it with the model they ask for from their own folders
    states: loaded.info.states,
    fallback: loaded.info.fallback,
    loadMs: performance.now() - started,
    pid: process.pid,
  });
  // from now on calls come, and with them long synchronous steps (while loading, the main thread is
  // free to hear 'disconnect'); started after 'ready', the thread's own start costs the load nothing
  if (process.send) watchParent(orphan);
}

void main();
