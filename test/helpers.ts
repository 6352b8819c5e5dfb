import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { inject } from 'vitest';

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

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
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
