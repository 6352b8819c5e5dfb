/**
 * Which microphone: the input devices PortAudio lists, the one a config names (by id, by name, or on
 * PulseAudio/PipeWire a sound server source by name or description), and errors that name what exists.
 */
import { WhisperError } from '../errors.js';
import { describeSource, listSoundSources, matchSource, type SoundSource } from './soundSources.js';

export interface InputDevice {
  id: number;
  name: string;
  hostApi?: string;
  maxInputChannels: number;
  defaultSampleRate: number;
  isDefault: boolean;
}

export const FIX_HINT =
  'Check that a microphone is connected and the sound server (PulseAudio or PipeWire) is running; on Linux PortAudio ' +
  "reaches it through ALSA's pulse/default device (package libasound2-plugins), and a daemon started outside the desktop " +
  'session needs PULSE_SERVER or XDG_RUNTIME_DIR pointing at it.';

/**
 * The input `want` names: a PortAudio device by id or exact name; else, on PulseAudio/PipeWire, a sound
 * server source by name or description (recorded through ALSA's pulse device with PULSE_SOURCE); else a
 * PortAudio device whose name contains it.
 */
export async function chooseInput(devices: InputDevice[], want: number | string | undefined, sources?: SoundSource[]): Promise<{ device: InputDevice; source?: SoundSource }> {
  if (typeof want !== 'string' || devices.some((d) => d.maxInputChannels > 0 && d.name.toLowerCase() === want.toLowerCase())) return { device: pickDevice(devices, want) };
  const all = sources ?? (await listSoundSources());
  const source = all ? matchSource(all, want) : undefined;
  const pulse = devices.find((d) => d.maxInputChannels > 0 && d.name === 'pulse') ?? devices.find((d) => d.maxInputChannels > 0 && d.name === 'default');
  if (source && pulse) return { device: { ...pulse, name: `${source.description} (${source.name}, through ${pulse.name})` }, source };
  try {
    return { device: pickDevice(devices, want) };
  } catch (e) {
    if (!all?.length || !WhisperError.is(e, 'MIC_UNAVAILABLE')) throw e;
    throw new WhisperError(
      'MIC_UNAVAILABLE',
      `${e.message}; the sound server's inputs are: ${all
        .filter((s) => !s.monitor)
        .map(describeSource)
        .join(', ')}`,
    );
  }
}

function describe(d: InputDevice): string {
  return `#${d.id} "${d.name}" (${d.hostApi ?? '?'}, ${d.maxInputChannels} in, ${d.defaultSampleRate} Hz${d.isDefault ? ', default' : ''})`;
}

/** The device asked for, among those with input channels; MIC_UNAVAILABLE naming what exists otherwise. */
export function pickDevice(devices: InputDevice[], want: number | string | undefined): InputDevice {
  const inputs = devices.filter((d) => d.maxInputChannels > 0);
  if (inputs.length === 0) {
    const others = devices.length ? ` (only output devices: ${devices.map(describe).join(', ')})` : '';
    throw new WhisperError('MIC_UNAVAILABLE', `No audio input device found${others}. ${FIX_HINT}`);
  }
  let found: InputDevice | undefined;
  if (want === undefined) found = inputs.find((d) => d.isDefault) ?? inputs[0];
  else if (typeof want === 'number') found = inputs.find((d) => d.id === want);
  else {
    const w = want.toLowerCase();
    found = inputs.find((d) => d.name.toLowerCase() === w) ?? inputs.find((d) => d.name.toLowerCase().includes(w));
  }
  if (!found) {
    const what = typeof want === 'number' ? `with id ${want}` : `matching "${want}"`;
    throw new WhisperError('MIC_UNAVAILABLE', `No input device ${what}; the input devices are: ${inputs.map(describe).join(', ')}`);
  }
  return found;
}
