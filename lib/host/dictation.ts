/**
 * The dictation host: trigger → capture → end of speech → transcription → delivery, overlapped.
 * Capture runs all the time into the ring buffer; an utterance is a window of it that starts
 * preRollMs before the trigger. While one utterance transcribes, the next can be recorded; texts
 * are delivered in the order they were spoken. Every utterance is kept in the history before it is
 * transcribed. The host speaks only to a transcription engine (the service), never to the addon.
 */
import { EventEmitter } from 'node:events';
import type { Config } from '../config/schema.js';
import { AbortError, WhisperError } from '../errors.js';
import type { StageTimes } from '../metrics/stages.js';
import { StageWindow } from '../metrics/stages.js';
import type { TranscribeOptions, Transcript } from '../model.js';
import { Endpointer } from './endpoint.js';
import type { DictationRecord, History } from './history.js';
import type { Output } from './output.js';
import { AudioRing } from './ring.js';
import { finishText } from './text.js';
import { TriggerMachine } from './trigger.js';
import type { Vad } from './vad.js';

const RATE = 16000;

export interface HostEngine {
  transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<Transcript>;
}

export type TriggerSource = 'hotkey' | 'socket';
export type EndReason = 'release' | 'press' | 'socket' | 'silence' | 'max-length' | 'mic-lost';

interface Recording {
  seq: number;
  /** absolute ring index of the trigger, and of the first sample kept (pre-roll) */
  triggerIndex: number;
  startIndex: number;
  startedAt: number;
  triggerMs: number;
  source: TriggerSource;
  endpointer: Endpointer;
  vadCursor: number;
}

export interface HostDeps {
  config: Config;
  engine: HostEngine;
  history: History;
  output: Output;
  vad: Vad;
  log: (line: string) => void;
  notify?: (message: string) => void;
}

/** One finished dictation, as the 'dictation' event and the history record report it. */
export interface DictationEvent {
  record: DictationRecord;
  times: StageTimes;
}

export class DictationHost extends EventEmitter {
  readonly ring: AudioRing;
  readonly trigger: TriggerMachine;
  readonly stages = new StageWindow();
  private recording: Recording | undefined;
  private seq = 0;
  private deliveries: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Map<number, AbortController>();
  private micProblem: string | undefined = 'the microphone is not open yet';
  readonly counts = { dictations: 0, noSpeech: 0, tooShort: 0, cancelled: 0, failed: 0, historyErrors: 0 };
  private lastRecord: DictationRecord | undefined;
  private lastFeedAt = 0;
  /** samples in the last block fed: 50 ms blocks while live, ~1 s batches while idle */
  private lastFeedSamples = 0;
  private reachWaiters: Array<{ index: number; resolve: () => void }> = [];

  constructor(private readonly d: HostDeps) {
    super();
    const c = d.config;
    this.ring = new AudioRing(c.audio.bufferSeconds, RATE);
    this.trigger = new TriggerMachine(c.hotkey.mode, c.hotkey.holdMs);
  }

  get state(): 'idle' | 'recording' {
    return this.recording ? 'recording' : 'idle';
  }

  /** The capture is running (undefined) or why it is not. */
  setMicrophone(problem: string | undefined): void {
    this.micProblem = problem;
  }

  // ---- audio in -------------------------------------------------------------------------------

  /** Capture's callback: 16 kHz mono blocks, any length. */
  feed(pcm: Float32Array): void {
    this.ring.write(pcm);
    this.lastFeedAt = performance.now();
    this.lastFeedSamples = pcm.length;
    if (this.reachWaiters.length) {
      for (const w of this.reachWaiters.filter((w) => w.index <= this.ring.end)) w.resolve();
      this.reachWaiters = this.reachWaiters.filter((w) => w.index > this.ring.end);
    }
    const r = this.recording;
    if (!r) return;
    const frame = this.d.vad.frameSamples;
    while (this.ring.end - r.vadCursor >= frame) {
      const decision = r.endpointer.push(this.d.vad.isSpeech(this.ring.read(r.vadCursor, r.vadCursor + frame)));
      r.vadCursor += frame;
      if (decision === 'end' && this.trigger.endsOnSilence) {
        this.finish('silence', r.vadCursor);
        return;
      }
    }
    const c = this.d.config.vad;
    if (r.endpointer.elapsedMs >= c.maxUtteranceMs) {
      this.d.log(`utterance reached vad.maxUtteranceMs (${c.maxUtteranceMs} ms): ending it`);
      this.finish('max-length', this.ring.end);
    } else if (this.trigger.endsOnSilence && !r.endpointer.heardSpeech && r.endpointer.elapsedMs >= c.noSpeechTimeoutMs) {
      this.d.log(`nothing said for ${c.noSpeechTimeoutMs} ms: stopped listening`);
      this.cancel('no speech');
    }
  }

