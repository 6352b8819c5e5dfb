/**
 * One Realtime transcription session on one WebSocket: client events in, server events out. With
 * server VAD (the default) the audio goes into a streamTranscription: its phrases are the items
 * (speech_started when the VAD starts one, speech_stopped/committed when it cuts it), its
 * partials' newly committed words are the deltas (never taken back), its finals the completed
 * transcripts. Without turn detection the audio is buffered until the client commits it and is then
 * transcribed as one batch. Every decode is 'interactive'; closing the socket aborts them.
 */
import { concatSamples, resample } from '../../audio/resample.js';
import type { Engine } from '../../engine/contract.js';
import type { FinalEvent, PartialEvent } from '../../engine/stream/events.js';
import type { PhraseEvent } from '../../engine/stream/options.js';
import { streamTranscription, type TranscriptionStream } from '../../engine/stream/stream.js';
import { AbortError, WhisperError } from '../../errors.js';
import { base64Bytes, bytesPerSample, decodeSamples, rateOf } from './audio.js';
import { applyUpdate, betaSessionJson, defaultConfig, errorEvent, newId, RealtimeError, type SessionConfig, sessionJson } from './protocol.js';

/** Bounds of one session; each has a default (realtime/server.ts). */
export interface RealtimeLimits {
  /** largest WebSocket message, bytes: a bigger one closes the connection (1009) */
  maxPayloadBytes: number;
  /** most audio in one append, ms: more is refused with an error event */
  maxAppendMs: number;
  /** audio may arrive at most this many times faster than real time, after a burst of `burstMs` */
  speedFactor: number;
  burstMs: number;
  /** most audio held uncommitted without turn detection, ms */
  maxBufferMs: number;
  /** no message for this long closes the session */
  idleMs: number;
  /** a session is closed after this long */
  maxSessionMs: number;
  /** this many bad client events in a row close the session */
  maxBadEvents: number;
}

/** The socket as the session uses it (a `ws` WebSocket). */
export interface RealtimeSocket {
  readonly readyState: number;
  /** bytes sent but not yet taken by the peer */
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

export interface SessionDeps {
  engine: Engine;
  language: string | undefined;
  limits: RealtimeLimits;
  log?: (line: string) => void;
}

interface Item {
  id: string;
  /** the committed words already sent as deltas */
  sent: string;
  /** speech_stopped and committed were sent */
  cut: boolean;
}

/** One streamTranscription: the audio from one commit (or session start) to the next. */
interface Live {
  stream: TranscriptionStream;
  /** where its audio starts in the session, ms */
  offsetMs: number;
  samples: number;
  items: Map<number, Item>;
  finals: number;
}

const OPEN = 1;
/** a client that leaves this much of our events unread is not reading: it is closed */
const MAX_UNREAD = 8 * 1024 * 1024;
const reason = (s: string): string => (Buffer.byteLength(s) <= 120 ? s : `${s.slice(0, 110)}…`);

export class RealtimeSession {
  readonly id = newId('sess');
  private config: SessionConfig;
  private live: Live | undefined;
  /** streams still giving finals (ended by a commit) or live */
  private readonly streams = new Set<Live>();
  /** without turn detection: the uncommitted audio, at the input rate */
  private buffer: Float32Array[] = [];
  private bufferSamples = 0;
  /** batch transcriptions of commits, one after another */
  private batches: Promise<void> = Promise.resolve();
  private readonly controller = new AbortController();
  private lastItem: string | null = null;
  private inputMs = 0;
  private readonly startedAt = performance.now();
  private bad = 0;
  private idle: NodeJS.Timeout | undefined;
  private readonly lifetime: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly socket: RealtimeSocket,
    private readonly d: SessionDeps,
    private readonly onGone: () => void,
  ) {
    this.config = defaultConfig(d.language);
    this.lifetime = setTimeout(
      () => this.fail(1008, new RealtimeError(`the session reached its longest allowed length (${d.limits.maxSessionMs / 1000} s); open a new one`, 'session_expired')),
      d.limits.maxSessionMs,
    );
    this.touch();
    this.send({ type: 'session.created', event_id: newId('event'), session: sessionJson(this.id, this.config) });
  }

