/**
 * AudioRing: a preallocated ring of 16 kHz mono float32 audio that capture writes into without
 * pause. Samples are addressed by absolute index (samples since the ring was made), so a caller
 * can remember "speech began at sample N" and later read from N minus some pre-roll, whatever
 * has wrapped in between.
 */

import { WHISPER_RATE } from '../audio/resample.js';
import { WhisperError } from '../errors.js';

export class AudioRing {
  /** samples held at most */
  readonly capacity: number;
  readonly rate: number;
  private readonly buf: Float32Array;
  private written = 0;

  constructor(seconds = 30, rate = WHISPER_RATE) {
    if (!(seconds > 0) || !Number.isFinite(seconds)) throw new WhisperError('BAD_ARGUMENT', `ring length must be a positive number of seconds, got ${seconds}`);
    if (!Number.isInteger(rate) || rate <= 0) throw new WhisperError('BAD_ARGUMENT', `sample rate must be a positive integer, got ${rate}`);
    this.rate = rate;
    this.capacity = Math.max(1, Math.round(seconds * rate));
    this.buf = new Float32Array(this.capacity);
  }

  /** Absolute index of the next sample to be written (= samples written so far). */
  get end(): number {
    return this.written;
  }

  /** Absolute index of the oldest sample still held. */
  get start(): number {
    return Math.max(0, this.written - this.capacity);
  }

  /** Append samples; the oldest are overwritten. Of a block longer than the ring only its newest `capacity` samples are kept. Allocates nothing. */
  write(pcm: Float32Array): void {
    const n = pcm.length;
    const cap = this.capacity;
    const skip = n > cap ? n - cap : 0; // samples of the block that would be overwritten by its own tail
    const at = (this.written + skip) % cap;
    const head = Math.min(n - skip, cap - at);
    this.buf.set(pcm.subarray(skip, skip + head), at);
    if (skip + head < n) this.buf.set(pcm.subarray(skip + head), 0);
    this.written += n;
  }

  /**
   * A copy of the absolute samples [from, to). `from` older than `start` is clamped up to `start`
   * (asking for more pre-roll than is held returns what is held); `to` beyond `end` or `from > to`
   * is a BAD_ARGUMENT error.
   */
  read(from: number, to: number): Float32Array {
    if (!Number.isInteger(from) || !Number.isInteger(to)) throw new WhisperError('BAD_ARGUMENT', `ring read bounds must be integers, got [${from}, ${to})`);
    if (from > to) throw new WhisperError('BAD_ARGUMENT', `ring read of [${from}, ${to}): from is after to`);
    if (to > this.written) throw new WhisperError('BAD_ARGUMENT', `ring read of [${from}, ${to}) goes past the last sample written (${this.written})`);
    const lo = Math.max(from, this.start);
    if (to <= lo) return new Float32Array(0);
    const out = new Float32Array(to - lo);
    const cap = this.capacity;
    const first = lo % cap;
    const head = Math.min(out.length, cap - first);
    out.set(this.buf.subarray(first, first + head), 0);
    if (head < out.length) out.set(this.buf.subarray(0, out.length - head), head);
    return out;
  }

  /** Milliseconds → a whole number of samples at this ring's rate. */
  msToSamples(ms: number): number {
    return Math.round((ms * this.rate) / 1000);
  }
}