  /** The microphone went away: what was captured of the current utterance is still transcribed. */
  micLost(message: string): void {
    this.micProblem = message;
    this.d.notify?.(`microphone lost: ${message}`);
    if (this.recording) this.finish('mic-lost', this.ring.end);
  }

  // ---- triggers -------------------------------------------------------------------------------

  hotkeyDown(): void {
    const a = this.trigger.down(performance.now());
    if (a === 'begin') this.start('hotkey');
    else if (a === 'end') this.finish('press');
  }

  hotkeyUp(): void {
    if (this.trigger.up(performance.now()) === 'end') this.finish('release');
  }

  /** Socket commands; each returns what happened. */
  begin(): string {
    if (this.recording) return 'already recording';
    this.start('socket');
    this.trigger.began();
    return 'recording';
  }

  end(): string {
    if (!this.recording) return 'not recording';
    this.finish('socket');
    return 'transcribing';
  }

  toggle(): string {
    return this.recording ? this.end() : this.begin();
  }

  /** Drops the utterance being recorded, or else stops the newest one being transcribed (nothing is pasted). */
  cancel(why = 'cancelled'): string {
    if (this.recording) {
      this.recording = undefined;
      this.trigger.ended();
      this.counts.cancelled++;
      this.d.log(`utterance ${why}`);
      this.emit('state', 'idle');
      return 'cancelled the recording';
    }
    const newest = [...this.inFlight.keys()].pop();
    if (newest === undefined) return 'nothing to cancel';
    this.inFlight.get(newest)?.abort(new Error(why));
    return 'cancelled the transcription';
  }

  private start(source: TriggerSource): void {
    const t0 = performance.now();
    if (this.micProblem) {
      this.trigger.ended();
      this.d.notify?.(`cannot record: ${this.micProblem}`);
      throw new WhisperError('MIC_UNAVAILABLE', `cannot record: ${this.micProblem}`);
    }
    const c = this.d.config;
    const triggerIndex = this.ring.end + this.notYetDelivered();
    this.recording = {
      seq: ++this.seq,
      triggerIndex,
      startIndex: Math.max(this.ring.start, triggerIndex - Math.round((c.audio.preRollMs * RATE) / 1000)),
      startedAt: t0,
      triggerMs: 0,
      source,
      endpointer: new Endpointer({ frameMs: c.vad.frameMs, hangoverMs: c.vad.hangoverMs }),
      vadCursor: triggerIndex,
    };
    this.d.vad.reset();
    this.recording.triggerMs = performance.now() - t0;
    this.emit('state', 'recording');
  }

  // ---- end of an utterance → transcription → delivery ----------------------------------------------

