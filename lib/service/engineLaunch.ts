/**
 * Starting one engine process: fork it with its config, wait for its 'ready' message (the model loaded
 * and warm) or its 'failed' one, and connect to its private socket, within a deadline. The supervisor
 * decides when, which model and which GPU mode; this only launches, and leaves nothing behind when the
 * launch fails (the child is killed).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { WhisperError } from '../errors.js';
import { packageRoot } from '../native.js';
import { ServiceClient } from './client.js';
import type { EngineConfig, EngineMessage } from './engineProcess.js';

export interface LaunchedEngine {
  child: ChildProcess;
  client: ServiceClient;
  /** each engine gets its own socket, so that a replacement can start while the old one still runs */
  socketPath: string;
  ready: Extract<EngineMessage, { type: 'ready' }>;
}

export interface LaunchOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** true once the service is stopping: an engine that becomes ready then is stopped again */
  stopping: () => boolean;
}

export function launchEngine(config: EngineConfig, o: LaunchOptions): Promise<LaunchedEngine> {
  const child = fork(join(packageRoot, 'dist', 'service', 'engineProcess.js'), [JSON.stringify(config)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: o.env ?? process.env,
  });
  return new Promise<LaunchedEngine>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new WhisperError('SERVICE_UNAVAILABLE', `the engine did not become ready within ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    const early = (code: number | null, signal: string | null): void => {
      clearTimeout(timer);
      reject(new WhisperError('SERVICE_UNAVAILABLE', `the engine exited while starting (${signal ?? `code ${code}`})`));
    };
    child.once('exit', early);
    child.once('message', async (m: EngineMessage) => {
      clearTimeout(timer);
      if (m.type === 'failed') {
        child.off('exit', early);
        reject(new WhisperError(m.code as never, m.message));
        return;
      }
      try {
        const client = await ServiceClient.connect(config.socketPath);
        child.off('exit', early);
        if (o.stopping()) {
          client.close();
          child.kill('SIGTERM');
          reject(new WhisperError('SERVICE_UNAVAILABLE', 'the service is stopping'));
          return;
        }
        resolve({ child, client, socketPath: config.socketPath, ready: m });
      } catch (e) {
        child.kill('SIGKILL');
        reject(e);
      }
    });
  });
}
