/** The options of a transcription stream: their types, defaults and ranges, read once at the start. */
import type { VadFrameMs, VadMode } from '../../audio/vad.js';
import { WhisperError } from '../../errors.js';
import { readTranscribeOptions } from '../../model.js';
import type { FinalEvent, PartialEvent } from './events.js';

export interface StreamOptions {
  /** spoken language code, or 'auto' (default: the engine's, 'en') */
  language?: string;
  /** vocabulary: names and terms the model should prefer; put before the previous phrase's text in each prompt */
  prompt?: string;
  /** each phrase gets the previous phrase's final text as its prompt, as the daemon does (default true) */
  previousText?: boolean;
  /** the rate of the audio written, Hz (default 16000); other rates are resampled as written */
  sampleRate?: number;
  /** aborts the stream, as abort() does */
  signal?: AbortSignal;
  /** a pause this long ends a phrase (default 500, as the daemon's vad.hangoverMs) */
  hangoverMs?: number;
  /** voiced time before a phrase counts as started; a shorter blip is no phrase (default 200, the daemon's vad.minSpeechMs) */
  minSpeechMs?: number;
  /** a phrase this long is cut there, the stream goes on (default 30000, the daemon's vad.maxUtteranceMs) */
  maxPhraseMs?: number;
  /** audio kept from before a phrase's first voiced frame (default 300, the daemon's audio.preRollMs) */
  preRollMs?: number;
  /** WebRTC VAD aggressiveness 0–3 (default 3) and frame (default 20 ms) */
  vadMode?: VadMode;
  vadFrameMs?: VadFrameMs;
  /** decode the open phrase as it grows, for partial events (default true); false: finals only */
  previews?: boolean;
  /** the least time between the end of one decode and the start of the next preview (default 300) */
  minIntervalMs?: number;
  /** the next preview waits at least backoff × the last decode's time after it (default 2) */
  backoff?: number;
  /** phrase audio needed before the first preview (default 500) */
  minPreviewMs?: number;
  /** new phrase audio needed before the next preview (default 200) */
  minGrowthMs?: number;
  onPartial?: (event: PartialEvent) => void;
  onFinal?: (event: FinalEvent) => void;
  /** as the audio is written: a phrase began (speech started) or was cut (its final follows); must not throw */
  onPhrase?: (event: PhraseEvent) => void;
}

/** A phrase's start or cut, as the VAD found it (ms in the stream at 16 kHz); `endMs` on a cut. */
export interface PhraseEvent {
  type: 'start' | 'cut';
  phrase: number;
  startMs: number;
  endMs?: number;
}

export type ReadOptions = Required<Omit<StreamOptions, 'language' | 'prompt' | 'signal' | 'onPartial' | 'onFinal' | 'onPhrase'>> &
  Pick<StreamOptions, 'language' | 'prompt' | 'signal' | 'onPartial' | 'onFinal' | 'onPhrase'>;

const RANGES = {
  sampleRate: [8000, 192_000, 16000],
  hangoverMs: [100, 5000, 500],
  minSpeechMs: [20, 5000, 200],
  maxPhraseMs: [1000, 300_000, 30_000],
  preRollMs: [0, 2000, 300],
  minIntervalMs: [0, 60_000, 300],
  backoff: [0, 100, 2],
  minPreviewMs: [100, 60_000, 500],
  minGrowthMs: [0, 60_000, 200],
} as const;

/** A checked copy of the caller's options with the defaults filled in; BAD_ARGUMENT names the first bad one. */
export function readStreamOptions(given: StreamOptions | undefined): ReadOptions {
  if (given === undefined || given === null) given = {};
  if (typeof given !== 'object') throw new WhisperError('BAD_ARGUMENT', `options must be an object (got ${typeof given})`);
  const base = readTranscribeOptions({ language: given.language, prompt: given.prompt, signal: given.signal });
  const out: Record<string, unknown> = { ...base };
  for (const [key, [min, max, fallback]] of Object.entries(RANGES)) {
    const v = (given as Record<string, unknown>)[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
      throw new WhisperError('BAD_ARGUMENT', `${key} must be a number in [${min}, ${max}] (got ${String(v)})`);
    out[key] = v;
  }
  if (!Number.isInteger(out.sampleRate)) throw new WhisperError('BAD_ARGUMENT', `sampleRate must be an integer (got ${String(out.sampleRate)})`);
  for (const key of ['previousText', 'previews'] as const) {
    const v = given[key] ?? true;
    if (typeof v !== 'boolean') throw new WhisperError('BAD_ARGUMENT', `${key} must be a boolean (got ${typeof v})`);
    out[key] = v;
  }
  const mode = given.vadMode ?? 3;
  if (![0, 1, 2, 3].includes(mode)) throw new WhisperError('BAD_ARGUMENT', `vadMode must be 0, 1, 2 or 3 (got ${String(mode)})`);
  const frame = given.vadFrameMs ?? 20;
  if (![10, 20, 30].includes(frame)) throw new WhisperError('BAD_ARGUMENT', `vadFrameMs must be 10, 20 or 30 (got ${String(frame)})`);
  out.vadMode = mode;
  out.vadFrameMs = frame;
  for (const key of ['onPartial', 'onFinal', 'onPhrase'] as const) {
    const v = given[key];
    if (v !== undefined && typeof v !== 'function') throw new WhisperError('BAD_ARGUMENT', `${key} must be a function (got ${typeof v})`);
    if (v) out[key] = v;
  }
  return out as ReadOptions;
}

/**
 * The prompt of a phrase — the daemon's and the stream's: the user's vocabulary, then the end of what was
 * just said (Whisper keeps ~224 prompt tokens).
 */
export function phrasePrompt(vocabulary: string | undefined, previous: string): string | undefined {
  const tail = previous.trim().slice(-600);
  const p = [vocabulary?.trim(), tail].filter(Boolean).join(' ');
  return p || undefined;
}
