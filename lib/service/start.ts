/**
 * The long-lived service: a supervisor keeping the engine process warm, and the public socket every
 * client (the dictation host, `prism-dictate transcribe`, other local tools) talks to.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { EngineEvent, ServedEngine } from '../engine/contract.js';
import { WhisperError } from '../errors.js';
import { checkSocketDir, type ServicePaths, servicePaths } from './home.js';
import { ServiceServer } from './server.js';
import { Supervisor } from './supervisor.js';

export interface ServiceOptions {
  model: string;
  gpu: 'auto' | 'cuda' | 'cpu';
  states?: number;
  threads?: number;
  fallbackModel?: string;
  slowMs?: number;
  slowCount?: number;
  probePrimaryMs?: number;
  log?: (line: string) => void;
  onEvent?: (e: EngineEvent) => void;
}

export interface RunningService {
  paths: ServicePaths;
  supervisor: Supervisor;
  server: ServiceServer;
  stop(): Promise<void>;
}

/**
 * The pid file (`stop` falls back to it when the service does not answer). A service that cannot write
 * it (a full disk, a read-only home) does not run on without it: its socket is closed again.
 */
async function writePidFile(paths: ServicePaths, server: ServiceServer): Promise<void> {
  try {
    await writeFile(paths.pidFile, `${process.pid}\n`, { mode: 0o600 });
  } catch (e) {
    await server.close();
    await rm(paths.pidFile, { force: true }).catch(() => {});
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOSPC' ? 'the disk is full' : err.code === 'EROFS' ? 'the file system is read-only' : err.message;
    throw new WhisperError('SERVICE_UNAVAILABLE', `cannot write ${paths.pidFile}: ${why}; the service did not start (free some space in ${paths.home})`, { cause: e });
  }
}

/** The home, and the per-user socket folder when the sockets live there (refused if someone else made it). */
async function prepareFolders(paths: ServicePaths): Promise<void> {
  await mkdir(paths.home, { recursive: true, mode: 0o700 });
  await checkSocketDir(paths.socket, { create: true });
  await checkSocketDir(paths.engineSocket, { create: true });
}

export async function startService(o: ServiceOptions, paths = servicePaths()): Promise<RunningService> {
  await prepareFolders(paths);
  const supervisor = new Supervisor({
    model: o.model,
    gpu: o.gpu,
    states: o.states,
    threads: o.threads,
    fallbackModel: o.fallbackModel,
    slowMs: o.slowMs,
    slowCount: o.slowCount,
    probePrimaryMs: o.probePrimaryMs,
    onEvent: o.onEvent,
    socketPath: paths.engineSocket,
    log: o.log,
  });
  // Refuse to start next to a running service before loading anything.
  const server = await ServiceServer.listen({ socketPath: paths.socket, model: supervisor });
  await writePidFile(paths, server);
  try {
    await supervisor.start();
  } catch (e) {
    await server.close();
    await supervisor.stop();
    await rm(paths.pidFile, { force: true });
    throw e;
  }
  let stopping: Promise<void> | undefined;
  return {
    paths,
    supervisor,
    server,
    stop: () => {
      stopping ??= (async () => {
        await server.close();
        await supervisor.stop();
        await rm(paths.pidFile, { force: true });
      })();
      return stopping;
    },
  };
}

export interface RunningServer {
  paths: ServicePaths;
  server: ServiceServer;
  stop(): Promise<void>;
}

/** The socket and pid file over an engine that needs no supervisor (one that runs elsewhere). */
export async function serveEngine(engine: ServedEngine, paths = servicePaths()): Promise<RunningServer> {
  await prepareFolders(paths);
  const server = await ServiceServer.listen({ socketPath: paths.socket, model: engine });
  await writePidFile(paths, server);
  let stopping: Promise<void> | undefined;
  return {
    paths,
    server,
    stop: () => {
      stopping ??= (async () => {
        await server.close();
        await rm(paths.pidFile, { force: true });
      })();
      return stopping;
    },
  };
}
