/**
 * OpenAI's Realtime transcription protocol, the parts a transcription session uses: the session's
 * settings as `session.update` (GA: `session.audio.input.*`) and `transcription_session.update` (the
 * beta shape: `input_audio_format`, `input_audio_transcription`, `turn_detection`) give them, read
 * and checked; the session object the server answers with; errors in OpenAI's shape.
 */
import { randomUUID } from 'node:crypto';
import { languageCode } from '../../engine/languages.js';
import type { AudioFormat } from './audio.js';

/** A client event the session could not take: becomes `{type:'error', error:{type, code, message, param, event_id}}`. */
export class RealtimeError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly param: string | null = null,
    readonly type: 'invalid_request_error' | 'server_error' | 'rate_limit_error' = 'invalid_request_error',
  ) {
    super(message);
  }
}

export interface TurnDetection {
  type: 'server_vad';
  /** silence_duration_ms: the stream's hangoverMs */
  silenceMs: number;
  /** prefix_padding_ms: the stream's preRollMs */
  prefixMs: number;
  threshold: number;
}

export interface SessionConfig {
  format: AudioFormat;
  /** the transcription model asked for: accepted and echoed, the server's own model answers (as the HTTP API's `model`) */
  model: string;
  language?: string;
  prompt?: string;
  /** null: no VAD, the client's commits cut the audio */
  turn: TurnDetection | null;
}

export const defaultConfig = (language: string | undefined): SessionConfig => ({
  format: { type: 'audio/pcm', rate: 24000 },
  model: 'whisper-1',
  ...(language ? { language } : {}),
  turn: { type: 'server_vad', silenceMs: 500, prefixMs: 300, threshold: 0.5 },
});

