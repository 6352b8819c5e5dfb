import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inject } from 'vitest';
import type { Transcript } from '../lib/index.js';

const require = createRequire(import.meta.url);
export const root = join(import.meta.dirname, '..');
export const whisperDir = join(dirname(require.resolve('nodejs-whisper/package.json')), 'cpp', 'whisper.cpp');
/** 11 s of John F. Kennedy, 16 kHz mono 16-bit. */
export const JFK = join(whisperDir, 'bindings', 'go', 'samples', 'jfk.wav');
/** The planted scripts of the generated models (see test/setup/models.ts). */
export const SCRIPT_25 = 'and so my fellow americans ask not what your country can do for you ask what you can do for your country the quick brown';
export const SCRIPT_10 = 'and so my fellow americans ask not what your country';

export function models(): Record<'tiny' | 'tinyEn' | 'base', string> {
  return inject('models');
}

/** A tone of `seconds` at `hz`, 16 kHz. */
export function tone(seconds: number, hz = 440, amplitude = 0.3): Float32Array {
  const out = new Float32Array(Math.round(seconds * 16000));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * hz * i) / 16000);
  return out;
}

/**
 * Whether a process with this pid exists (signal 0 checks without sending anything) and has not
 * exited: a zombie (an orphan waiting for init to collect it, which can take seconds) has.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)?.[0] !== 'Z';
  } catch {
    return process.platform !== 'linux'; // no /proc here; on Linux, gone since the signal
  }
}

/** Whether the system ffmpeg is there (the audio-format tests make their files with it; .ci/run installs it). */
export function ffmpegInstalled(): boolean {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A clock that moves only when the test says so; its timers fire, in order, as advance() passes them. */
export class ManualClock {
  ms = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 0;

  now = (): number => this.ms;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++;
    this.timers.push({ at: this.ms + ms, fn, id });
    return id;
  };

  clearTimeout = (timer: unknown): void => {
    this.timers = this.timers.filter((t) => t.id !== timer);
  };

  /** Moves the time on by `ms`, firing each timer that comes due (earliest first). */
  advance(ms: number): void {
    const end = this.ms + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.ms = due.at;
      due.fn();
    }
    this.ms = end;
  }

  /** timers set and not yet fired or cleared */
  get pending(): number {
    return this.timers.length;
  }
}

/** What a stand-in engine answers: one short text, no segments (the API's tests need no model). */
export const STUB_TRANSCRIPT: Transcript = {
  text: 'hello',
  segments: [],
  language: 'en',
  timings: { queueMs: 0, melMs: 0, encodeMs: 0, decodeMs: 0, totalMs: 0, tokens: 0, windows: 0 },
  backend: 'stub',
  audioMs: 1000,
  audioCtx: 1500,
};

/** The API's health of a stand-in engine. */
export const stubHealth = () => ({ state: 'ready', backend: 'stub', model: '/models/tiny.bin' });

/** `prism-dictate ARGS` in a child process (the built CLI), with `env` over this process's; its exit code and output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin', 'prism-dictate.js'), ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** espeak-ng's WAV of `text` (22.05 kHz), or undefined where espeak-ng is not installed. */
export function espeak(text: string): Buffer | undefined {
  try {
    return execFileSync('espeak-ng', ['-v', 'en-us', '--stdout', text], { stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** The part of a clip above the near-silence its maker padded it with. */
export function audible(pcm: Float32Array): Float32Array {
  let a = 0;
  let b = pcm.length - 1;
  while (a < b && Math.abs(pcm[a] as number) < 1e-3) a++;
  while (b > a && Math.abs(pcm[b] as number) < 1e-3) b--;
  return pcm.slice(a, b + 1);
}

/**
 * The first line a started `serve` prints on stdout (its URL); rejects, quoting `stderr()`, if it exits
 * first. `stderr` reads what the caller has collected so far.
 */
export function servedUrl(child: import('node:child_process').ChildProcess, stderr: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr()}`)));
  });
}
