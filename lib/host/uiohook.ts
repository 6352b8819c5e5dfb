/**
 * uiohook-napi, loaded only when needed and only where it can work: with no X display it ends the
 * process on load, and without the X RECORD extension its start() never returns — so on Linux a
 * child process tries it first, with a deadline, before this process touches it.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { WhisperError } from '../errors.js';

export type Uiohook = typeof import('uiohook-napi');

let loaded: Uiohook | undefined;
let probed: string | undefined | null = null;

/** Why global key hooks cannot work here, or undefined when they can (probed once per process). */
export function hookProblem(): string | undefined {
  if (probed !== null) return probed;
  probed = probe();
  return probed;
}

function probe(): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    require.resolve('uiohook-napi');
  } catch {
    return 'the optional package uiohook-napi is not installed (npm install uiohook-napi)';
  }
  if (process.platform !== 'linux') return undefined;
  if (!process.env.DISPLAY)
    return process.env.WAYLAND_DISPLAY
      ? 'Wayland has no global key hooks: bind prism-dictate toggle (or begin/end) to a key in your desktop settings'
      : 'no X display (DISPLAY is not set)';
  const script = "const { uIOhook } = require('uiohook-napi'); uIOhook.start(); uIOhook.stop(); process.stdout.write('ok');";
  const r = spawnSync(process.execPath, ['-e', script], { cwd: import.meta.dirname, encoding: 'utf8', timeout: 5000, env: process.env });
  if (r.stdout === 'ok') return undefined;
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT')
    return `the X server on ${process.env.DISPLAY} has no RECORD extension, which global hotkeys need (Xvfb: +extension RECORD)`;
  return `global key hooks failed on ${process.env.DISPLAY}: ${(r.stderr || `exit ${r.status}`).trim().split('\n').at(-1)}`;
}

export function uiohook(): Uiohook {
  if (loaded) return loaded;
  const problem = hookProblem();
  if (problem) throw new WhisperError('HOTKEY_UNAVAILABLE', problem);
  loaded = createRequire(import.meta.url)('uiohook-napi') as Uiohook;
  return loaded;
}