let serial = 0;
/** A server event's id, or an item's: unique within the process. */
export const newId = (prefix: 'event' | 'item' | 'sess'): string => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 16)}${(serial++).toString(36)}`;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function object(v: unknown, param: string): Obj | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) throw new RealtimeError(`${param} must be an object`, 'invalid_type', param);
  return v;
}

function num(v: unknown, param: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new RealtimeError(`${param} must be a number in [${min}, ${max}] (got ${JSON.stringify(v)})`, 'invalid_value', param);
  return v;
}

function str(v: unknown, param: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new RealtimeError(`${param} must be a string`, 'invalid_type', param);
  return v;
}

function readFormat(v: unknown, param: string): AudioFormat | undefined {
  if (v === undefined || v === null) return undefined;
  // the beta shape: a name
  if (v === 'pcm16') return { type: 'audio/pcm', rate: 24000 };
  if (v === 'g711_ulaw') return { type: 'audio/pcmu' };
  if (v === 'g711_alaw') return { type: 'audio/pcma' };
  if (typeof v === 'string') throw new RealtimeError(`${param} must be 'pcm16', 'g711_ulaw' or 'g711_alaw' (got '${v}')`, 'invalid_value', param);
  const f = object(v, param) as Obj;
  if (f.type === 'audio/pcmu' || f.type === 'audio/pcma') return { type: f.type };
  if (f.type !== undefined && f.type !== 'audio/pcm') throw new RealtimeError(`${param}.type must be 'audio/pcm', 'audio/pcmu' or 'audio/pcma'`, 'invalid_value', `${param}.type`);
  // OpenAI takes 24 kHz only; other PCM rates are resampled as well
  const rate = num(f.rate, `${param}.rate`, 8000, 48000) ?? 24000;
  if (!Number.isInteger(rate)) throw new RealtimeError(`${param}.rate must be an integer`, 'invalid_value', `${param}.rate`);
  return { type: 'audio/pcm', rate };
}

function readTranscription(v: unknown, param: string, into: SessionConfig): void {
  if (v === null) return; // "off": a transcription session transcribes anyway
  const t = object(v, param);
  if (!t) return;
  const model = str(t.model, `${param}.model`);
  if (model !== undefined) into.model = model;
  const language = str(t.language, `${param}.language`);
  if (language !== undefined) {
    const code = language === '' ? 'auto' : languageCode(language);
    if (!/^[a-z]{2,3}$|^auto$/.test(code))
      throw new RealtimeError(`${param}.language must be an ISO-639-1 code such as 'en' (got '${language}')`, 'invalid_value', `${param}.language`);
    into.language = code;
  }
  const prompt = str(t.prompt, `${param}.prompt`);
  if (prompt !== undefined) {
    if (prompt.length > 4000) throw new RealtimeError(`${param}.prompt is longer than 4000 characters`, 'invalid_value', `${param}.prompt`);
    into.prompt = prompt || undefined;
  }
}

function readTurn(v: unknown, param: string, current: TurnDetection | null): TurnDetection | null {
  if (v === null || (isObj(v) && v.type === 'none')) return null;
  const t = object(v, param) as Obj;
  if (t.type !== undefined && t.type !== 'server_vad' && t.type !== 'semantic_vad')
    throw new RealtimeError(`${param}.type must be 'server_vad', 'semantic_vad' or null (got ${JSON.stringify(t.type)})`, 'invalid_value', `${param}.type`);
  const base = current ?? { type: 'server_vad', silenceMs: 500, prefixMs: 300, threshold: 0.5 };
  // semantic_vad has no model here: it is the server VAD with its defaults
  return {
    type: 'server_vad',
    silenceMs: num(t.silence_duration_ms, `${param}.silence_duration_ms`, 100, 5000) ?? base.silenceMs,
    prefixMs: num(t.prefix_padding_ms, `${param}.prefix_padding_ms`, 0, 2000) ?? base.prefixMs,
    threshold: num(t.threshold, `${param}.threshold`, 0, 1) ?? base.threshold,
  };
}

/**
 * The settings after a `session.update` or `transcription_session.update`: only the fields present
 * change. Throws RealtimeError naming the first bad field; a realtime (conversation) session is refused.
 */
export function applyUpdate(current: SessionConfig, type: string, session: unknown): SessionConfig {
  const s = object(session, 'session');
  if (!s) throw new RealtimeError(`${type} needs a 'session' object`, 'missing_required_parameter', 'session');
  if (s.type !== undefined && s.type !== 'transcription')
    throw new RealtimeError(
      `this server transcribes only: session.type must be 'transcription' (got ${JSON.stringify(s.type)}); connect with ?intent=transcription`,
      'unsupported_session_type',
      'session.type',
    );
  const next: SessionConfig = { ...current, format: { ...current.format }, turn: current.turn && { ...current.turn } };
  const input = object(object(s.audio, 'session.audio')?.input, 'session.audio.input');
  if (input) {
    next.format = readFormat(input.format, 'session.audio.input.format') ?? next.format;
    readTranscription(input.transcription, 'session.audio.input.transcription', next);
    if ('turn_detection' in input) next.turn = readTurn(input.turn_detection, 'session.audio.input.turn_detection', next.turn);
  }
  // the beta shape (and the beta session.update's flat fields)
  next.format = readFormat(s.input_audio_format, 'session.input_audio_format') ?? next.format;
  readTranscription(s.input_audio_transcription, 'session.input_audio_transcription', next);
  if ('turn_detection' in s) next.turn = readTurn(s.turn_detection, 'session.turn_detection', next.turn);
  return next;
}

const turnJson = (t: TurnDetection | null): Obj | null =>
  t && { type: 'server_vad', threshold: t.threshold, prefix_padding_ms: t.prefixMs, silence_duration_ms: t.silenceMs, idle_timeout_ms: null };

const transcriptionJson = (c: SessionConfig): Obj => ({ model: c.model, language: c.language ?? null, prompt: c.prompt ?? '' });

/** The session as `session.created` / `session.updated` carry it (GA shape). */
export function sessionJson(id: string, c: SessionConfig): Obj {
  return {
    type: 'transcription',
    object: 'realtime.transcription_session',
    id,
    audio: {
      input: {
        format: c.format.type === 'audio/pcm' ? { type: 'audio/pcm', rate: c.format.rate } : { type: c.format.type },
        transcription: transcriptionJson(c),
        turn_detection: turnJson(c.turn),
        noise_reduction: null,
      },
    },
    include: [],
  };
}

/** The session as `transcription_session.updated` carries it (beta shape). */
export function betaSessionJson(id: string, c: SessionConfig): Obj {
  const f = c.format;
  return {
    id,
    object: 'realtime.transcription_session',
    input_audio_format: f.type === 'audio/pcmu' ? 'g711_ulaw' : f.type === 'audio/pcma' ? 'g711_alaw' : 'pcm16',
    input_audio_transcription: transcriptionJson(c),
    turn_detection: turnJson(c.turn),
    input_audio_noise_reduction: null,
    include: [],
  };
}

/** An `error` event in OpenAI's shape; `eventId` is the client event's id that caused it. */
export function errorEvent(e: RealtimeError, eventId: string | null): Obj {
  return { type: 'error', event_id: newId('event'), error: { type: e.type, code: e.code, message: e.message, param: e.param, event_id: eventId } };
}