  /**
   * Resolves once the ring holds audio up to `index` (or after timeoutMs): a key released now ends the
   * utterance now, though capture delivers the last moments a block later.
   */
  private reach(index: number, timeoutMs: number): Promise<void> {
    if (this.ring.end >= index) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.reachWaiters.push({
        index,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** The length of the blocks arriving now (live blocks, or the idle stream's chunks), in ms. */
  private blockMs(): number {
    return Math.max(this.d.config.audio.blockMs, (this.lastFeedSamples * 1000) / RATE);
  }

  /**
   * Samples said since the last block arrived, which capture has not delivered yet: the time since,
   * up to one block (audio arrives a block at a time, a little after its last sample was captured).
   */
  private notYetDelivered(): number {
    const sinceMs = Math.min(this.blockMs(), Math.max(0, performance.now() - this.lastFeedAt));
    return Math.round((sinceMs * RATE) / 1000);
  }

  /** Ends the recording at `endIndex`, or, when a person ended it, at this moment. */
  private finish(reason: EndReason, at?: number): void {
    const r = this.recording;
    if (!r) return;
    const endIndex = at ?? this.ring.end + this.notYetDelivered();
    this.recording = undefined;
    this.trigger.ended();
    this.emit('state', 'idle');
    const endedAt = performance.now();
    const times: StageTimes = {
      trigger: r.triggerMs,
      capture: ((endIndex - r.triggerIndex) / RATE) * 1000,
      endOfSpeech: reason === 'silence' ? r.endpointer.decisionLagMs : 0,
    };
    const pcm = this.reach(endIndex, this.blockMs() * 1.5 + 100).then(() => {
      const to = Math.min(endIndex, this.ring.end); // short of endIndex only when capture stalled
      return this.ring.read(Math.min(r.startIndex, to), to);
    });
    // Cancellable from this moment until its text is delivered (cancel() takes the newest).
    const controller = new AbortController();
    this.inFlight.set(r.seq, controller);
    const done = pcm.then((audio) => this.process(r, reason, audio, times, endedAt, controller));
    // Deliveries keep the order of speech, whatever order the transcriptions finish in.
    const delivered = this.deliveries
      .then(() => done)
      .then((step) => step?.())
      .finally(() => this.inFlight.delete(r.seq));
    this.deliveries = delivered.catch(() => undefined);
  }

  /** Transcribes now; resolves with the delivery to run once every earlier utterance has been delivered. */
  private async process(
    r: Recording,
    reason: EndReason,
    pcm: Float32Array,
    times: StageTimes,
    endedAt: number,
    controller: AbortController,
  ): Promise<(() => Promise<void>) | undefined> {
    const c = this.d.config;
    const ms = (pcm.length / RATE) * 1000;
    const voicedMs = r.endpointer.speechMs;
    const settings = { model: c.model, language: c.transcription.language, mode: c.hotkey.mode, trigger: r.source, ended: reason };
    if (ms - c.audio.preRollMs < c.vad.minUtteranceMs && reason !== 'silence') {
      this.counts.tooShort++;
      this.d.log(`utterance of ${ms.toFixed(0)} ms is shorter than vad.minUtteranceMs: ignored`);
      this.emit('dictation', {
        record: { id: `short-${r.seq}`, at: new Date().toISOString(), seconds: ms / 1000, state: 'no-speech', voicedMs, settings },
        times,
      } satisfies DictationEvent);
      return undefined;
    }
    let record: DictationRecord = { id: `unsaved-${r.seq}`, at: new Date().toISOString(), seconds: ms / 1000, state: 'captured', voicedMs, settings };
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
      this.emit('dictation', { record, times } satisfies DictationEvent);
      return undefined;
    }
    this.d.output.prepare();
    let transcript: Transcript;
    try {
      const t0 = performance.now();
      if (controller.signal.aborted) throw new AbortError('cancelled before it was transcribed');
      transcript = await this.d.engine.transcribe(pcm, {
        language: c.transcription.language,
        prompt: c.transcription.prompt,
        audioCtx: 'auto',
        signal: controller.signal,
      });
      times.transcription = performance.now() - t0;
    } catch (e) {
      const err = e as Error & { code?: string };
      const cancelled = controller.signal.aborted;
      if (cancelled) this.counts.cancelled++;
      else this.counts.failed++;
      if (!cancelled) this.d.notify?.(`transcription failed: ${err.message} (the audio is kept: prism-dictate retry)`);
      await this.saveRecord(record, { state: cancelled ? 'cancelled' : 'failed', error: { code: err.code ?? 'TRANSCRIBE_FAILED', message: err.message }, timings: times });
      this.emit('dictation', { record, times } satisfies DictationEvent);
      return undefined;
    }
    const text = finishText(transcript.text, { replacements: c.transcription.replacements, trailingSpace: c.output.trailingSpace });
    const backend = transcript.backend;
    return async () => {
      if (controller.signal.aborted) {
        this.counts.cancelled++;
        await this.saveRecord(record, { state: 'cancelled', text, timings: times });
        this.emit('dictation', { record, times } satisfies DictationEvent);
        return;
      }
      let delivered: string | undefined;
      if (text.trim()) {
        try {
          const d = await this.d.output.deliver(text);
          times.paste = d.ms;
          delivered = d.method;
        } catch (e) {
          this.counts.failed++;
          this.d.notify?.(`could not deliver the text: ${(e as Error).message} (prism-dictate repaste tries again)`);
        }
      }
      times.total = performance.now() - endedAt;
      this.counts.dictations++;
      this.stages.add(times);
      await this.saveRecord(record, { state: 'done', text, backend, timings: times, ...(delivered ? { delivered } : {}) });
      this.lastRecord = record;
      this.emit('dictation', { record, times } satisfies DictationEvent);
      void this.d.history.prune([record.id]).catch(() => undefined);
    };
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

  async repaste(): Promise<string> {
    const last = await this.lastWith((r) => !!r.text?.trim());
    if (!last?.text) throw new WhisperError('HISTORY_FAILED', 'there is no dictated text to paste again');
    await this.d.output.deliver(last.text);
    return last.text;
  }

  /** Transcribes the newest kept audio again and delivers the text. */
  async retry(): Promise<string> {
    const last = await this.lastWith((r) => !!r.audio);
    if (!last) throw new WhisperError('HISTORY_FAILED', 'there is no kept audio to transcribe again');
    const pcm = await this.d.history.audio(last);
    const c = this.d.config;
    const t = await this.d.engine.transcribe(pcm, { language: c.transcription.language, prompt: c.transcription.prompt, audioCtx: 'auto' });
    const text = finishText(t.text, { replacements: c.transcription.replacements, trailingSpace: c.output.trailingSpace });
    await this.saveRecord(last, { state: 'done', text, error: undefined });
    if (text.trim()) await this.d.output.deliver(text);
    return text;
  }

  status(): Record<string, unknown> {
    return {
      state: this.state,
      mode: this.trigger.mode,
      microphone: this.micProblem ?? 'ok',
      inFlight: this.inFlight.size,
      counts: this.counts,
      latency: this.stages.summary(),
      restores: this.d.output.restores,
    };
  }

  /** Waits for every transcription and delivery started so far. */
  async drain(): Promise<void> {
    await this.deliveries;
  }
}
