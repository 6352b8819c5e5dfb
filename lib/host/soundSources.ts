/**
 * The sound server's inputs by name. On PulseAudio and PipeWire (pipewire-pulse) PortAudio sees only
 * ALSA's `pulse`/`default` devices, while people know their microphone as the sound server's source
 * ("USB Headset Mic", alsa_input.usb-…). `pactl` lists the sources; the capture opens the `pulse` device
 * with PULSE_SOURCE set to the chosen one, which the ALSA pulse plugin (libpulse) honours.
 */
import { execFile } from 'node:child_process';

export interface SoundSource {
  /** the sound server's name, e.g. alsa_input.usb-046d_HD_Webcam-02.mono-fallback */
  name: string;
  /** what the desktop shows, e.g. "HD Webcam Mono" */
  description: string;
  isDefault: boolean;
  /** a monitor of an output (what is played), not a microphone */
  monitor: boolean;
}

function pactl(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('pactl', args, { env, timeout: 3000, maxBuffer: 8 * 1024 * 1024 }, (e, stdout) => (e ? reject(e) : resolve(stdout)));
  });
}

/** The sound server's sources, or undefined when there is no pactl or no server answering. */
export async function listSoundSources(env: NodeJS.ProcessEnv = process.env): Promise<SoundSource[] | undefined> {
  try {
    const [json, fallback] = await Promise.all([pactl(['-f', 'json', 'list', 'sources'], env), pactl(['get-default-source'], env).catch(() => '')]);
    const defaultName = fallback.trim();
    const raw = JSON.parse(json) as Array<{ name?: string; description?: string; properties?: Record<string, string> }>;
    return raw
      .filter((s) => typeof s.name === 'string')
      .map((s) => ({
        name: s.name as string,
        description: s.description ?? s.properties?.['device.description'] ?? (s.name as string),
        isDefault: s.name === defaultName,
        monitor: s.properties?.['device.class'] === 'monitor' || (s.name as string).endsWith('.monitor'),
      }));
  } catch {
    return undefined;
  }
}

/**
 * The source `want` names: its exact name, else the first microphone (then monitor) whose name or
 * description contains it, ignoring case.
 */
export function matchSource(sources: SoundSource[], want: string): SoundSource | undefined {
  const w = want.toLowerCase();
  const exact = sources.find((s) => s.name.toLowerCase() === w || s.description.toLowerCase() === w);
  if (exact) return exact;
  const has = (s: SoundSource): boolean => s.name.toLowerCase().includes(w) || s.description.toLowerCase().includes(w);
  return sources.find((s) => !s.monitor && has(s)) ?? sources.find((s) => s.monitor && has(s));
}

export function describeSource(s: SoundSource): string {
  return `"${s.description}" (${s.name}${s.isDefault ? ', default' : ''}${s.monitor ? ', monitor of an output' : ''})`;
}
