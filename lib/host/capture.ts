/**
 * Microphone capture: 16 kHz mono Float32 blocks of blockMs (default 20) while an utterance records
 * (live) and in ~1 s batches otherwise, from one of two backends chosen when the capture opens
 * (captureBackend.ts): PortAudio through the optional dependency naudiodon2 (portAudioCapture.ts), or
 * the sound server's own recorder, parec or arecord, which needs no compiler at install
 * (recorderCapture.ts). Both run in child processes, deliver the same blocks, report a stream that
 * died as MIC_LOST, and take the device by the same names where they can.
 *
 * openCapture resolves only once the first block has arrived. The children get process.env as it is
 * when openCapture is called: PULSE_SERVER, XDG_RUNTIME_DIR etc. decide which sound server they reach.
 */
import { WhisperError } from '../errors.js';
import { availability, type BackendChoice, type CaptureBackendKind, chooseBackend } from './captureBackend.js';
import type { InputDevice } from './devices.js';
import { listPortAudioInputs, openPortAudioCapture } from './portAudioCapture.js';
import { openRecorderCapture, recorderInput } from './recorderCapture.js';

export interface CaptureOptions {
  /**
   * Device id (PortAudio), or a (case-insensitive) substring of its name, or a sound server source by
   * name or description; default: the default input.
   */
  device?: number | string;
  /** How to record; default: chosen by availability (captureBackend.ts; PRISM_CAPTURE overrides it). */
  backend?: CaptureBackendKind;
  /** Block length in ms while an utterance records (default 20). */
  blockMs?: number;
  /**
   * Period of the stream that runs while idle, in ms (default 250). On ALSA (PulseAudio, PipeWire) a
   * second stream of blockMs blocks joins while recording (live(true)) without a gap; elsewhere, or
   * with 0, one stream of blockMs blocks runs all the time and is read in ~250 ms batches while idle.
   */
  idlePeriodMs?: number;
  /** Device rate to open at; default 16 kHz when the device takes it, else its default rate. */
  rate?: number;
  /** 16 kHz mono samples in [-1, 1], any length. The first call may come before openCapture resolves. */
  onData: (pcm: Float32Array) => void;
  /** MIC_LOST once the stream has died (device gone, sound server stopped); the capture is then stopped. */
  onError: (e: WhisperError) => void;
  /** Something worth telling the user that does not stop capture (e.g. no second stream on this device). */
  onNote?: (message: string) => void;
}

export interface Capture {
  /** What records, e.g. "PortAudio (naudiodon2)" or "parec (PulseAudio client)". */
  readonly backend: string;
  /** The input; its name says through what, e.g. "PulseAudio 'Webcam Mic' (alsa_input.…) via parec". */
  readonly device: InputDevice;
  /** The rate the device was opened at. */
  readonly rate: number;
  /** 2: a long-period idle stream with a short-block stream joining while live; 1: one short-block stream. */
  readonly streams: 1 | 2;
  /**
   * Live delivery (each ~blockMs block as it comes) while an utterance records; otherwise audio arrives
   * in ~1 s batches, which keeps an idle daemon cheap. Going live sends what is held at once; short
   * blocks follow within ~0.25–0.6 s (the idle chunk being read, or the second stream's start); the
   * audio stays gap-free throughout.
   */
  live(on: boolean): void;
  /** Stops the stream and its processes; idempotent. */
  stop(): Promise<void>;
}

/** The backend a capture would open with now: `kind` when given (MIC_UNAVAILABLE when it is missing), else the best there is. */
export async function captureBackend(kind?: CaptureBackendKind): Promise<BackendChoice> {
  return chooseBackend(await availability({ only: kind }), kind);
}

/** Lists the input devices PortAudio sees (devices with at least one input channel); MIC_UNAVAILABLE without naudiodon2. */
export async function listInputDevices(): Promise<InputDevice[]> {
  const choice = await captureBackend('portaudio');
  return choice.kind === 'portaudio' ? listPortAudioInputs(choice.naudiodon) : [];
}

export async function openCapture(o: CaptureOptions): Promise<Capture> {
  const blockMs = o.blockMs ?? 20;
  if (!(blockMs >= 5 && blockMs <= 500)) throw new WhisperError('BAD_ARGUMENT', `blockMs must be within 5..500, got ${blockMs}`);
  const idleMs = o.idlePeriodMs ?? 250;
  if (!(idleMs === 0 || (idleMs >= blockMs && idleMs <= 1000))) throw new WhisperError('BAD_ARGUMENT', `idlePeriodMs must be 0 or within blockMs..1000, got ${idleMs}`);
  if (o.rate !== undefined && !(Number.isInteger(o.rate) && o.rate >= 8000 && o.rate <= 384_000)) {
    throw new WhisperError('BAD_ARGUMENT', `rate must be an integer within 8000..384000, got ${o.rate}`);
  }
  const choice = await captureBackend(o.backend);
  if (choice.kind === 'portaudio') return openPortAudioCapture(o, choice.naudiodon, blockMs, idleMs);
  return openRecorderCapture(o, choice.recorder, recorderInput(choice.recorder, o.device, choice.sources), blockMs, idleMs);
}
