/**
 * RemoteEngine: an Engine over HTTP, for a daemon whose model runs on another machine
 * (`prism-dictate serve` there, or any OpenAI-compatible transcription endpoint). The audio goes
 * as a 16-bit WAV, the answer is asked for as verbose_json and mapped back to a Transcript.
 */
import { encodeWav } from '../audio/wav.js';
import { AbortError, WhisperError } from '../errors.js';
import type { TranscribeOptions, Transcript } from '../model.js';
import type { Engine } from './contract.js';
import { languageCode } from './languages.js';

export interface RemoteOptions {
  /** the server's base URL, e.g. http://gpu-box:8178 (a trailing /v1 is fine too) */
  url: string;
  /** sent as `Authorization: Bearer <token>` */
  token?: string;
  /** per request, upload and transcription together (default 120 s) */
  timeoutMs?: number;
  /** the form's model field (default whisper-1) */
  model?: string;
}

/** The part of an OpenAI verbose_json answer this client reads. */
interface VerboseAnswer {
  text: string;
  duration: number;
  language?: string;
  segments?: Array<{ start: number; end: number; text: string }>;
}

interface ErrorBody {
  error?: { message?: string; param?: string | null };
}

export class RemoteEngine implements Engine {
  private readonly base: string;

  constructor(private readonly o: RemoteOptions) {
    this.base = o.url.replace(/\/+$/, '').replace(/\/v1$/, '');
  }

  /**
   * Greedy/beam and audioCtx choices stay with the server. onSegment is called once the answer is
   * in, for each segment, since the HTTP API does not stream.
   */
  async transcribe(pcm: Float32Array, options: TranscribeOptions = {}): Promise<Transcript> {
    const started = performance.now();
    if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
    const form = new FormData();
    form.append('file', new Blob([encodeWav(pcm)], { type: 'audio/wav' }), 'audio.wav');
    form.append('model', this.o.model ?? 'whisper-1');
    form.append('response_format', 'verbose_json');
    if (options.language) form.append('language', options.language);
    if (options.prompt) form.append('prompt', options.prompt);
    const endpoint = `${this.base}/v1/audio/${options.translate ? 'translations' : 'transcriptions'}`;
    const timeoutMs = this.o.timeoutMs ?? 120_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let res: Response;
    let body: string;
    try {
      res = await fetch(endpoint, { method: 'POST', body: form, headers: this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}, signal });
      body = await res.text();
    } catch (e) {
      if (options.signal?.aborted) throw new AbortError(undefined, { cause: options.signal.reason });
      if (timeout.aborted) throw new WhisperError('SERVICE_UNAVAILABLE', `${endpoint} did not answer within ${timeoutMs} ms`, { cause: e });
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new WhisperError('SERVICE_UNAVAILABLE', `cannot reach ${endpoint}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, { cause: e });
    }
    if (!res.ok) throw httpError(endpoint, res.status, body);
    let answer: VerboseAnswer;
    try {
      answer = JSON.parse(body) as VerboseAnswer;
      if (typeof answer.text !== 'string' || typeof answer.duration !== 'number') throw new Error('no text or duration');
    } catch (e) {
      throw new WhisperError('PROTOCOL', `${endpoint} answered something other than verbose_json: ${(e as Error).message}`, { cause: e });
    }
    const segments = (answer.segments ?? []).map((s) => ({ t0Ms: Math.round(s.start * 1000), t1Ms: Math.round(s.end * 1000), text: s.text.trim() }));
    for (const s of segments) options.onSegment?.(s);
    return {
      text: answer.text.trim(),
      segments,
      language: languageCode(answer.language ?? options.language ?? 'en'),
      timings: { queueMs: 0, melMs: 0, encodeMs: 0, decodeMs: 0, tokens: 0, windows: 0, totalMs: performance.now() - started },
      backend: `remote:${res.headers.get('x-prism-backend') ?? 'unknown'}`,
      audioMs: Math.round(answer.duration * 1000),
      audioCtx: 1500,
    };
  }
}

/** The server's own message when it sent one; the code says whose problem it is. */
function httpError(endpoint: string, status: number, body: string): WhisperError {
  let parsed: ErrorBody = {};
  try {
    parsed = JSON.parse(body) as ErrorBody;
  } catch {
    // not JSON: a proxy's error page, say
  }
  const message = parsed.error?.message ?? (body.slice(0, 200) || `HTTP ${status}`);
  if (status === 401 || status === 403) return new WhisperError('CONFIG_INVALID', `${endpoint} refused the token (HTTP ${status}: ${message}); check the token this daemon sends`);
  if (status === 404) return new WhisperError('CONFIG_INVALID', `no transcription API at ${endpoint} (HTTP 404); check the engine URL`);
  if (status === 429) return new WhisperError('QUEUE_FULL', `${endpoint} is busy: ${message}`);
  if (status >= 500) return new WhisperError('SERVICE_UNAVAILABLE', `${endpoint} failed (HTTP ${status}): ${message}`);
  if (parsed.error?.param === 'file') return new WhisperError('BAD_AUDIO', `${endpoint} refused the audio: ${message}`);
  return new WhisperError('BAD_ARGUMENT', `${endpoint} refused the request (HTTP ${status}): ${message}`);
}