  /** A message from the client. */
  message(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (this.closed) return;
    this.touch();
    let eventId: string | null = null;
    try {
      if (isBinary) throw new RealtimeError('binary messages are not part of the protocol: send JSON events as text', 'invalid_message');
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      let event: unknown;
      try {
        event = JSON.parse(text);
      } catch {
        throw new RealtimeError('the message is not valid JSON', 'invalid_json');
      }
      if (typeof event !== 'object' || event === null || Array.isArray(event) || typeof (event as { type?: unknown }).type !== 'string')
        throw new RealtimeError("an event must be a JSON object with a string 'type'", 'invalid_event', 'type');
      const e = event as Record<string, unknown> & { type: string };
      if (typeof e.event_id === 'string') eventId = e.event_id.slice(0, 200);
      this.handle(e);
      this.bad = 0;
    } catch (err) {
      const e = err instanceof RealtimeError ? err : new RealtimeError(`internal error: ${(err as Error)?.message ?? String(err)}`, 'server_error', null, 'server_error');
      this.send(errorEvent(e, eventId));
      if (e.type === 'invalid_request_error' && ++this.bad >= this.d.limits.maxBadEvents)
        this.fail(1008, new RealtimeError(`${this.bad} bad events in a row: closing the session`, 'too_many_bad_events'));
    }
  }

