/**
 * PRISM_DICTATE_HOME: the one folder that holds a prism-dictate instance's socket, pid file, logs
 * (and later config and history), so that isolated instances can run side by side.
 *
 * A home too deep for a socket path has its sockets in a per-user folder instead ($XDG_RUNTIME_DIR/
 * prism-dictate, else <tmp>/prism-dictate-<uid>), made 0700 and checked on every use: a folder another
 * local user made there first (to take the service's place and receive the audio) is refused, never
 * used. Node cannot ask a Unix socket who is listening (no SO_PEERCRED), so the folder is the guarantee:
 * only its owner can create or replace a socket in a 0700 folder.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { WhisperError } from '../errors.js';

export function dictateHome(): string {
  if (process.env.PRISM_DICTATE_HOME) return process.env.PRISM_DICTATE_HOME;
  const home = homedir();
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'prism-dictate');
  if (process.platform === 'win32') return join(process.env.APPDATA || join(home, 'AppData', 'Roaming'), 'prism-dictate');
  return join(process.env.XDG_STATE_HOME || join(home, '.local', 'state'), 'prism-dictate');
}

/** The one way every command says that no daemon answers for `home`. */
export const NOT_RUNNING = 'prism-dictate is not running';
export function notRunning(home: string): string {
  return `${NOT_RUNNING} for ${home} (start it: prism-dictate start)`;
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

/** Socket paths shorter than this fit every platform's limit (104 bytes on macOS, 108 on Linux), with room for the engine's `-N` suffix. */
const SOCKET_PATH_MAX = 100;

/** The per-user folder for sockets whose path in the home would be too long. */
export function fallbackSocketDir(): string {
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime && isAbsolute(runtime) && existsSync(runtime)) {
    const dir = join(runtime, 'prism-dictate');
    if (Buffer.byteLength(join(dir, `${'0'.repeat(12)}-service.sock`)) < SOCKET_PATH_MAX) return dir;
  }
  return join(tmpdir(), `prism-dictate-${process.getuid?.() ?? 'user'}`);
}

/** Unix socket paths are limited to ~104 bytes: a deep home gets its sockets in the per-user fallback folder. */
function socketPath(home: string, name: string): string {
  const id = createHash('sha1').update(home).digest('hex').slice(0, 12);
  if (process.platform === 'win32') return `\\\\.\\pipe\\prism-dictate-${id}-${name}`;
  const direct = join(home, `${name}.sock`);
  if (Buffer.byteLength(direct) < SOCKET_PATH_MAX) return direct;
  return join(fallbackSocketDir(), `${id}-${name}.sock`);
}

/** Why the fallback folder `dir` must not be used (undefined: it is ours alone). */
function unsafeBecause(st: { isSymbolicLink(): boolean; isDirectory(): boolean; uid: number; mode: number }, uid: number): string | undefined {
  if (st.isSymbolicLink()) return 'it is a symbolic link';
  if (!st.isDirectory()) return 'it is not a folder';
  if (st.uid !== uid) return `it belongs to uid ${st.uid}, not to you (uid ${uid})`;
  if ((st.mode & 0o777) !== 0o700) return `its mode is ${(st.mode & 0o777).toString(8).padStart(4, '0')}, not 0700 (others could put a socket there)`;
  return undefined;
}

/**
 * Checks the folder of a socket in the fallback folder (nothing to do for a socket in the home, or on
 * Windows): `create` makes it 0700 when missing (the service); either way an existing one must be a
 * real folder of ours with mode 0700, else SERVICE_UNAVAILABLE says why and what to do.
 * Returns false when it is not there (no service can be listening in it).
 */
export async function checkSocketDir(socketPath: string, o: { create: boolean }): Promise<boolean> {
  const uid = process.getuid?.();
  if (process.platform === 'win32' || uid === undefined) return true;
  const dir = dirname(socketPath);
  if (dir !== fallbackSocketDir()) return true;
  if (o.create) {
    await mkdir(dir, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw new WhisperError('SERVICE_UNAVAILABLE', `cannot make the socket folder ${dir}: ${e.message}`, { cause: e });
    });
  }
  const st = await lstat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw new WhisperError('SERVICE_UNAVAILABLE', `cannot check the socket folder ${dir}: ${e.message}`, { cause: e });
  });
  if (!st) return false;
  const why = unsafeBecause(st, uid);
  if (why) {
    throw new WhisperError(
      'SERVICE_UNAVAILABLE',
      `refusing the socket folder ${dir}: ${why}. Someone else may have made it to stand in for the service and receive what is sent to it; ` +
        `have it removed (by its owner or an administrator), or give prism-dictate a private folder for its socket: set XDG_RUNTIME_DIR, or a PRISM_DICTATE_HOME shorter than ${SOCKET_PATH_MAX - 13} bytes`,
      { reason: 'unsafe-socket' },
    );
  }
  return true;
}

/** A socket, or its folder, that is not the user's own: said as it is, never as "not running". */
export const isUnsafeSocket = (e: unknown): boolean => e instanceof WhisperError && e.reason === 'unsafe-socket';

/**
 * Before a client connects: the socket's folder is checked (checkSocketDir), and the socket itself must
 * belong to us, so a service of another user is never sent a byte. Resolves false when no socket is there.
 */
export async function checkSocketOwner(socketPath: string): Promise<boolean> {
  const uid = process.getuid?.();
  if (process.platform === 'win32' || uid === undefined) return true;
  if (!(await checkSocketDir(socketPath, { create: false }))) return false;
  const st = await lstat(socketPath).catch(() => undefined);
  if (!st) return false;
  if (st.uid !== uid) {
    throw new WhisperError(
      'SERVICE_UNAVAILABLE',
      `refusing to connect to ${socketPath}: it belongs to uid ${st.uid}, not to you (uid ${uid}); it is not your prism-dictate service`,
      { reason: 'unsafe-socket' },
    );
  }
  return true;
}

export function servicePaths(home = dictateHome()): ServicePaths {
  return { home, socket: socketPath(home, 'service'), engineSocket: socketPath(home, 'engine'), pidFile: join(home, 'service.pid'), log: join(home, 'service.log') };
}
