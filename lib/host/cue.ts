/**
 * The start/stop cue (on by default, `cue.enabled: false` silences it): a short, quiet rising tone
 * when recording starts and a falling one when it stops, and two equal pips when the text was copied
 * instead of typed (press Ctrl+V), played by the platform's own player
 * (paplay/aplay, afplay, PowerShell), never blocking.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WHISPER_RATE } from '../audio/resample.js';
import { encodeWav } from '../audio/wav.js';

function tone(hz: number, ms: number, volume: number): Float32Array {
  const n = Math.round((WHISPER_RATE * ms) / 1000);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = volume * Math.sin((2 * Math.PI * hz * i) / WHISPER_RATE) * Math.min(1, i / 80, (n - i) / 80); // no clicks
  return out;
}

function player(): ((file: string) => void) | undefined {
  const has = (cmd: string, arg: string) => spawnSync(cmd, [arg], { stdio: 'ignore' }).status === 0;
  const run = (cmd: string, args: string[]) => execFile(cmd, args, () => undefined);
  if (process.platform === 'darwin') return (f) => run('afplay', [f]);
  if (process.platform === 'win32') return (f) => run('powershell', ['-NoProfile', '-Command', `(New-Object Media.SoundPlayer '${f}').PlaySync()`]);
  if (has('paplay', '--version')) return (f) => run('paplay', [f]);
  if (has('aplay', '--version')) return (f) => run('aplay', ['-q', f]);
  return undefined;
}

export interface Cues {
  start(): void;
  stop(): void;
  /** the text is on the clipboard, not typed: two equal pips, unlike start and stop (the user presses Ctrl+V) */
  copied(): void;
}

/** Returns the cue player, or undefined (with the reason logged) when there is no way to play sound. */
export function cues(dir: string, log: (line: string) => void, volume = 0.08): Cues | undefined {
  const play = player();
  if (!play) {
    log('no sound player found (paplay, aplay): the start/stop cue is off');
    return undefined;
  }
  mkdirSync(dir, { recursive: true });
  const start = join(dir, 'cue-start.wav');
  const stop = join(dir, 'cue-stop.wav');
  writeFileSync(start, encodeWav(Float32Array.from([...tone(660, 50, volume), ...tone(880, 50, volume)])));
  writeFileSync(stop, encodeWav(Float32Array.from([...tone(880, 50, volume), ...tone(660, 50, volume)])));
  const copied = join(dir, 'cue-copied.wav');
  writeFileSync(copied, encodeWav(Float32Array.from([...tone(990, 60, volume), ...new Float32Array(Math.round(WHISPER_RATE * 0.06)), ...tone(990, 60, volume)])));
  return { start: () => play(start), stop: () => play(stop), copied: () => play(copied) };
}
