/**
 * The warm model: weights loaded once, a pool of inference states, requests queued onto free
 * states, every call asynchronous and abortable.
 */
import { availableParallelism } from 'node:os';
import { checkPcm, MAX_AUDIO_SECONDS, peakDbfs } from './audio/check.js';
import { WHISPER_RATE } from './audio/resample.js';
import { AbortError, fromNative, WhisperError } from './errors.js';
import { inspectModelFile } from './models/inspect.js';
import { resolveModel } from './models/pull.js';
import { type NativeModel, type NativeSegment, type NativeTimings, nativeAddon } from './native.js';
import { type Priority, StateScheduler } from './scheduler.js';

export interface LoadOptions {
  /** 'auto' (default) uses CUDA when this build has a usable GPU, else the CPU, and says why in info.fallback */
  gpu?: 'auto' | 'cuda' | 'cpu';
  /** GPU index */
  device?: number;
  /** inference states (concurrent requests), default 1 */
  states?: number;
  /** CPU threads shared by all running requests (default: the machine's cores) */
  threads?: number;
  /** flash attention (default true) */
  flashAttn?: boolean;
  /** run one short inference at load so the first real call is warm (default true) */
  warmup?: boolean;
  /** longest accepted input, seconds (default 3600) */
  maxAudioSeconds?: number;
}

export interface Segment {
  t0Ms: number;
  t1Ms: number;
  text: string;
}

export interface TranscribeOptions {
  /** spoken language code, or 'auto' to detect (default 'en') */
  language?: string;
  /** initial prompt: vocabulary, names, style */
  prompt?: string;
  signal?: AbortSignal;
  /** called for each segment as soon as it is decoded, before the promise resolves */
  onSegment?: (segment: Segment) => void;
  /** greedy decoding (default true); false uses beam search */
  greedy?: boolean;
  /** beam width when greedy is false (default 5) */
  beamSize?: number;
  /** encoder window: 'auto' shrinks it to the clip (faster for short clips), a number sets it, default the full 30 s (1500) */
  audioCtx?: 'auto' | number;
  noTimestamps?: boolean;
  translate?: boolean;
  /** retry at higher temperatures when decoding looks wrong (default true) */
  temperatureFallback?: boolean;
  /** return empty text without running the model when the clip peaks below silenceDbfs (default true) */
  skipSilence?: boolean;
  /** silence threshold in dBFS (default −60) */
  silenceDbfs?: number;
  /**
   * 'interactive' (default: someone is waiting on this result) takes the next free state ahead of
   * every queued 'batch' request (uploads, file batches)
   */
  priority?: Priority;
}

/** melMs, encodeMs (prompt decode included), decodeMs, tokens, windows as measured in the addon; totalMs is call to result, queue included. */
export interface Timings extends NativeTimings {
  queueMs: number;
}

export interface Transcript {
  text: string;
  segments: Segment[];
  language: string;
  timings: Timings;
  backend: string;
  audioMs: number;
  /** encoder window used (1500 = full 30 s) */
  audioCtx: number;
  /** set when the model was not run */
  skipped?: 'silence';
}

export interface ModelInfo {
  path: string;
  /** tiny, base, small, medium, large */
  type: string;
  multilingual: boolean;
  /** 'cpu' or 'cuda:N' */
  backend: string;
  device: string;
  /** why the GPU was not used, when gpu was 'auto' */
  fallback?: string;
  states: number;
  threads: number;
  memory: { modelBytes: number; stateBytes: number; fileBytes: number };
  /** SIMD features of the CPU backend in use */
  cpuFeatures: string[];
  warnings: string[];
  loadMs: number;
  warmupMs: number;
  whisperVersion: string;
}

const AUTO_CTX_FLOOR = 384; // ≈ 7.7 s; smaller windows make real models repeat themselves
const AUTO_CTX_MARGIN = 64; // ≈ 1.3 s of slack past the end of the clip

/** The encoder window for a clip under audioCtx 'auto': the clip plus a margin, never below the floor. */
export function autoAudioCtx(samples: number, fullCtx = 1500): number {
  const frames = Math.ceil((samples / WHISPER_RATE) * (fullCtx / 30));
  const ctx = Math.ceil((frames + AUTO_CTX_MARGIN) / 32) * 32;
  return Math.min(fullCtx, Math.max(AUTO_CTX_FLOOR, ctx));
}

function cpuFeatures(systemInfo: string): string[] {
  return [...systemInfo.matchAll(/([A-Z][A-Z0-9_]+) = 1/g)].map((m) => m[1] as string).filter((f) => !['OPENMP', 'REPACK', 'COREML', 'OPENVINO'].includes(f));
}

let nextJob = 1;

/**
 * The aborts of the transcriptions running in this thread. At exit (process.exit(), or the end of the
 * program) Node joins its threadpool before the process ends, so a running transcription would hold
 * the exit back until its end (~0.85 s for the rest of a 44 s clip on 2 cores): they are aborted first.
 */
const running = new Set<() => void>();
process.once('exit', () => {
  for (const abort of running) abort();
});

