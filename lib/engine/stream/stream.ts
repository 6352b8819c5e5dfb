/**
 * streamTranscription: live text from audio written as it is heard, over any Engine (a loaded
 * model, the running service, a remote server). The VAD cuts phrases (phraser.ts); the open phrase
 * is decoded again on a cadence that follows the engine's speed (cadence.ts) and its words are
 * committed by LocalAgreement-2 (agreement.ts) into `partial` events; each cut phrase gets one batch
 * transcription, with the prompt the daemon gives it, as its `final`. One decode of a stream runs at
 * a time: finals go first, and a preview still running when its phrase is cut is aborted.
 */
import { StreamResampler, WHISPER_RATE } from '../../audio/resample.js';
import { Vad } from '../../audio/vad.js';
import { type Clock, systemClock } from '../../clock.js';
import { AbortError, WhisperError } from '../../errors.js';
import type { TranscribeOptions } from '../../model.js';
import type { Engine } from '../contract.js';
import { LocalAgreement, startsWithWords, words } from './agreement.js';
import { Cadence } from './cadence.js';
import { EventQueue, type FinalEvent, type StreamEvent } from './events.js';
import { phrasePrompt, type ReadOptions, readStreamOptions, type StreamOptions } from './options.js';
import { type PhraseChange, Phraser } from './phraser.js';

const msOf = (samples: number): number => (samples / WHISPER_RATE) * 1000;
/** |sample| above this is not audio in [-1, 1], as the engines refuse it */
const MAX_SAMPLE = 16;

/** What a stream has done so far. */
export interface StreamStats {
  /** audio written (at 16 kHz) */
  audioMs: number;
  /** phrases started, and finals emitted */
  phrases: number;
  finals: number;
  /** preview decodes that gave a partial; aborted because their phrase was cut (or the stream aborted); failed */
  previews: number;
  abortedPreviews: number;
  failedPreviews: number;
  /** finals that did not begin with the words the partials had committed */
  revisions: number;
  /** preview hypotheses that disagreed with already committed words */
  conflicts: number;
  /** time spent in preview and final decodes */
  previewMs: number;
  finalMs: number;
}

interface Cut {
  phrase: number;
  startSample: number;
  endSample: number;
  reason: FinalEvent['reason'];
  audio: Float32Array;
  committed: string[];
  cutAt: number;
}

interface Running {
  kind: 'preview' | 'final';
  controller: AbortController;
}

/**
 * Starts a stream over `engine`. Write 16 kHz mono Float32Array chunks (or `sampleRate`'s) as they
 * are heard; read the events with `for await (const e of stream)` or the onPartial/onFinal options.
 */
export function streamTranscription(engine: Engine, options?: StreamOptions): TranscriptionStream {
  return new TranscriptionStream(engine, options);
}

export class TranscriptionStream implements AsyncIterable<StreamEvent> {
  readonly stats: StreamStats = { audioMs: 0, phrases: 0, finals: 0, previews: 0, abortedPreviews: 0, failedPreviews: 0, revisions: 0, conflicts: 0, previewMs: 0, finalMs: 0 };
  private readonly o: ReadOptions;
  private readonly clock: Clock;
  private readonly cadence: Cadence;
  private readonly queue = new EventQueue();
  private readonly resampler: StreamResampler | undefined;
  private inputSamples = 0;
  private vad: Vad | undefined;
  private phraser: Phraser | undefined;
  /** chunks written before the VAD was loaded */
  private early: Float32Array[] | undefined = [];
  private open: { phrase: number; startSample: number; agreement: LocalAgreement } | undefined;
  private readonly cuts: Cut[] = [];
  private running: Running | undefined;
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private previousText = '';
  private phraseCount = 0;
  private ending = false;
  private stopped: { error?: unknown } | undefined;
  private readonly finished: Promise<void>;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  private iterated = false;
  private readonly onSignal = (): void => this.abort(this.o.signal?.reason);

  constructor(
    private readonly engine: Engine,
    options?: StreamOptions,
    clock: Clock = systemClock,
  ) {
    if (!engine || typeof (engine as Engine).transcribe !== 'function') throw new WhisperError('BAD_ARGUMENT', 'engine must be an Engine (an object with transcribe())');
    this.o = readStreamOptions(options);
    if (this.o.signal?.aborted) throw new AbortError(undefined, { cause: this.o.signal.reason });
    this.clock = clock;
    this.cadence = new Cadence(this.o);
    if (this.o.sampleRate !== WHISPER_RATE) this.resampler = new StreamResampler(this.o.sampleRate);
    this.finished = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    this.finished.catch(() => undefined); // end() hands it out; an unawaited stream must not crash the process
    this.o.signal?.addEventListener('abort', this.onSignal, { once: true });
    Vad.create({ mode: this.o.vadMode, frameMs: this.o.vadFrameMs }).then(
      (vad) => {
        if (this.stopped) {
          vad.close();
          return;
        }
        this.vad = vad;
        this.phraser = new Phraser(vad, this.o);
        const early = this.early ?? [];
        this.early = undefined;
        for (const pcm of early) this.take(pcm);
        if (this.ending) this.flush();
        this.pump();
      },
      (e: unknown) => this.fail(e),
    );
  }

