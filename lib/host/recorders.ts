/**
 * The sound server's own recording clients, found on PATH: parec (pulseaudio-utils; PulseAudio, and
 * PipeWire through pipewire-pulse) and arecord (alsa-utils; ALSA's default device, which on a desktop
 * is the sound server again). Each writes raw 16-bit mono at the asked rate to stdout; the server
 * resamples, so no native code of ours is involved.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export type RecorderTool = 'parec' | 'arecord';

export interface Recorder {
  tool: RecorderTool;
  /** its absolute path */
  path: string;
}

/** What each tool records from, for messages: "PulseAudio 'vmic' via parec". */
export const RECORDER_SERVER: Record<RecorderTool, string> = { parec: 'PulseAudio', arecord: 'ALSA' };

/** Preference order: parec reaches sources by name and starts fastest; arecord only ALSA's devices. */
const ORDER: RecorderTool[] = ['parec', 'arecord'];

export function onPath(cmd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

/** The recorders on PATH, best first. */
export function findRecorders(env: NodeJS.ProcessEnv = process.env): Recorder[] {
  return ORDER.flatMap((tool) => {
    const path = process.platform === 'linux' ? onPath(tool, env) : undefined;
    return path ? [{ tool, path }] : [];
  });
}

export interface RecordArgs {
  rate: number;
  /** how much audio the server gathers before it wakes the recorder: the block size */
  latencyMs: number;
  /** a PulseAudio source name (parec) or an ALSA device name (arecord); absent: the default input */
  device?: string;
}

/** The command line that records 16-bit mono at `rate` to stdout. */
export function recorderArgs(tool: RecorderTool, a: RecordArgs): string[] {
  if (tool === 'parec') {
    return [
      '--raw',
      '--format=s16le',
      `--rate=${a.rate}`,
      '--channels=1',
      `--latency-msec=${a.latencyMs}`,
      '--client-name=prism-dictate',
      '--stream-name=microphone',
      ...(a.device ? [`--device=${a.device}`] : []),
    ];
  }
  // arecord: ALSA periods of latencyMs, a buffer of a few of them; '-' is stdout
  const period = a.latencyMs * 1000;
  return [
    '-q',
    '-t',
    'raw',
    '-f',
    'S16_LE',
    '-c',
    '1',
    '-r',
    String(a.rate),
    `--period-time=${period}`,
    `--buffer-time=${Math.max(4 * period, 200_000)}`,
    ...(a.device ? ['-D', a.device] : []),
    '-',
  ];
}
