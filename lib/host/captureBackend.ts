/**
 * Which way the microphone is recorded, chosen when a capture opens: PortAudio (the optional
 * dependency naudiodon2, built at install where a compiler is) or the sound server's own recorder
 * (parec, arecord), which a global install without a compiler still has.
 *
 * Default order (PRISM_CAPTURE overrides it, a comma-separated list): parec where the sound server
 * answers — its first block comes sooner and it idles cheaper than PortAudio through ALSA's pulse
 * plugin (bench/capture.mjs) — else PortAudio, then parec anyway (the server may start later), then
 * arecord.
 */
import { createRequire } from 'node:module';
import { WhisperError } from '../errors.js';
import { micFix, missingBackend } from './micAdvice.js';
import { PORTAUDIO } from './portAudioCapture.js';
import { findRecorders, RECORDER_SERVER, type Recorder, type RecorderTool } from './recorders.js';
import { listSoundSources, type SoundSource } from './soundSources.js';

export type CaptureBackendKind = 'portaudio' | RecorderTool;

export const BACKEND_KINDS: readonly CaptureBackendKind[] = ['parec', 'portaudio', 'arecord'];

export type BackendChoice =
  | { kind: 'portaudio'; naudiodon: string; why: string }
  /** sources: the sound server's, when pactl answered (parec only) */
  | { kind: RecorderTool; recorder: Recorder; sources?: SoundSource[]; why: string };

export interface Availability {
  /** naudiodon2's main file, when it resolves */
  naudiodon?: string;
  recorders: Recorder[];
  /** the sound server's sources; undefined when pactl is missing or no server answers */
  sources?: SoundSource[];
  /** the order asked for (PRISM_CAPTURE), else undefined: the default */
  order?: CaptureBackendKind[];
}

/** naudiodon2's main file, or undefined when it is not installed (an optional dependency whose build failed is removed). */
export function naudiodonPath(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve('naudiodon2');
  } catch {
    return undefined;
  }
}

/** PRISM_CAPTURE=parec,portaudio,…: the backends to consider, in order; BAD_ARGUMENT for a name not known. */
export function backendOrder(env: NodeJS.ProcessEnv = process.env): CaptureBackendKind[] | undefined {
  const raw = env.PRISM_CAPTURE?.trim();
  if (!raw || raw === 'auto') return undefined;
  const names = raw.split(',').map((s) => s.trim().toLowerCase());
  const bad = names.filter((n) => !BACKEND_KINDS.includes(n as CaptureBackendKind));
  if (bad.length) throw new WhisperError('BAD_ARGUMENT', `PRISM_CAPTURE: unknown capture backend ${bad.map((b) => `"${b}"`).join(', ')}; known: ${BACKEND_KINDS.join(', ')}, auto`);
  return names as CaptureBackendKind[];
}

/** naudiodon2's main file when it is installed and PRISM_CAPTURE does not leave PortAudio out. */
export function portAudioInstalled(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const order = backendOrder(env);
  return !order || order.includes('portaudio') ? naudiodonPath() : undefined;
}

/** What there is to record with; `only`: just that backend is looked for (PRISM_CAPTURE aside). */
export async function availability(o: { env?: NodeJS.ProcessEnv; naudiodon?: () => string | undefined; only?: CaptureBackendKind } = {}): Promise<Availability> {
  const env = o.env ?? process.env;
  const order = o.only ? undefined : backendOrder(env);
  const allowed = (k: CaptureBackendKind) => (o.only ? k === o.only : !order || order.includes(k));
  const recorders = findRecorders(env).filter((r) => allowed(r.tool));
  const naudiodon = allowed('portaudio') ? (o.naudiodon ?? naudiodonPath)() : undefined;
  const sources = recorders.some((r) => r.tool === 'parec') ? await listSoundSources(env) : undefined;
  return { naudiodon, recorders, sources, order };
}

/** The backend a capture opens with (`only` that one when given); MIC_UNAVAILABLE with the fix for this install when there is none. */
export function chooseBackend(a: Availability, only?: CaptureBackendKind): BackendChoice {
  if (only) {
    const choice = pick(a, [only]);
    if (choice) return choice;
    throw new WhisperError('MIC_UNAVAILABLE', missingBackend(only));
  }
  const choice = pick(a, a.order);
  if (choice) return choice;
  const asked = a.order ? ` (PRISM_CAPTURE=${a.order.join(',')})` : '';
  throw new WhisperError('MIC_UNAVAILABLE', `${micFix()}${asked}`);
}

function pick(a: Availability, asked: CaptureBackendKind[] | undefined): BackendChoice | undefined {
  // parec first while the sound server answers; else PortAudio, which may reach the hardware without one
  const order = asked ?? (a.sources ? ['parec', 'portaudio', 'arecord'] : ['portaudio', 'parec', 'arecord']);
  for (const k of order) {
    if (k === 'portaudio') {
      if (a.naudiodon) return { kind: 'portaudio', naudiodon: a.naudiodon, why: describeChoice('portaudio', a) };
      continue;
    }
    const r = a.recorders.find((x) => x.tool === k);
    if (r) return { kind: r.tool, recorder: r, sources: r.tool === 'parec' ? a.sources : undefined, why: describeChoice(r.tool, a) };
  }
  return undefined;
}

/** One line for doctor and devices: what records, and what else there is or is missing. */
function describeChoice(kind: CaptureBackendKind, a: Availability): string {
  const pa = a.naudiodon ? 'PortAudio (naudiodon2) also installed' : 'naudiodon2 (PortAudio) not installed';
  if (kind === 'portaudio') return `${PORTAUDIO}${a.recorders.length ? `; ${a.recorders.map((r) => r.tool).join(', ')} also on PATH` : ''}`;
  const server = kind === 'parec' && !a.sources ? 'PulseAudio (not answering now)' : RECORDER_SERVER[kind];
  return `${server} via ${kind}; ${pa}`;
}