  /** whether end() or abort() was called, or the stream failed */
  get closed(): boolean {
    return this.ending || this.stopped !== undefined;
  }

  /**
   * Audio as it is heard: mono samples in [-1, 1] at `sampleRate` (16 kHz unless told). Throws BAD_AUDIO
   * (not a Float32Array, a sample not finite or far out of range: the chunk is refused, the stream goes
   * on) and CLOSED after end() or abort().
   */
  write(chunk: Float32Array): void {
    if (this.stopped || this.ending) throw new WhisperError('CLOSED', `the stream is ${this.stopped?.error !== undefined ? 'aborted' : 'ended'}: no more audio can be written`);
    if (!(chunk instanceof Float32Array)) {
      const got = chunk === null ? 'null' : ArrayBuffer.isView(chunk) ? (chunk as object).constructor.name : typeof chunk;
      throw new WhisperError('BAD_AUDIO', `a chunk must be a Float32Array of mono samples in [-1, 1] (got ${got})`);
    }
    for (let i = 0; i < chunk.length; i++) {
      const x = chunk[i] as number;
      if (!(x >= -MAX_SAMPLE && x <= MAX_SAMPLE)) throw new WhisperError('BAD_AUDIO', `the chunk holds ${x} at sample ${i}: samples must be finite, in [-1, 1]`);
    }
    this.inputSamples += chunk.length;
    const pcm = this.resampler ? this.resampler.push(chunk) : chunk.slice();
    if (this.early) this.early.push(pcm);
    else this.take(pcm);
    this.pump();
  }

  /**
   * No more audio: the open phrase is cut here and gets its final. Resolves once every final is out
   * (and the iterator ends); rejects with the stream's error, or AbortError when it was aborted first.
   */
  end(): Promise<void> {
    if (!this.ending && !this.stopped) {
      this.ending = true;
      if (this.resampler) {
        // the resampler lags by its filter's half-width: push that much silence, keep what was written
        const want = Math.floor((this.inputSamples * WHISPER_RATE) / this.o.sampleRate);
        const have = this.stats.audioMs * (WHISPER_RATE / 1000) + (this.early ?? []).reduce((n, p) => n + p.length, 0);
        const tail = this.resampler.push(new Float32Array(Math.ceil(this.o.sampleRate / 100)));
        const rest = tail.subarray(0, Math.max(0, Math.round(want - have)));
        if (this.early) this.early.push(rest);
        else this.take(rest);
      }
      if (!this.early) this.flush();
      this.pump();
    }
    return this.finished;
  }

