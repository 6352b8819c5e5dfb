/**
 * The engine process: loads the model (so a native crash, an out-of-memory or a hung kernel takes
 * only this process down), serves it on a private socket, and tells its supervisor over the IPC
 * channel when it is ready or why it failed.
 *   node dist/service/engineProcess.js '<json EngineConfig>'
 */
import { closeSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import { WhisperError } from '../errors.js';
import { loadModel, type WhisperModel } from '../model.js';
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

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as EngineConfig;
  const started = performance.now();
  // The supervisor gone at any point — also while the model loads — ends this process: an engine is
  // never left running (and holding hundreds of MiB) under init.
  let stop: (() => Promise<void>) | undefined;
  process.on('disconnect', () => (stop ? void stop() : process.exit(0)));
  let model: WhisperModel;
  try {
    model = withGpuFaultHook(withHangHook(await loadModel(config.model, { gpu: config.gpu, states: config.states, threads: config.threads })));
  } catch (e) {
    const err = e as Error & { code?: string };
    await send({ type: 'failed', code: err.code ?? 'MODEL_LOAD_FAILED', message: err.message });
    process.exit(2);
  }
  const server = await ServiceServer.listen({ socketPath: config.socketPath, model, maxQueue: 1024 });
  const stopNow = async (): Promise<void> => {
    await server.close();
    await model.close();
    process.exit(0);
  };
  stop = stopNow;
  process.on('SIGTERM', () => void stopNow());
  if (process.send && !process.connected) await stopNow(); // it went while the server was being set up
  await send({
    type: 'ready',
    backend: model.info.backend,
    path: resolve(model.info.path), // absolute: clients compare it with the model they ask for from their own folders
    states: model.info.states,
    fallback: model.info.fallback,
    loadMs: performance.now() - started,
    pid: process.pid,
  });
}

void main();