  /** The client is gone (or the server closed the socket): every decode is aborted, the state freed. */
  gone(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idle);
    clearTimeout(this.lifetime);
    this.controller.abort(new AbortError('the client disconnected'));
    for (const l of this.streams) l.stream.abort(new AbortError('the client disconnected'));
    this.streams.clear();
    this.live = undefined;
    this.buffer = [];
    this.onGone();
  }

  /** Sends an error event, then closes with `code` (1008 policy, 1001 going away, 1011 internal). */
  fail(code: number, e: RealtimeError): void {
    if (this.closed) return;
    this.send(errorEvent(e, null));
    this.d.log?.(`realtime session ${this.id} closed: ${e.message}`);
    try {
      this.socket.close(code, reason(e.message));
    } catch {
      this.socket.terminate();
    }
    this.gone();
  }

  private touch(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(
      () => this.fail(1008, new RealtimeError(`no message for ${this.d.limits.idleMs / 1000} s: closing the stalled session`, 'session_idle')),
      this.d.limits.idleMs,
    );
  }

  private send(event: Record<string, unknown>): void {
    if (this.socket.readyState !== OPEN) return;
    if (this.socket.bufferedAmount > MAX_UNREAD && !this.closed) {
      this.d.log?.(`realtime session ${this.id} closed: the client does not read its events`);
      this.socket.terminate();
      this.gone();
      return;
    }
    this.socket.send(JSON.stringify(event));
  }

  private event(type: string, fields: Record<string, unknown>): void {
    this.send({ type, event_id: newId('event'), ...fields });
  }

  private handle(e: Record<string, unknown> & { type: string }): void {
    switch (e.type) {
      case 'session.update':
      case 'transcription_session.update': {
        this.config = applyUpdate(this.config, e.type, e.session);
        // the new settings hold from here: what was written so far is transcribed as it was set
        if (this.live) this.endLive(false);
        if (this.config.turn && this.buffer.length) this.dropBuffer();
        if (e.type === 'session.update') this.event('session.updated', { session: sessionJson(this.id, this.config) });
        else this.event('transcription_session.updated', { session: betaSessionJson(this.id, this.config) });
        return;
      }
      case 'input_audio_buffer.append':
        this.append(e.audio);
        return;
      case 'input_audio_buffer.commit':
        this.commit();
        return;
      case 'input_audio_buffer.clear':
        if (this.live) {
          this.live.stream.abort(new AbortError('the client cleared the buffer'));
          this.streams.delete(this.live);
          this.live = undefined;
        }
        this.dropBuffer();
        this.event('input_audio_buffer.cleared', {});
        return;
      case 'conversation.item.create':
      case 'conversation.item.retrieve':
      case 'conversation.item.delete':
      case 'conversation.item.truncate':
      case 'response.create':
      case 'response.cancel':
      case 'output_audio_buffer.clear':
        throw new RealtimeError(`${e.type} is not supported: this server holds transcription sessions only (audio in, transcripts out)`, 'unsupported_event', 'type');
      default:
        throw new RealtimeError(`unknown event type '${e.type.slice(0, 100)}'`, 'unknown_event', 'type');
    }
  }

  private append(audio: unknown): void {
    if (typeof audio !== 'string') throw new RealtimeError("input_audio_buffer.append needs 'audio': base64 audio in the session's format", 'missing_required_parameter', 'audio');
    const bytes = base64Bytes(audio);
    if (!bytes) throw new RealtimeError("'audio' is not valid base64", 'invalid_value', 'audio');
    const f = this.config.format;
    const rate = rateOf(f);
    const ms = (bytes.length / bytesPerSample(f) / rate) * 1000;
    const { maxAppendMs, speedFactor, burstMs, maxBufferMs } = this.d.limits;
    if (ms > maxAppendMs) throw new RealtimeError(`one append holds ${(ms / 1000).toFixed(1)} s of audio; at most ${maxAppendMs / 1000} s per append`, 'audio_too_large', 'audio');
    const allowed = (performance.now() - this.startedAt) * speedFactor + burstMs;
    if (this.inputMs + ms > allowed)
      throw new RealtimeError(
        `audio is arriving faster than ${speedFactor}× real time: this append was dropped; send it at the pace it is heard`,
        'audio_rate_exceeded',
        'audio',
        'rate_limit_error',
      );
    const samples = decodeSamples(bytes, f);
    if (!samples.length) return;
    if (!this.config.turn) {
      if (((this.bufferSamples + samples.length) / rate) * 1000 > maxBufferMs)
        throw new RealtimeError(`the input audio buffer would hold more than ${maxBufferMs / 1000} s: commit it (or clear it) first`, 'input_audio_buffer_full', 'audio');
      this.buffer.push(samples);
      this.bufferSamples += samples.length;
      this.inputMs += ms;
      return;
    }
    const live = this.live ?? this.startLive();
    try {
      live.stream.write(samples);
    } catch (err) {
      // the stream stopped (its reader reports why): the next append starts a new one
      if (this.live === live) this.live = undefined;
      if (!(err instanceof WhisperError && err.code === 'CLOSED')) throw err;
    }
    live.samples += samples.length;
    this.inputMs += ms;
  }

  private commit(): void {
    if (this.config.turn) {
      if (!this.live || this.live.samples === 0) throw new RealtimeError('the input audio buffer is empty: append audio before committing it', 'input_audio_buffer_commit_empty');
      this.endLive(true);
      return;
    }
    if (this.bufferSamples === 0) throw new RealtimeError('the input audio buffer is empty: append audio before committing it', 'input_audio_buffer_commit_empty');
    const audio = concatSamples(this.buffer);
    const rate = rateOf(this.config.format);
    this.dropBuffer();
    const item = this.newItem();
    const config = this.config;
    this.batches = this.batches.then(async () => {
      if (this.closed) return;
      try {
        const pcm = rate === 16000 ? audio : resample(audio, rate, 16000);
        const t = await this.d.engine.transcribe(pcm, {
          ...(config.language ? { language: config.language } : {}),
          prompt: config.prompt,
          audioCtx: 'auto',
          priority: 'interactive',
          signal: this.controller.signal,
        });
        if (t.text) this.event('conversation.item.input_audio_transcription.delta', { item_id: item.id, content_index: 0, delta: t.text });
        this.completed(item.id, t.text, audio.length / rate);
      } catch (err) {
        this.failedItem(item.id, err);
      }
    });
  }

  private dropBuffer(): void {
    this.buffer = [];
    this.bufferSamples = 0;
  }

  /** A new user item: committed and created now (its transcript follows). */
  private newItem(id = newId('item')): Item {
    this.event('input_audio_buffer.committed', { item_id: id, previous_item_id: this.lastItem });
    this.event('conversation.item.created', {
      previous_item_id: this.lastItem,
      item: { id, object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }] },
    });
    this.lastItem = id;
    return { id, sent: '', cut: true };
  }

  private completed(itemId: string, transcript: string, seconds: number): void {
    this.event('conversation.item.input_audio_transcription.completed', {
      item_id: itemId,
      content_index: 0,
      transcript,
      usage: { type: 'duration', seconds: Math.round(seconds * 1000) / 1000 },
    });
  }

  private failedItem(itemId: string, err: unknown): void {
    if (this.closed || err instanceof AbortError || (err as Error)?.name === 'AbortError') return;
    const message = err instanceof WhisperError ? err.message : `the transcription failed: ${(err as Error)?.message ?? String(err)}`;
    this.d.log?.(`realtime session ${this.id}: ${message}`);
    this.event('conversation.item.input_audio_transcription.failed', { item_id: itemId, content_index: 0, error: { type: 'server_error', code: 'transcription_failed', message } });
  }

  // ---- server VAD: one streamTranscription per commit --------------------------------------------

  private startLive(): Live {
    const c = this.config;
    const turn = c.turn as NonNullable<SessionConfig['turn']>;
    const stream = streamTranscription(this.d.engine, {
      sampleRate: rateOf(c.format),
      ...(c.language ? { language: c.language } : {}),
      ...(c.prompt ? { prompt: c.prompt } : {}),
      hangoverMs: turn.silenceMs,
      preRollMs: turn.prefixMs,
      signal: this.controller.signal,
      onPhrase: (e) => this.phrase(live, e),
    });
    const live: Live = { stream, offsetMs: this.inputMs, samples: 0, items: new Map(), finals: 0 };
    this.live = live;
    this.streams.add(live);
    void this.read(live);
    return live;
  }

  /** Ends the live stream: its open phrase is cut and gets its final. `commit`: the client asked, so an item follows even for silence. */
  private endLive(commit: boolean): void {
    const live = this.live as Live;
    this.live = undefined;
    // end() cuts the open phrase, if one is: that is the commit's item; else an empty one is
    const open = [...live.items.values()].some((i) => !i.cut);
    live.stream.end().then(
      () => {
        if (commit && !this.closed && !open) {
          const item = this.newItem();
          this.completed(item.id, '', live.samples / rateOf(this.config.format));
        }
      },
      () => undefined, // the reader reports it
    );
  }

  private async read(live: Live): Promise<void> {
    try {
      for await (const e of live.stream) {
        if (this.closed) return;
        if (e.type === 'partial') this.partial(live, e);
        else this.final(live, e);
      }
    } catch (err) {
      if (!this.closed && !(err instanceof AbortError)) {
        const open = [...live.items.entries()].filter(([p]) => p > live.finals);
        for (const [, item] of open) this.failedItem(item.id, err);
        if (!open.length) this.send(errorEvent(new RealtimeError(`the transcription failed: ${(err as Error)?.message}`, 'transcription_failed', null, 'server_error'), null));
      }
    } finally {
      this.streams.delete(live);
      if (this.live === live) this.live = undefined;
    }
  }

  /** The VAD started a phrase (speech_started: its item) or cut it (speech_stopped, committed; its transcript follows). */
  private phrase(live: Live, e: PhraseEvent): void {
    if (this.closed) return;
    const item = this.item(live, e.phrase, e.startMs);
    if (e.type === 'cut' && !item.cut) {
      this.event('input_audio_buffer.speech_stopped', { audio_end_ms: Math.round(live.offsetMs + (e.endMs ?? e.startMs)), item_id: item.id });
      this.newItem(item.id);
      item.cut = true;
    }
  }

  /** The phrase's item, announced by speech_started when first heard of. */
  private item(live: Live, phrase: number, startMs: number): Item {
    let item = live.items.get(phrase);
    if (!item) {
      item = { id: newId('item'), sent: '', cut: false };
      live.items.set(phrase, item);
      this.event('input_audio_buffer.speech_started', { audio_start_ms: Math.round(live.offsetMs + startMs), item_id: item.id });
    }
    return item;
  }

  /** Only words the stream has committed go out, each once: a delta is never taken back. */
  private partial(live: Live, e: PartialEvent): void {
    const item = this.item(live, e.phrase, e.startMs);
    if (e.committed.length > item.sent.length && e.committed.startsWith(item.sent)) {
      const delta = e.committed.slice(item.sent.length);
      item.sent = e.committed;
      this.event('conversation.item.input_audio_transcription.delta', { item_id: item.id, content_index: 0, delta });
    }
  }

  private final(live: Live, e: FinalEvent): void {
    this.phrase(live, { type: 'cut', phrase: e.phrase, startMs: e.startMs, endMs: e.endMs });
    const item = this.item(live, e.phrase, e.startMs);
    live.finals = e.phrase;
    // the rest of the text as a last delta, where it continues what was sent; the transcript is the final's
    if (e.text.length > item.sent.length && e.text.startsWith(item.sent)) {
      this.event('conversation.item.input_audio_transcription.delta', { item_id: item.id, content_index: 0, delta: e.text.slice(item.sent.length) });
    }
    this.completed(item.id, e.text, (e.endMs - e.startMs) / 1000);
  }
}
