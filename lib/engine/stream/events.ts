/** The events of a transcription stream, and the queue that hands them to an async iterator. */
import type { Timings } from '../../model.js';
import type { CutReason } from './phraser.js';

/** The open phrase as its newest preview decode heard it. */
export interface PartialEvent {
  type: 'partial';
  /** 1, 2, … in the order spoken */
  phrase: number;
  /** words two consecutive previews agreed on: within a phrase this only grows */
  committed: string;
  /** the rest of the newest preview: may change */
  tail: string;
  /** where the phrase starts in the stream, and how much of its audio this preview covered */
  startMs: number;
  audioMs: number;
  /** how long the preview decode took */
  decodeMs: number;
}

/** A phrase's text: a batch transcription of exactly its audio, with the prompt the daemon would give it. */
export interface FinalEvent {
  type: 'final';
  phrase: number;
  text: string;
  /** the phrase's audio in the stream: [startMs, endMs) at 16 kHz */
  startMs: number;
  endMs: number;
  /** what cut it: a pause of hangoverMs, maxPhraseMs, or end() */
  reason: CutReason;
  /** the prompt it was transcribed with */
  prompt?: string;
  /** what the partials had committed of this phrase */
  committed: string;
  /** the final does not begin with the committed words: the final wins (counted in stats.revisions) */
  revised: boolean;
  /** the engine's timings of the final decode */
  timings: Timings;
  /** from the cut (the end of the pause's hangover, or end()) to this event */
  latencyMs: number;
  /** of latencyMs, the wait before the final's decode started: a stale preview being aborted, earlier finals */
  waitMs: number;
  /** 'silence': the engine did not run the model (the phrase's audio was below its silence level) */
  skipped?: 'silence';
}

export type StreamEvent = PartialEvent | FinalEvent;

/**
 * Events waiting for the iterator. A partial that has not been read when a newer one of the same
 * phrase arrives is replaced by it (the newer one commits at least as much), so a slow reader
 * falls behind by finals only.
 */
export class EventQueue {
  private readonly items: StreamEvent[] = [];
  private waiting: { resolve: (r: IteratorResult<StreamEvent>) => void; reject: (e: unknown) => void } | undefined;
  private error: unknown;
  private done = false;

  push(e: StreamEvent): void {
    if (this.done) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: e, done: false });
      return;
    }
    const last = this.items.at(-1);
    if (e.type === 'partial' && last?.type === 'partial' && last.phrase === e.phrase) this.items[this.items.length - 1] = e;
    else this.items.push(e);
  }

  /** No more events: the reader gets what is queued, then the end (or `error`). */
  close(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    const w = this.waiting;
    this.waiting = undefined;
    if (w && error !== undefined) w.reject(error);
    else w?.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<StreamEvent>> {
    const e = this.items.shift();
    if (e) return Promise.resolve({ value: e, done: false });
    if (this.done) return this.error !== undefined ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    if (this.waiting) return Promise.reject(new Error('next() called again before the previous call resolved'));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** The reader left: drop what is queued, queue nothing more. */
  drop(): void {
    this.items.length = 0;
    this.close();
  }
}
