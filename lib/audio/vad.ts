/**
 * Vad: WebRTC voice activity detection (libfvad compiled to wasm, @echogarden/fvad-wasm) on 16 kHz
 * float audio, one fixed-length frame at a time; and voicedMs, the speech time in a whole clip,
 * which decides "nothing was said: do not transcribe".
 */

import { WhisperError } from '../errors.js';
import { WHISPER_RATE } from './resample.js';

/** The part of the Emscripten module that we use (the package ships no types). */
interface FvadModule {
  _fvad_new(): number;
  _fvad_free(inst: number): void;
  _fvad_reset(inst: number): void;
  _fvad_set_mode(inst: number, mode: number): number;
  _fvad_set_sample_rate(inst: number, rate: number): number;
  _fvad_process(inst: number, frame: number, length: number): number;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  /** replaced when the wasm memory grows: read it afresh on each use */
  HEAP16: Int16Array;
}

const RATE = WHISPER_RATE;
// A variable specifier keeps tsc from looking for the package's (missing) declarations; Node resolves it as usual.
const PACKAGE = '@echogarden/fvad-wasm';
let loading: Promise<FvadModule> | undefined;

/** One wasm instance serves every Vad; it finds fvad.wasm next to fvad.js by itself. */
function loadFvad(): Promise<FvadModule> {
  loading ??= (async () => {
    const factory = ((await import(PACKAGE)) as { default: () => Promise<FvadModule> }).default;
    return factory();
  })().catch((e: unknown) => {
    loading = undefined;
    throw new WhisperError('NATIVE_MISSING', `cannot load the WebRTC VAD (${PACKAGE}): ${(e as Error).message ?? e}`, { cause: e });
  });
  return loading;
}

export type VadMode = 0 | 1 | 2 | 3;
export type VadFrameMs = 10 | 20 | 30;

export class Vad {
  /** samples in each frame given to isSpeech */
  readonly frameSamples: number;
  readonly frameMs: VadFrameMs;
  readonly mode: VadMode;
  private inst: number;
  private readonly ptr: number;

  private constructor(
    private readonly m: FvadModule,
    mode: VadMode,
    frameMs: VadFrameMs,
  ) {
    this.mode = mode;
    this.frameMs = frameMs;
    this.frameSamples = (RATE / 1000) * frameMs;
    this.inst = m._fvad_new();
    if (!this.inst) throw new WhisperError('NATIVE_MISSING', 'fvad_new failed (out of wasm memory)');
    this.ptr = m._malloc(this.frameSamples * 2);
    if (!this.ptr) {
      m._fvad_free(this.inst);
      throw new WhisperError('NATIVE_MISSING', 'cannot allocate the VAD frame buffer (out of wasm memory)');
    }
    this.configure();
  }

  /** mode: 0 (least) … 3 (most aggressive about calling audio non-speech). */
  static async create(o: { mode: VadMode; frameMs: VadFrameMs }): Promise<Vad> {
    if (![0, 1, 2, 3].includes(o.mode)) throw new WhisperError('BAD_ARGUMENT', `VAD mode must be 0, 1, 2 or 3, got ${o.mode}`);
    if (![10, 20, 30].includes(o.frameMs)) throw new WhisperError('BAD_ARGUMENT', `VAD frame must be 10, 20 or 30 ms, got ${o.frameMs}`);
    return new Vad(await loadFvad(), o.mode, o.frameMs);
  }

  /** Whether one frame (exactly frameSamples samples of 16 kHz audio in [-1, 1]) holds speech. */
  isSpeech(frame: Float32Array): boolean {
    if (!this.inst) throw new WhisperError('CLOSED', 'the VAD is closed');
    const n = this.frameSamples;
    if (frame.length !== n) throw new WhisperError('BAD_ARGUMENT', `a VAD frame is ${n} samples (${this.frameMs} ms at 16 kHz), got ${frame.length}`);
    const heap = this.m.HEAP16;
    const base = this.ptr >> 1;
    for (let i = 0; i < n; i++) {
      const s = frame[i] as number;
      // Clamp, then scale so that -1 → -32768 and 1 → 32767; NaN becomes 0 in the Int16Array.
      heap[base + i] = s <= -1 ? -32768 : s >= 1 ? 32767 : Math.round(s < 0 ? s * 32768 : s * 32767);
    }
    const r = this.m._fvad_process(this.inst, this.ptr, n);
    if (r < 0) throw new WhisperError('BAD_ARGUMENT', `fvad_process rejected a ${n}-sample frame`);
    return r === 1;
  }

  /** Forget the audio heard so far (the detector adapts to its input's noise level). */
  reset(): void {
    if (!this.inst) throw new WhisperError('CLOSED', 'the VAD is closed');
    this.m._fvad_reset(this.inst);
    this.configure(); // fvad_reset also returns mode and sample rate to their defaults (0, 8 kHz)
  }

  /** Free the native state; idempotent. */
  close(): void {
    if (!this.inst) return;
    this.m._fvad_free(this.inst);
    this.m._free(this.ptr);
    this.inst = 0;
  }

  private configure(): void {
    if (this.m._fvad_set_mode(this.inst, this.mode) < 0 || this.m._fvad_set_sample_rate(this.inst, RATE) < 0) {
      throw new WhisperError('BAD_ARGUMENT', `fvad rejected mode ${this.mode} at ${RATE} Hz`);
    }
  }
}

/**
 * Milliseconds of `pcm` (16 kHz) that the VAD judges speech, over its whole frames (a partial last
 * frame is ignored). Resets the VAD first, so the clip is judged on its own.
 */
export function voicedMs(vad: Vad, pcm: Float32Array): number {
  vad.reset();
  const n = vad.frameSamples;
  let voiced = 0;
  for (let at = 0; at + n <= pcm.length; at += n) if (vad.isSpeech(pcm.subarray(at, at + n))) voiced++;
  return voiced * vad.frameMs;
}
