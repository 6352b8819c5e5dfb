/**
 * A prism-dictate daemon for the end-to-end tests: `prism-dictate start` with the tiny test model on
 * the CPU, in its own home folder on the headless desktop, ready once it says "dictation ready".
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { models, root } from '../helpers.js';
import type { Desktop } from './desktop.js';

export interface Daemon {
  home: string;
  child: ChildProcess;
  log: string[];
  /** runs `prism-dictate ARGS` against this daemon */
  cli(...args: string[]): ReturnType<typeof spawnSync>;
  /** Ctrl+C; resolves with the exit code (-1 when it hung and was killed); removes the home unless kept */
  stop(o?: { keepHome?: boolean }): Promise<number | null>;
}

/** A history record, as `prism-dictate history --json` prints it. */
export interface Rec {
  id: string;
  state: string;
  seconds?: number;
  text?: string;
  audio?: string;
  timings?: Record<string, number>;
  settings?: Record<string, unknown>;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const bin = join(root, 'bin', 'prism-dictate.js');

/** Why an optional package the test needs is missing, or undefined. */
export function moduleMissing(name: string): string | undefined {
  try {
    createRequire(import.meta.url).resolve(name);
    return undefined;
  } catch {
    return `${name} is not installed`;
  }
}

/**
 * Starts the daemon on `desktop`; with the desktop's user (a Wayland session whose compositor runs
 * unprivileged), as that user, its home owned by it, and so is every `cli()` call.
 */
export async function startDaemon(desktop: Pick<Desktop, 'env' | 'user'>, config: Record<string, unknown>, ...flags: string[]): Promise<Daemon> {
  const home = await mkdtemp(join(tmpdir(), 'prism-e2e-home-'));
  await writeFile(join(home, 'config.json'), JSON.stringify({ model: models().tiny, gpu: 'cpu', ...config }));
  const user = desktop.user;
  if (user) for (const p of [home, join(home, 'config.json')]) await chown(p, user.uid, user.gid);
  const env = { ...desktop.env, PRISM_DICTATE_HOME: home, PRISM_MODEL: '' };
  /** node with args, as the desktop's user when it has one (setpriv execs: the pid is node's) */
  const node = (args: string[]): [string, string[]] =>
    user ? ['setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(...node([bin, 'start', '--model', models().tiny, '--gpu', 'cpu', '--states', '1', ...flags]), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      log.push(...d.split('\n').filter(Boolean));
      if (d.includes('dictation ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the daemon exited (${code}) while starting:\n${log.join('\n')}`)));
  });
  await Promise.race([ready, sleep(90_000).then(() => Promise.reject(new Error(`not ready in 90 s:\n${log.join('\n')}`)))]);
  return {
    home,
    child,
    log,
    cli: (...args) => spawnSync(...node([bin, ...args]), { env, encoding: 'utf8', timeout: 60_000 }),
    stop: async (o = {}) => {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      const code = await Promise.race([exited, sleep(15_000).then(() => 'hung' as const)]);
      if (code === 'hung') child.kill('SIGKILL');
      if (!o.keepHome) await rm(home, { recursive: true, force: true });
      return code === 'hung' ? -1 : code;
    },
  };
}