export class WhisperModel {
  readonly info: ModelInfo;
  private readonly scheduler: StateScheduler;
  private closing: Promise<void> | undefined;

  /** @internal use loadModel() */
  constructor(
    private readonly native: NativeModel,
    info: ModelInfo,
    private readonly maxAudioSeconds: number,
  ) {
    this.info = info;
    this.scheduler = new StateScheduler(info.states, info.threads, info.backend === 'cpu');
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** requests waiting for a free state */
  get queued(): number {
    return this.scheduler.queued;
  }

  /** requests running now */
  get busy(): number {
    return this.scheduler.busy;
  }

  async transcribe(pcm: Float32Array, given: TranscribeOptions = {}): Promise<Transcript> {
    const started = performance.now();
    if (this.closing) throw new WhisperError('CLOSED', 'the model is closed');
    // every option read once, here: nothing the caller's object does later can throw past the slot lease
    const options = readTranscribeOptions(given);
    const audio = checkPcm(pcm, this.maxAudioSeconds);
    const audioMs = Math.round((audio.length / WHISPER_RATE) * 1000);
    const greedy = options.greedy ?? true;
    const beamSize = greedy ? 0 : (options.beamSize ?? 5);
    if (!Number.isInteger(beamSize) || beamSize < 0 || beamSize > 16) throw new WhisperError('BAD_ARGUMENT', `beamSize must be an integer in [1, 16] (got ${options.beamSize})`);
    const full = 1500;
    let audioCtx = full;
    if (options.audioCtx === 'auto') audioCtx = autoAudioCtx(audio.length, full);
    else if (options.audioCtx !== undefined) {
      if (!Number.isInteger(options.audioCtx) || options.audioCtx < 64 || options.audioCtx > full)
        throw new WhisperError('BAD_ARGUMENT', `audioCtx must be 'auto' or an integer in [64, ${full}]`);
      audioCtx = options.audioCtx;
    }
    const language = options.language ?? 'en';
    if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
    if ((options.skipSilence ?? true) && peakDbfs(audio) < (options.silenceDbfs ?? -60)) {
      return {
        text: '',
        segments: [],
        language,
        timings: { queueMs: 0, melMs: 0, encodeMs: 0, decodeMs: 0, totalMs: performance.now() - started, tokens: 0, windows: 0 },
        backend: this.info.backend,
        audioMs,
        audioCtx,
        skipped: 'silence',
      };
    }

    const lease = await this.scheduler.acquire(options.signal, options.priority);
    const job = nextJob++;
    let callbackError: unknown;
    const onSegment = options.onSegment
      ? (s: NativeSegment): void => {
          try {
            options.onSegment?.({ t0Ms: s.t0Ms, t1Ms: s.t1Ms, text: s.text.trim() });
          } catch (e) {
            callbackError ??= e;
          }
        }
      : undefined;
    const abort = (): void => {
      this.native.abort(job);
    };
    try {
      options.signal?.addEventListener('abort', abort, { once: true });
      running.add(abort);
      const r = await this.native.transcribe(
        lease.slot,
        audio,
        {
          language,
          prompt: options.prompt,
          translate: options.translate,
          beamSize,
          audioCtx: audioCtx === full ? 0 : audioCtx,
          noTimestamps: options.noTimestamps,
          threads: lease.threads,
          temperatureFallback: options.temperatureFallback,
        },
        onSegment,
        job,
      );
      if (callbackError !== undefined) throw callbackError;
      return {
        text: r.text.trim(),
        segments: r.segments.map((s) => ({ t0Ms: s.t0Ms, t1Ms: s.t1Ms, text: s.text.trim() })),
        language: r.language,
        timings: { queueMs: lease.queuedMs, ...r.timings, totalMs: performance.now() - started },
        backend: this.info.backend,
        audioMs,
        audioCtx,
      };
    } catch (e) {
      if (e === callbackError) throw e;
      throw fromNative(e);
    } finally {
      running.delete(abort);
      options.signal?.removeEventListener('abort', abort);
      this.scheduler.release(lease.slot);
    }
  }

  /** Rejects queued requests, waits for running ones, then frees native memory. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.scheduler.close();
      await this.scheduler.idle();
      await this.native.close();
    })();
    return this.closing;
  }
}

const OPTION_KEYS = [
  'language',
  'prompt',
  'signal',
  'onSegment',
  'greedy',
  'beamSize',
  'audioCtx',
  'noTimestamps',
  'translate',
  'temperatureFallback',
  'skipSilence',
  'silenceDbfs',
  'priority',
] as const satisfies readonly (keyof TranscribeOptions)[];

/** A plain copy of the caller's options with their types checked: BAD_ARGUMENT names the first bad one. */
export function readTranscribeOptions(given: TranscribeOptions | null | undefined): TranscribeOptions {
  if (given === null || given === undefined) return {};
  if (typeof given !== 'object') throw new WhisperError('BAD_ARGUMENT', `options must be an object (got ${typeof given})`);
  const o: Record<string, unknown> = {};
  for (const key of OPTION_KEYS) {
    let value: unknown;
    try {
      value = given[key];
    } catch (e) {
      throw new WhisperError('BAD_ARGUMENT', `reading the option ${key} threw: ${(e as Error)?.message ?? e}`, { cause: e });
    }
    if (value !== undefined) o[key] = value;
  }
  const bad = (key: string, want: string) => new WhisperError('BAD_ARGUMENT', `${key} must be ${want} (got ${typeof o[key]})`);
  for (const key of ['language', 'prompt'] as const) if (o[key] !== undefined && typeof o[key] !== 'string') throw bad(key, 'a string');
  if (typeof o.language === 'string' && [...o.language].some((c) => c.charCodeAt(0) < 0x20))
    throw new WhisperError('BAD_ARGUMENT', `language must be a language code or name (got ${JSON.stringify(o.language)})`);
  if (typeof o.prompt === 'string' && o.prompt.includes('\0')) throw new WhisperError('BAD_ARGUMENT', 'prompt must not contain NUL characters');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw bad('signal', 'an AbortSignal');
  if (o.onSegment !== undefined && typeof o.onSegment !== 'function') throw bad('onSegment', 'a function');
  for (const key of ['greedy', 'noTimestamps', 'translate', 'temperatureFallback', 'skipSilence'] as const)
    if (o[key] !== undefined && typeof o[key] !== 'boolean') throw bad(key, 'a boolean');
  for (const key of ['beamSize', 'silenceDbfs'] as const) if (o[key] !== undefined && typeof o[key] !== 'number') throw bad(key, 'a number');
  if (o.priority !== undefined && o.priority !== 'interactive' && o.priority !== 'batch')
    throw new WhisperError('BAD_ARGUMENT', `priority must be 'interactive' or 'batch' (got ${JSON.stringify(o.priority)})`);
  return o as TranscribeOptions;
}

export async function loadModel(nameOrPath: string, options: LoadOptions = {}): Promise<WhisperModel> {
  const path = resolveModel(nameOrPath);
  const file = await inspectModelFile(path);
  const gpu = options.gpu ?? 'auto';
  if (!['auto', 'cuda', 'cpu'].includes(gpu)) throw new WhisperError('BAD_ARGUMENT', `gpu must be 'auto', 'cuda' or 'cpu' (got ${String(gpu)})`);
  const states = options.states ?? 1;
  if (!Number.isInteger(states) || states < 1 || states > 64) throw new WhisperError('BAD_ARGUMENT', `states must be an integer in [1, 64] (got ${states})`);
  const cores = availableParallelism();
  if (options.threads !== undefined && (!Number.isInteger(options.threads) || options.threads < 1))
    throw new WhisperError('BAD_ARGUMENT', `threads must be a positive integer (got ${options.threads})`);
  const addon = nativeAddon();
  const load = async (mode: 'auto' | 'cuda' | 'cpu'): Promise<NativeModel> => {
    const threads = options.threads ?? cores;
    try {
      return await addon.load({
        path,
        gpu: mode,
        device: options.device ?? 0,
        states,
        flashAttn: options.flashAttn ?? true,
        warmup: options.warmup ?? true,
        warmupThreads: threads,
      });
    } catch (e) {
      throw fromNative(e);
    }
  };
  let native: NativeModel;
  let fallback: string | undefined;
  try {
    native = await load(gpu);
  } catch (e) {
    // A GPU that is there but fails (out of memory, driver error) must not stop an 'auto' load.
    if (gpu !== 'auto' || !WhisperError.is(e, 'GPU_UNAVAILABLE')) throw e;
    fallback = e.message;
    native = await load('cpu');
  }
  const n = native.info();
  if (!n) throw new WhisperError('MODEL_LOAD_FAILED', 'the model closed while loading');
  const backend = n.backend;
  const features = cpuFeatures(n.systemInfo);
  const warnings: string[] = [];
  if (process.arch === 'x64' && !features.includes('AVX2') && !features.includes('AVX')) {
    warnings.push('the CPU backend has no AVX/AVX2 support compiled in: inference runs on scalar code and is many times slower; rebuild with npm rebuild prism-whisper');
  }
  fallback ??= n.fallbackReason || undefined;
  const info: ModelInfo = {
    path,
    type: n.type,
    multilingual: n.multilingual,
    backend,
    device: n.deviceName,
    ...(fallback ? { fallback } : {}),
    states: n.states,
    // On a GPU too: mel and sampling run on the host (H100 box, medium: mel 24.8 → 8.5 ms with 16 threads, not 4).
    threads: options.threads ?? cores,
    memory: { modelBytes: n.modelBytes, stateBytes: n.stateBytes, fileBytes: file.bytes },
    cpuFeatures: features,
    warnings,
    loadMs: n.loadMs,
    warmupMs: n.warmupMs,
    whisperVersion: addon.whisperVersion,
  };
  for (const w of warnings) process.emitWarning(w, { code: 'PRISM_WHISPER_SCALAR' });
  return new WhisperModel(native, info, options.maxAudioSeconds ?? MAX_AUDIO_SECONDS);
}
