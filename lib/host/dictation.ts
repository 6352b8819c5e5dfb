/**
 * The dictation host: trigger → capture → phrases → transcription → delivery, overlapped.
 * Capture runs all the time into the ring buffer; a dictation is a window of it that starts
 * preRollMs before the trigger. The VAD cuts it into phrases at pauses (vad.hangoverMs); every phrase
 * is kept in the history, then transcribed with the previous phrase's text as its prompt, while the
 * person goes on speaking. A latched dictation pastes each phrase as soon as it is transcribed; a held
 * one (push-to-talk) pastes them together at the release, so that release → text does not grow with
 * the length of what was said. Nothing said while the microphone is the person's is dropped: pauses
 * only cut phrases, they never end a dictation. Texts are delivered in the order they were spoken.
 * The host speaks only to a transcription engine (the service), never to the addon.
 */
import { EventEmitter } from 'node:events';
import { Endpointer } from '../audio/endpoint.js';
import { WHISPER_RATE } from '../audio/resample.js';
import type { Vad } from '../audio/vad.js';
import { type Clock, systemClock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/contract.js';
import { phrasePrompt } from '../engine/stream/options.js';
import { AbortError, WhisperError } from '../errors.js';
import type { StageTimes } from '../metrics/stages.js';
import { StageWindow } from '../metrics/stages.js';
import type { DictationRecord, History } from './history.js';
import type { Output } from './output.js';
import { dictationLine, joinPhrases, spaced } from './phrases.js';
import { type LiveText, PhrasePreview, type PreviewStats } from './preview.js';
import { AudioRing } from './ring.js';
import { finishText } from './text.js';
import { TriggerMachine } from './trigger.js';

const RATE = WHISPER_RATE;
const samples = (ms: number) => Math.round((ms * RATE) / 1000);
const millis = (n: number) => (n / RATE) * 1000;

export type TriggerSource = 'hotkey' | 'socket';
/** why a phrase ended: a pause or the length limit cut it, or the dictation itself ended */
export type EndReason = 'pause' | 'max-length' | 'release' | 'press' | 'socket' | 'silence' | 'mic-lost';
/** what the recording indicator shows */
export type IndicatorState = 'listening' | 'transcribing' | 'pasted' | 'no-speech' | 'error';

interface Phrase {
  n: number;
  reason: EndReason;
  /** when it was cut (performance time): total counts from here */
  endedAt: number;
  times: StageTimes;
  result: Promise<PhraseResult>;
}

interface PhraseResult {
  record: DictationRecord;
  /** the text to deliver; undefined when there is none (no speech, failed, cancelled) */
  text?: string;
}

/** One dictation: from the trigger to the press, release or command that ends it. */
interface Session {
  seq: number;
  id: string;
  source: TriggerSource;
  triggerMs: number;
  /** absolute ring indices: the trigger, the first sample kept (pre-roll), the current phrase's start */
  triggerIndex: number;
  startIndex: number;
  phraseStart: number;
  /** first voiced frame of the current phrase, end of the last voiced frame of the dictation */
  firstVoice: number | undefined;
  lastVoice: number;
  heardSpeech: boolean;
  endpointer: Endpointer;
  vadCursor: number;
  phrases: Phrase[];
  /** phrases cut but not yet handed to delivery (a held dictation hands them over at its end) */
  undelivered: Phrase[];
  /** the text of the newest phrase (the next one's prompt) */
  previousText: Promise<string>;
  /** what has been delivered so far, for the spacing of the next paste */
  deliveredText: string;
  /** what of it was copied (no keystroke could deliver it): the clipboard holds all of it */
  copiedText: string;
  /** why keystrokes were asked for but the text was copied (said once, at the end) */
  fellBack?: string;
  /** deliveries made (one per group of phrases pasted together) */
  pastes: number;
  controller: AbortController;
  ended?: EndReason;
  mode: 'held' | 'latched';
  /** the live preview of the open phrase (preview.enabled) */
  preview?: PhrasePreview;
  /** the newest phrase's final text, as its result resolved (the prompt a preview shares with the next final) */
  lastText: string;
  /** the finals of this dictation's phrases so far, for the live text */
  finals: string[];
}

export interface HostDeps {
  config: Config;
  engine: Engine;
  history: History;
  output: Output;
  vad: Vad;
  log: (line: string) => void;
  notify?: (message: string) => void;
  /** the time and the timers (ms, monotonic); tests drive a manual one */
  clock?: Clock;
  /**
   * The title and class of the window with the keyboard focus, where the desktop says (X11), read
   * just after a paste or typing: the window the text went to, kept in its history record.
   */
  focusedWindow?: () => Promise<string | undefined>;
}

/** One finished phrase, as the 'dictation' event and the history record report it. */
export interface DictationEvent {
  record: DictationRecord;
  times: StageTimes;
}

/** What a retry did: the entry transcribed again (`text`, maybe empty) and how that text went out. */
export interface Retried {
  id: string;
  text: string;
  /** 'nothing': no words heard, nothing delivered */
  outcome: 'pasted' | 'typed' | 'copied' | 'written' | 'nothing';
  hint?: string;
  record: DictationRecord;
}

/** What a re-paste did: pasted or typed into a window, copied for the user to paste (hint: how), written to stdout. */
export interface Repasted {
  text: string;
  outcome: 'pasted' | 'typed' | 'copied' | 'written';
  hint?: string;
}

/** how long a release (or end) that came before its press (or begin) waits for it */
const OVERTAKEN_MS = 1500;

export class DictationHost extends EventEmitter {
  readonly ring: AudioRing;
  readonly trigger: TriggerMachine;
  readonly stages = new StageWindow();
  private session: Session | undefined;
  private seq = 0;
  private deliveries: Promise<unknown> = Promise.resolve();
  /** dictations with phrases not yet delivered, by seq */
  private readonly inFlight = new Map<number, Session>();
  private micProblem: string | undefined = 'the microphone is not open yet';
  readonly counts = { dictations: 0, phrases: 0, noSpeech: 0, tooShort: 0, cancelled: 0, failed: 0, historyErrors: 0 };
  private lastRecord: DictationRecord | undefined;
  private lastFeedAt = 0;
  /** samples in the last block fed: blockMs (20 ms) blocks while live, ~1 s batches while idle */
  private lastFeedSamples = 0;
  private reachWaiters: Array<{ index: number; resolve: () => void }> = [];
  private readonly clock: Clock;
  /** phrases cut whose final is not in yet (of any dictation): previews wait for them */
  private pendingFinals = 0;
  /** what the live previews did, over every dictation */
  readonly previewStats: PreviewStats = { previews: 0, aborted: 0, failed: 0, ms: 0 };

  constructor(private readonly d: HostDeps) {
    super();
    const c = d.config;
    this.ring = new AudioRing(c.audio.bufferSeconds, RATE);
    this.trigger = new TriggerMachine(c.hotkey.mode, c.hotkey.holdMs);
    this.clock = d.clock ?? systemClock;
  }

  /** Phrases cut so far in the dictation being recorded (0 when none is). */
  get phrasesCut(): number {
    return this.session?.phrases.length ?? 0;
  }

  get state(): 'idle' | 'recording' {
    return this.session ? 'recording' : 'idle';
  }

  /** The capture is running (undefined) or why it is not. */
  setMicrophone(problem: string | undefined): void {
    this.micProblem = problem;
  }

  // ---- audio in -------------------------------------------------------------------------------

  /** Capture's callback: 16 kHz mono blocks, any length. */
  feed(pcm: Float32Array): void {
    this.ring.write(pcm);
    this.lastFeedAt = this.clock.now();
    this.lastFeedSamples = pcm.length;
    if (this.reachWaiters.length) {
      for (const w of this.reachWaiters.filter((w) => w.index <= this.ring.end)) w.resolve();
      this.reachWaiters = this.reachWaiters.filter((w) => w.index > this.ring.end);
    }
    // 'meter': the input level all the time, for a page that shows it (listened to only while one is open)
    if (this.listenerCount('meter')) this.emit('meter', rms(pcm));
    const s = this.session;
    if (!s) return;
    if (this.listenerCount('level')) this.emit('level', rms(pcm));
    const frame = this.d.vad.frameSamples;
    const v = this.d.config.vad;
    while (this.ring.end - s.vadCursor >= frame) {
      const speech = this.d.vad.isSpeech(this.ring.read(s.vadCursor, s.vadCursor + frame));
      const decision = s.endpointer.push(speech);
      s.vadCursor += frame;
      if (speech) {
        s.firstVoice ??= s.vadCursor - frame;
        s.lastVoice = s.vadCursor;
      }
      if (decision === 'speech') s.heardSpeech = true;
      if (decision === 'end') this.cut(s, s.vadCursor, 'pause');
      else if (millis(s.vadCursor - s.phraseStart) >= v.maxUtteranceMs) {
        this.d.log(`a phrase reached vad.maxUtteranceMs (${v.maxUtteranceMs} ms): cut there, the dictation goes on`);
        this.cut(s, s.vadCursor, 'max-length');
      }
      if (this.session !== s) return;
      if (s.mode !== 'latched') continue;
      if (!s.heardSpeech && millis(s.vadCursor - s.triggerIndex) >= v.noSpeechTimeoutMs) {
        this.d.log(`nothing said for ${v.noSpeechTimeoutMs} ms: stopped listening`);
        this.cancel('no speech');
        return;
      }
      if (v.latchSilenceMs > 0 && s.heardSpeech && millis(s.vadCursor - s.lastVoice) >= v.latchSilenceMs) {
        this.finish('silence', s.vadCursor);
        return;
      }
    }
    s.preview?.poke();
  }

  /** The microphone went away: what was captured of the current dictation is still transcribed. */
  micLost(message: string): void {
    this.micProblem = message;
    this.d.notify?.(`microphone lost: ${message}`);
    if (this.session) this.finish('mic-lost', this.ring.end);
  }

  // ---- triggers -------------------------------------------------------------------------------

  hotkeyDown(): void {
    const a = this.trigger.down(this.clock.now());
    if (a === 'begin') this.start('hotkey', this.trigger.state === 'latched' ? 'latched' : 'held');
    else if (a === 'end') this.finish('press');
  }

  hotkeyUp(): void {
    const a = this.trigger.up(this.clock.now());
    if (a === 'end') this.finish('release');
    else if (a === 'latch') this.latch();
  }

  /**
   * Socket `press` / `release`: the hotkey as a compositor binding reports it (Wayland), with the
   * configured hotkey.mode — in hybrid a quick tap latches and a hold is push-to-talk, as with a grabbed key.
   */
  press(): string {
    const had = this.session;
    const tapped = this.takeOvertaken('release');
    this.hotkeyDown();
    if (tapped) this.hotkeyUp(); // its release came first: the tap is whole now (hybrid: it latches)
    return this.session ? 'recording' : had ? 'transcribing' : 'not recording';
  }

  release(): string {
    if (!this.trigger.pressed) return this.overtake('release');
    const had = this.session;
    this.hotkeyUp();
    if (this.session) return this.trigger.state === 'latched' ? 'recording hands-free' : 'recording';
    return had ? 'transcribing' : 'not recording';
  }

  /**
   * A compositor runs one process per key event, and a quick tap's two may reach the socket in the
   * wrong order: a `release` with no key down (an `end` with nothing recording) is kept for a moment,
   * so that the `press` (`begin`) it overtook completes a tap instead of starting a dictation that would
   * wait for a release already gone.
   */
  private overtaken: { kind: 'release' | 'end'; at: number } | undefined;

  private overtake(kind: 'release' | 'end'): string {
    this.overtaken = { kind, at: this.clock.now() };
    return this.session ? 'recording' : 'not recording';
  }

  private takeOvertaken(kind: 'release' | 'end'): boolean {
    const o = this.overtaken;
    this.overtaken = undefined;
    return o?.kind === kind && this.clock.now() - o.at <= OVERTAKEN_MS;
  }

  /** Socket `begin`: push-to-talk until `end`. */
  begin(): string {
    if (this.takeOvertaken('end')) return 'not recording (its end came first)';
    if (this.session) return 'already recording';
    this.start('socket', 'held');
    this.trigger.began('held');
    return 'recording';
  }

  end(): string {
    if (!this.session) return this.overtake('end');
    this.finish('socket');
    return 'transcribing';
  }

  /** Socket `toggle`: a latched dictation, or the end of the one that runs. */
  toggle(): string {
    if (this.session) return this.end();
    this.start('socket', 'latched');
    this.trigger.began('latched');
    return 'recording';
  }

  /**
   * Drops the dictation being recorded (with whatever of it is not pasted yet), or else stops the
   * newest one still being transcribed: nothing more of it is pasted.
   */
  cancel(why = 'cancelled'): string {
    const s = this.session;
    if (s) {
      this.session = undefined;
      this.trigger.ended();
      s.preview?.stop();
      s.controller.abort(new AbortError(why));
      s.ended = 'socket';
      this.counts.cancelled++;
      this.d.log(`dictation ${s.seq} ${why}`);
      this.emit('state', 'idle');
      this.emit('indicator', 'no-speech', why);
      if (s.phrases.length) this.handOver(s, true); // phrases cut earlier are marked cancelled, never pasted
      return 'cancelled the recording';
    }
    const newest = [...this.inFlight.values()].pop();
    if (newest === undefined) return 'nothing to cancel';
    newest.controller.abort(new AbortError(why));
    return 'cancelled the transcription';
  }

  private start(source: TriggerSource, mode: Session['mode']): void {
    const t0 = this.clock.now();
    if (this.micProblem) {
      this.trigger.ended();
      this.d.notify?.(`cannot record: ${this.micProblem}`);
      throw new WhisperError('MIC_UNAVAILABLE', `cannot record: ${this.micProblem}`);
    }
    const c = this.d.config;
    const triggerIndex = this.ring.end + this.notYetDelivered();
    const startIndex = Math.max(this.ring.start, triggerIndex - samples(c.audio.preRollMs));
    const seq = ++this.seq;
    this.session = {
      seq,
      id: `${new Date().toISOString()}#${seq}`,
      source,
      mode,
      triggerMs: 0,
      triggerIndex,
      startIndex,
      phraseStart: startIndex,
      firstVoice: undefined,
      lastVoice: triggerIndex,
      heardSpeech: false,
      endpointer: new Endpointer({ frameMs: c.vad.frameMs, hangoverMs: c.vad.hangoverMs }),
      vadCursor: triggerIndex,
      phrases: [],
      undelivered: [],
      previousText: Promise.resolve(''),
      deliveredText: '',
      copiedText: '',
      pastes: 0,
      controller: new AbortController(),
      lastText: '',
      finals: [],
    };
    if (c.preview.enabled) this.session.preview = this.previewOf(this.session);
    this.d.vad.reset();
    this.session.triggerMs = this.clock.now() - t0;
    this.emit('state', 'recording');
    // labels are short: the indicator has 13 characters beside its level bar
    this.emit('indicator', 'listening', mode === 'latched' ? 'hands-free' : 'listening');
  }

  /** A held dictation became latched (a quick tap in hybrid mode): what is transcribed is pasted from now on. */
  private latch(): void {
    const s = this.session;
    if (!s) return;
    s.mode = 'latched';
    this.emit('indicator', 'listening', 'hands-free');
    this.handOver(s);
  }

  /** Ends the dictation at `at`, or, when a person ended it, at this moment. */
  private finish(reason: EndReason, at?: number): void {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    this.trigger.ended();
    s.ended = reason;
    this.emit('state', 'idle');
    this.cut(s, at ?? this.ring.end + this.notYetDelivered(), reason, at === undefined);
    s.preview?.stop();
    this.handOver(s, true);
    this.emit('indicator', 'transcribing', 'transcribing...');
  }

  // ---- phrases → transcription -----------------------------------------------------------------

  /**
   * Resolves once the ring holds audio up to `index` (or after timeoutMs): a key released now ends the
   * utterance now, though capture delivers the last moments a block later.
   */
  private reach(index: number, timeoutMs: number): Promise<void> {
    if (this.ring.end >= index) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(resolve, timeoutMs);
      this.reachWaiters.push({
        index,
        resolve: () => {
          this.clock.clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** The length of the blocks arriving now (live blocks, or the idle stream's chunks), in ms. */
  private blockMs(): number {
    return Math.max(this.d.config.audio.blockMs, millis(this.lastFeedSamples));
  }

  /**
   * Samples said since the last block arrived, which capture has not delivered yet: the time since,
   * up to one block (audio arrives a block at a time, a little after its last sample was captured).
   */
  private notYetDelivered(): number {
    return samples(Math.min(this.blockMs(), Math.max(0, this.clock.now() - this.lastFeedAt)));
  }

  /**
   * Cuts the current phrase at `endIndex` and starts its transcription. `byPerson`: the end is now (a
   * release, a press, `end`) and its last block may still be on its way.
   */
  private cut(s: Session, endIndex: number, reason: EndReason, byPerson = false): void {
    // a preview of this phrase that runs is stale now: aborted before the final is sent
    s.preview?.cut();
    const n = s.phrases.length + 1;
    const from = this.phraseFrom(s);
    const cutAt = this.clock.now();
    const times: StageTimes = {
      ...(n === 1 ? { trigger: s.triggerMs } : {}),
      capture: millis(endIndex - (n === 1 ? s.triggerIndex : from)),
      endOfSpeech: byPerson ? 0 : reason === 'pause' ? s.endpointer.decisionLagMs : 0,
    };
    const voicedMs = s.endpointer.speechMs;
    s.endpointer.reset();
    s.phraseStart = endIndex;
    s.firstVoice = undefined;
    const audio = byPerson
      ? this.reach(endIndex, this.blockMs() * 1.5 + 100).then(() => {
          times.endOfSpeech = this.clock.now() - cutAt; // release → the audio in hand
          const to = Math.min(endIndex, this.ring.end); // short of endIndex only when capture stalled
          return this.ring.read(Math.min(from, to), to);
        })
      : Promise.resolve(this.ring.read(from, endIndex));
    const previous = s.previousText;
    const phrase: Phrase = { n, reason, endedAt: cutAt, times, result: audio.then((pcm) => this.transcribePhrase(s, n, reason, pcm, voicedMs, times, previous)) };
    s.previousText = phrase.result.then(
      (r) => r.text ?? previous,
      () => previous,
    );
    this.pendingFinals++;
    void phrase.result.then(
      (r) => this.finalIn(s, r.text),
      () => this.finalIn(s, undefined),
    );
    s.phrases.push(phrase);
    s.undelivered.push(phrase);
    this.inFlight.set(s.seq, s);
    if (s.mode === 'latched') this.handOver(s);
  }

  /** Keeps the phrase, then transcribes it; never rejects. */
  private async transcribePhrase(
    s: Session,
    n: number,
    reason: EndReason,
    pcm: Float32Array,
    voicedMs: number,
    times: StageTimes,
    previous: Promise<string>,
  ): Promise<PhraseResult> {
    const c = this.d.config;
    const ms = millis(pcm.length);
    const only = n === 1 && reason !== 'pause' && reason !== 'max-length';
    const settings = { model: c.model, language: c.transcription.language, mode: c.hotkey.mode, trigger: s.source, ended: reason, dictation: s.id, phrase: n };
    const at = new Date().toISOString();
    if (only && ms - c.audio.preRollMs < c.vad.minUtteranceMs && reason !== 'silence') {
      this.counts.tooShort++;
      this.d.log(`utterance of ${ms.toFixed(0)} ms is shorter than vad.minUtteranceMs: ignored`);
      return { record: { id: `short-${s.seq}`, at, seconds: ms / 1000, state: 'no-speech', voicedMs, settings } };
    }
    // The silent end of a dictation that said something already is not worth a record.
    if (n > 1 && voicedMs < c.vad.minSpeechMs) return { record: { id: `tail-${s.seq}-${n}`, at, seconds: ms / 1000, state: 'no-speech', voicedMs, settings } };
    let record: DictationRecord = { id: `unsaved-${s.seq}-${n}`, at, seconds: ms / 1000, state: 'captured', voicedMs, settings };
    if (this.d.history.enabled) {
      try {
        record = await this.d.history.save(pcm, { voicedMs, settings });
      } catch (e) {
        this.counts.historyErrors++;
        this.d.notify?.(`${(e as Error).message}; transcribing from memory`);
      }
    }
    if (voicedMs < c.vad.minSpeechMs) {
      this.counts.noSpeech++;
      this.d.log(`no speech heard in ${ms.toFixed(0)} ms of audio (${voicedMs} ms voiced): nothing transcribed or pasted`);
      await this.saveRecord(record, { state: 'no-speech', timings: times });
      return { record };
    }
    this.d.output.prepare();
    const signal = s.controller.signal;
    try {
      const prompt = phrasePrompt(c.transcription.prompt, c.transcription.previousText ? await previous : '');
      const t0 = this.clock.now();
      if (signal.aborted) throw new AbortError('cancelled before it was transcribed');
      const transcript = await this.d.engine.transcribe(pcm, { language: c.transcription.language, prompt, audioCtx: 'auto', priority: 'interactive', signal });
      times.transcription = this.clock.now() - t0;
      s.preview?.decoded(times.transcription);
      const text = finishText(transcript.text, { replacements: c.transcription.replacements, trailingSpace: c.output.trailingSpace });
      if (transcript.backend) record.backend = transcript.backend;
      return { record, text };
    } catch (e) {
      const err = e as Error & { code?: string };
      const cancelled = signal.aborted;
      if (cancelled) this.counts.cancelled++;
      else {
        this.counts.failed++;
        this.d.notify?.(`transcription failed: ${err.message} (the audio is kept: prism-dictate retry)`);
      }
      await this.saveRecord(record, { state: cancelled ? 'cancelled' : 'failed', error: { code: err.code ?? 'TRANSCRIBE_FAILED', message: err.message }, timings: times });
      return { record };
    }
  }

  /** Where the open phrase starts: after the first, a pre-roll before its first voiced frame (the pause before it is silence). */
  private phraseFrom(s: Session): number {
    if (s.phrases.length === 0) return s.startIndex;
    return Math.max(s.phraseStart, (s.firstVoice ?? s.phraseStart) - samples(this.d.config.audio.preRollMs));
  }

  /** The live preview of a dictation's open phrase, on the engine it shares with the finals. */
  private previewOf(s: Session): PhrasePreview {
    const c = this.d.config;
    return new PhrasePreview({
      engine: this.d.engine,
      clock: this.clock,
      minIntervalMs: c.preview.minIntervalMs,
      language: c.transcription.language,
      phraseMs: () => (s.endpointer.heardSpeech ? millis(this.ring.end - this.phraseFrom(s)) : undefined),
      audio: () => this.ring.read(this.phraseFrom(s), this.ring.end),
      prompt: () => phrasePrompt(c.transcription.prompt, c.transcription.previousText ? s.lastText : ''),
      finalsPending: () => this.pendingFinals > 0,
      onText: (t) => {
        if (this.session === s) this.emitLive(s, t);
      },
      stats: this.previewStats,
      log: this.d.log,
    });
  }

  /**
   * 'live': the dictation's text so far as the indicator shows it — its phrases' finals and the open
   * phrase's committed words (settled), then the open phrase's unstable tail. Shown, never delivered.
   */
  private emitLive(s: Session, t: LiveText): void {
    const settled = [...s.finals, t.committed].filter(Boolean).join(' ');
    this.emit('live', { committed: settled, tail: t.tail } satisfies LiveText);
  }

  /** A phrase's final is in (text, or none): the next preview may go, and the live text shows it. */
  private finalIn(s: Session, text: string | undefined): void {
    this.pendingFinals--;
    if (text !== undefined) {
      s.lastText = text;
      if (text.trim()) s.finals.push(text.trim());
    }
    if (this.session !== s || !s.preview) return;
    this.emitLive(s, { committed: '', tail: '' });
    s.preview.poke();
  }

  // ---- delivery ----------------------------------------------------------------------------------

  /** Queues the delivery of the phrases cut so far (as one paste), after every earlier delivery. */
  private handOver(s: Session, last = false): void {
    const group = s.undelivered.splice(0);
    if (group.length === 0 && !last) return;
    const step = this.deliveries.then(() => this.deliverGroup(s, group, last));
    this.deliveries = step.catch(() => undefined);
  }

  private async deliverGroup(s: Session, group: Phrase[], last: boolean): Promise<void> {
    const results = await Promise.all(group.map((p) => p.result));
    const aborted = s.controller.signal.aborted;
    const texts = results.map((r) => r.text).filter((t): t is string => !!t?.trim());
    const text = spaced(s.deliveredText, joinPhrases(texts));
    let delivered: string | undefined;
    let copied = false;
    let pasteMs: number | undefined;
    let deliveryError: { code: string; message: string } | undefined;
    let window: Promise<string | undefined> | undefined;
    if (text.trim() && !aborted) {
      try {
        const d = await this.d.output.deliver(text, { before: s.copiedText });
        pasteMs = d.ms;
        delivered = d.method;
        window = this.windowOf(d);
        if (d.copied) {
          copied = true;
          s.copiedText = s.copiedText ? s.copiedText + text : text.trimStart();
          s.fellBack ??= d.fellBack;
        }
        s.deliveredText += text;
        s.pastes++;
      } catch (e) {
        const err = e as Error & { code?: string };
        this.counts.failed++;
        deliveryError = { code: err.code ?? 'PASTE_FAILED', message: err.message };
        this.d.log(`dictation ${s.seq}: the text was neither typed nor copied: ${err.message} (kept in the history: prism-dictate repaste)`);
        this.d.notify?.(`could not deliver the text: ${err.message} (prism-dictate repaste tries again)`);
      }
    }
    if (last && !aborted) this.counts.dictations++; // before the events below, which carry the counts
    const carrier = results.findLastIndex((r) => r.text !== undefined);
    for (const [i, p] of group.entries()) {
      const r = results[i] as PhraseResult;
      if (r.text === undefined) {
        if (!r.record.id.startsWith('tail-')) this.emit('dictation', { record: r.record, times: p.times } satisfies DictationEvent);
        continue;
      }
      if (aborted) {
        this.counts.cancelled++;
        await this.saveRecord(r.record, { state: 'cancelled', text: r.text, timings: p.times });
        this.emit('dictation', { record: r.record, times: p.times } satisfies DictationEvent);
        continue;
      }
      if (i === carrier) {
        // The last phrase with words carries the end of the group: paste, and total from the group's end
        // (the release, for a hold whose last phrase was silence) to the text delivered.
        const end = group.at(-1) as Phrase;
        if (pasteMs !== undefined) p.times.paste = pasteMs;
        if (end !== p && end.times.endOfSpeech !== undefined) p.times.endOfSpeech = end.times.endOfSpeech;
        p.times.total = this.clock.now() - end.endedAt;
      }
      this.counts.phrases++;
      this.stages.add(p.times);
      const state = deliveryError ? 'failed' : copied ? 'copied' : 'done';
      const into = await window;
      await this.saveRecord(r.record, {
        state,
        text: r.text,
        timings: p.times,
        ...(delivered ? { delivered } : {}),
        ...(into ? { window: into } : {}),
        ...(deliveryError ? { error: deliveryError } : {}),
      });
      this.lastRecord = r.record;
      this.emit('dictation', { record: r.record, times: p.times } satisfies DictationEvent);
    }
    if (delivered && this.session === s) this.emit('indicator', 'listening', `hands-free·${s.pastes}`);
    else if (copied) this.emit('indicator', 'pasted', `copied ${s.copiedText.trim().length} characters`);
    else if (delivered) this.emit('indicator', 'pasted', `pasted ${s.deliveredText.trim().length} characters`);
    else if (deliveryError) this.emit('indicator', 'error', 'not delivered');
    if (!last) return;
    if (s.copiedText && !aborted) {
      const why = s.fellBack ? ` (${s.fellBack})` : '';
      this.d.notify?.(`copied ${s.copiedText.trim().length} characters to the clipboard — press ${this.d.output.pasteLabel} to paste${why}`);
      this.emit('copied', s.copiedText); // once a dictation: its cue tells the user to paste
    }
    this.inFlight.delete(s.seq);
    const failed = results.some((r) => r.record.state === 'failed');
    if (!s.deliveredText && !aborted && !deliveryError) this.emit('indicator', failed ? 'error' : 'no-speech', failed ? 'transcription failed' : 'no speech');
    void this.d.history.prune(s.phrases.length ? results.map((r) => r.record.id) : []).catch(() => undefined);
    const all = await Promise.all(s.phrases.map((p) => p.result));
    const audioSeconds = all.reduce((sum, r) => sum + r.record.seconds, 0);
    const spoken = all.filter((r) => !r.record.id.startsWith('tail-')).length;
    // the stages of the last phrase with words (it carries the dictation's end), else of the last one
    const shown = s.phrases[all.findLastIndex((r) => r.text !== undefined)] ?? s.phrases.at(-1);
    this.d.log(
      dictationLine(
        {
          id: String(s.seq),
          mode: `${this.trigger.mode}/${s.mode}`,
          trigger: s.source,
          ended: s.ended ?? '?',
          phrases: spoken,
          audioSeconds,
          times: shown?.times ?? {},
          text: s.deliveredText,
        },
        this.d.config.log.text,
      ),
    );
    this.emit('finished');
  }

  /** The focused window's name after keystrokes delivered the text (undefined: copied, written, or not known here). */
  private windowOf(d: { method: string; copied?: boolean }): Promise<string | undefined> | undefined {
    if (d.copied || (d.method !== 'paste' && d.method !== 'type') || !this.d.focusedWindow) return undefined;
    return this.d.focusedWindow().catch(() => undefined);
  }

  private async saveRecord(record: DictationRecord, patch: Partial<DictationRecord>): Promise<void> {
    if (!record.audio) {
      Object.assign(record, patch);
      return;
    }
    try {
      await this.d.history.update(record, patch);
    } catch (e) {
      this.counts.historyErrors++;
      this.d.log((e as Error).message);
    }
  }

  // ---- history commands -------------------------------------------------------------------------

  private async lastWith(pred: (r: DictationRecord) => boolean): Promise<DictationRecord | undefined> {
    if (this.lastRecord && pred(this.lastRecord)) return this.lastRecord;
    return (await this.d.history.list(50)).find(pred);
  }

  /**
   * Delivers the last dictated text again: into the focused window, or (the dashboard) into the one it
   * went to; says what happened (pasted, typed, copied for the user to paste, written). A text neither
   * delivered nor copied throws.
   */
  async repaste(o: { intoLastWindow?: boolean } = {}): Promise<Repasted> {
    const last = await this.lastWith((r) => !!r.text?.trim());
    if (!last?.text) throw new WhisperError('HISTORY_FAILED', 'there is no dictated text to paste again');
    const d = await this.d.output.deliver(last.text, { into: o.intoLastWindow ? 'last' : 'focused' });
    if (d.copied) return { text: last.text, outcome: 'copied', hint: `press ${this.d.output.pasteLabel} to paste${d.fellBack ? ` (${d.fellBack})` : ''}` };
    return { text: last.text, outcome: d.method === 'type' ? 'typed' : d.method === 'stdout' ? 'written' : 'pasted' };
  }

  /**
   * Transcribes a kept audio again — entry `id`, or the newest with audio — and delivers the text:
   * into the focused window, or (the dashboard) into the one the last dictation went to. The record is
   * updated, and 'retried' is emitted with it.
   */
  async retry(o: { id?: string; intoLastWindow?: boolean } = {}): Promise<Retried> {
    const entry = o.id === undefined ? await this.lastWith((r) => !!r.audio) : await this.d.history.get(o.id);
    if (!entry) {
      throw new WhisperError('HISTORY_FAILED', o.id === undefined ? 'there is no kept audio to transcribe again' : `there is no history entry ${JSON.stringify(o.id)}`);
    }
    // the record kept in memory for repaste is the same entry: update that one
    const last = this.lastRecord?.id === entry.id ? this.lastRecord : entry;
    const pcm = await this.d.history.audio(last);
    const c = this.d.config;
    const t = await this.d.engine.transcribe(pcm, { language: c.transcription.language, prompt: c.transcription.prompt, audioCtx: 'auto', priority: 'interactive' });
    const text = finishText(t.text, { replacements: c.transcription.replacements, trailingSpace: c.output.trailingSpace });
    if (!text.trim()) {
      await this.saveRecord(last, { state: 'no-speech', text, error: undefined });
      this.emit('retried', last);
      return { id: last.id, text, outcome: 'nothing', record: last };
    }
    try {
      const d = await this.d.output.deliver(text, { into: o.intoLastWindow ? 'last' : 'focused' });
      const into = await this.windowOf(d);
      await this.saveRecord(last, { state: d.copied ? 'copied' : 'done', text, error: undefined, delivered: d.method, window: into });
      this.emit('retried', last);
      if (d.copied) return { id: last.id, text, outcome: 'copied', hint: `press ${this.d.output.pasteLabel} to paste${d.fellBack ? ` (${d.fellBack})` : ''}`, record: last };
      return { id: last.id, text, outcome: d.method === 'type' ? 'typed' : d.method === 'stdout' ? 'written' : 'pasted', record: last };
    } catch (e) {
      const err = e as Error & { code?: string };
      await this.saveRecord(last, { state: 'failed', text, error: { code: err.code ?? 'PASTE_FAILED', message: err.message } });
      this.emit('retried', last);
      throw e;
    }
  }

  /** The kept WAV of history entry `id`, as stored (HISTORY_FAILED when there is none). */
  keptAudio(id: string): Promise<Buffer> {
    return this.d.history.wav(id);
  }

  status(): Record<string, unknown> {
    const s = this.session;
    return {
      state: this.state,
      mode: this.trigger.mode,
      ...(s
        ? {
            dictation: {
              id: s.id,
              held: s.mode === 'held',
              latched: s.mode === 'latched',
              trigger: s.source,
              seconds: millis(this.ring.end - s.startIndex) / 1000,
              phrases: s.phrases.length,
              pasted: s.deliveredText.length,
            },
          }
        : {}),
      microphone: this.micProblem ?? 'ok',
      inFlight: this.inFlight.size,
      counts: this.counts,
      latency: this.stages.summary(),
      preview: { enabled: this.d.config.preview.enabled, ...this.previewStats },
      restores: this.d.output.restores,
    };
  }

  /** Waits for every transcription and delivery started so far. */
  async drain(): Promise<void> {
    let seen: Promise<unknown> | undefined;
    while (seen !== this.deliveries) {
      seen = this.deliveries;
      await seen;
    }
  }
}

function rms(pcm: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += (pcm[i] as number) ** 2;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}