  /** Stops now: the running decode is aborted, no event follows, end() and the iterator reject with AbortError. */
  abort(reason?: unknown): void {
    if (this.stopped) return;
    const error = reason instanceof AbortError ? reason : new AbortError('the stream was aborted', reason === undefined ? undefined : { cause: reason });
    this.stop(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    if (this.iterated) throw new WhisperError('BAD_ARGUMENT', 'a stream has one reader: its events were iterated already');
    this.iterated = true;
    return {
      next: () => this.queue.next(),
      // leaving the loop early (break, a throw) aborts the stream, as it destroys a Node Readable
      return: async () => {
        if (!this.stopped) this.abort(new AbortError('the reader left the stream'));
        this.queue.drop();
        return { value: undefined, done: true };
      },
    };
  }

  // ---- audio → phrases --------------------------------------------------------------------------

  private take(pcm: Float32Array): void {
    const phraser = this.phraser as Phraser;
    this.stats.audioMs += msOf(pcm.length);
    for (const change of phraser.push(pcm)) this.change(change);
  }

  private flush(): void {
    const last = this.phraser?.finish();
    if (last) this.change(last);
  }

  private change(c: PhraseChange): void {
    if (c.kind === 'start') {
      this.open = { phrase: ++this.phraseCount, startSample: c.startSample, agreement: new LocalAgreement() };
      this.stats.phrases++;
      this.cadence.newPhrase();
      this.o.onPhrase?.({ type: 'start', phrase: this.open.phrase, startMs: msOf(c.startSample) });
      return;
    }
    const open = this.open as NonNullable<typeof this.open>;
    this.open = undefined;
    this.cuts.push({
      phrase: open.phrase,
      startSample: c.startSample,
      endSample: c.endSample,
      reason: c.reason,
      audio: c.audio,
      committed: [...open.agreement.committed],
      cutAt: this.clock.now(),
    });
    this.o.onPhrase?.({ type: 'cut', phrase: open.phrase, startMs: msOf(c.startSample), endMs: msOf(c.endSample) });
    // its preview is stale now: the final goes first
    if (this.running?.kind === 'preview') this.running.controller.abort(new AbortError('its phrase was cut'));
  }

  // ---- the scheduler: one decode at a time, finals first ---------------------------------------

  private pump(): void {
    if (this.stopped || this.running || !this.phraser) return;
    const cut = this.cuts.shift();
    if (cut) {
      void this.final(cut);
      return;
    }
    if (this.ending) {
      if (!this.open) this.complete();
      return;
    }
    if (!this.o.previews || !this.open) return;
    const now = this.clock.now();
    const phraseMs = msOf(this.phraser.samples - this.open.startSample);
    const at = this.cadence.nextPreviewAt(now, phraseMs);
    if (at <= now) {
      void this.preview();
      return;
    }
    if (at === Number.POSITIVE_INFINITY || at >= this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.pump();
    }, at - now);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private prompt(): string | undefined {
    return phrasePrompt(this.o.prompt, this.o.previousText ? this.previousText : '');
  }

  private async preview(): Promise<void> {
    this.clearTimer();
    const open = this.open as NonNullable<typeof this.open>;
    const audio = (this.phraser as Phraser).openAudio() as Float32Array;
    const audioMs = msOf(audio.length);
    const controller = new AbortController();
    const running: Running = { kind: 'preview', controller };
    this.running = running;
    this.cadence.previewed(audioMs);
    const t0 = this.clock.now();
    const options: TranscribeOptions = {
      ...this.engineOptions(),
      signal: controller.signal,
      greedy: true,
      noTimestamps: true,
      temperatureFallback: false,
    };
    try {
      const t = await this.engine.transcribe(audio, options);
      const t1 = this.clock.now();
      this.stats.previewMs += t1 - t0;
      this.cadence.decoded(t1, t1 - t0);
      if (this.stopped || controller.signal.aborted || this.open !== open) return;
      this.stats.previews++;
      const a = open.agreement.update(t.text);
      if (a.conflict) this.stats.conflicts++;
      this.emit({ type: 'partial', phrase: open.phrase, committed: a.committed.join(' '), tail: a.tail.join(' '), startMs: msOf(open.startSample), audioMs, decodeMs: t1 - t0 });
    } catch {
      if (controller.signal.aborted || this.stopped) this.stats.abortedPreviews++;
      else {
        this.stats.failedPreviews++; // a preview is a hint: its failure costs the partial, the final still runs
        this.cadence.decoded(this.clock.now(), this.clock.now() - t0);
      }
    } finally {
      if (this.running === running) this.running = undefined;
      this.pump();
    }
  }

  private async final(cut: Cut): Promise<void> {
    this.clearTimer();
    const controller = new AbortController();
    const running: Running = { kind: 'final', controller };
    this.running = running;
    const prompt = this.prompt();
    const t0 = this.clock.now();
    try {
      const t = await this.engine.transcribe(cut.audio, { ...this.engineOptions(), prompt, signal: controller.signal });
      const t1 = this.clock.now();
      this.stats.finalMs += t1 - t0;
      this.cadence.decoded(t1, t1 - t0);
      if (this.stopped) return;
      const revised = !startsWithWords(words(t.text), cut.committed);
      if (revised) this.stats.revisions++;
      this.previousText = t.text;
      this.stats.finals++;
      this.emit({
        type: 'final',
        phrase: cut.phrase,
        text: t.text,
        startMs: msOf(cut.startSample),
        endMs: msOf(cut.endSample),
        reason: cut.reason,
        ...(prompt !== undefined ? { prompt } : {}),
        committed: cut.committed.join(' '),
        revised,
        timings: t.timings,
        latencyMs: t1 - cut.cutAt,
        waitMs: t0 - cut.cutAt,
        ...(t.skipped ? { skipped: t.skipped } : {}),
      });
    } catch (e) {
      if (!this.stopped) this.fail(e);
    } finally {
      if (this.running === running) this.running = undefined;
      this.pump();
    }
  }

  /** The options every decode of this stream shares: the daemon's (lib/host/dictation.ts). */
  private engineOptions(): TranscribeOptions {
    return { ...(this.o.language !== undefined ? { language: this.o.language } : {}), prompt: this.prompt(), audioCtx: 'auto', priority: 'interactive' };
  }

  // ---- events and the end ---------------------------------------------------------------------

  private emit(e: StreamEvent): void {
    try {
      if (e.type === 'partial') this.o.onPartial?.(e);
      else this.o.onFinal?.(e);
    } catch (err) {
      this.fail(err); // a callback that throws ends the stream with its error
      return;
    }
    // with callbacks and no reader, nothing is kept for a reader that never comes
    if (this.iterated || (!this.o.onPartial && !this.o.onFinal)) this.queue.push(e);
  }

  private fail(e: unknown): void {
    if (this.stopped) return;
    this.stop(e instanceof Error ? e : new WhisperError('TRANSCRIBE_FAILED', String(e)));
  }

  private stop(error: unknown): void {
    this.stopped = { error };
    this.ending = true;
    this.clearTimer();
    this.running?.controller.abort(error);
    this.cuts.length = 0;
    this.open = undefined;
    this.early = undefined;
    this.release();
    this.queue.close(error);
    this.settle.reject(error);
  }

  private complete(): void {
    this.stopped = {};
    this.release();
    this.queue.close();
    this.settle.resolve();
  }

  private release(): void {
    this.o.signal?.removeEventListener('abort', this.onSignal);
    this.vad?.close();
    this.vad = undefined;
  }
}
