/**
 * PRISM_DICTATE_HOME: the one folder that holds a prism-dictate instance's socket, pid file, logs
 * (and later config and history), so that isolated instances can run side by side.
 */
import { createHash } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export function dictateHome(): string {
  if (process.env.PRISM_DICTATE_HOME) return process.env.PRISM_DICTATE_HOME;
  const home = homedir();
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'prism-dictate');
  if (process.platform === 'win32') return join(process.env.APPDATA || join(home, 'AppData', 'Roaming'), 'prism-dictate');
  return join(process.env.XDG_STATE_HOME || join(home, '.local', 'state'), 'prism-dictate');
}

export interface ServicePaths {
  home: string;
  /** where clients connect */
  socket: string;
  /** the engine process's private socket */
  engineSocket: string;
  pidFile: string;
  log: string;
}

/** Unix socket paths are limited to ~104 bytes: a deep home gets its sockets in the temp folder. */
function socketPath(home: string, name: string): string {
  if (process.platform === 'win32') return `\\\\.\\pipe\\prism-dictate-${createHash('sha1').update(home).digest('hex').slice(0, 12)}-${name}`;
  const direct = join(home, `${name}.sock`);
  if (Buffer.byteLength(direct) < 100) return direct;
  return join(tmpdir(), `prism-dictate-${createHash('sha1').update(home).digest('hex').slice(0, 12)}-${name}.sock`);
}

export function servicePaths(home = dictateHome()): ServicePaths {
  return { home, socket: socketPath(home, 'service'), engineSocket: socketPath(home, 'engine'), pidFile: join(home, 'service.pid'), log: join(home, 'service.log') };
}
