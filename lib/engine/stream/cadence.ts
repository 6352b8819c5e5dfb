/**
 * The cadence of preview decodes: the open phrase is decoded again no sooner than
 * max(minIntervalMs, backoff × the last decode's time) after the previous decode ended, so a slow
 * engine (a large model, a busy CPU, a loaded service) is asked less often instead of being queued
 * behind; and only when the phrase has grown by minGrowthMs since the audio the last preview saw.
 */
export interface CadenceOptions {
  minIntervalMs: number;
  backoff: number;
  /** audio the open phrase needs before its first preview */
  minPreviewMs: number;
  /** new audio a phrase needs before it is decoded again */
  minGrowthMs: number;
}

export class Cadence {
  private lastEndedAt = Number.NEGATIVE_INFINITY;
  private lastDecodeMs = 0;
  /** phrase audio the last preview of the open phrase covered */
  private coveredMs = 0;

  constructor(private readonly o: CadenceOptions) {}

  /** A decode (preview or final) ended at `at`, having taken `ms`; aborted ones are not counted. */
  decoded(at: number, ms: number): void {
    this.lastEndedAt = at;
    this.lastDecodeMs = ms;
  }

  /** The open phrase was cut: the next phrase starts from nothing covered. */
  newPhrase(): void {
    this.coveredMs = 0;
  }

  /** A preview of `phraseMs` of audio started. */
  previewed(phraseMs: number): void {
    this.coveredMs = phraseMs;
  }

  /** the gap the cadence keeps after a decode now */
  get intervalMs(): number {
    return Math.max(this.o.minIntervalMs, this.o.backoff * this.lastDecodeMs);
  }

  /**
   * When (on the clock `now` reads) a preview of an open phrase holding `phraseMs` of audio may start:
   * `now` or later; Infinity when it needs more audio first (a write will ask again).
   */
  nextPreviewAt(now: number, phraseMs: number): number {
    if (phraseMs < this.o.minPreviewMs || phraseMs - this.coveredMs < this.o.minGrowthMs) return Number.POSITIVE_INFINITY;
    return Math.max(now, this.lastEndedAt + this.intervalMs);
  }
}
