/**
 * Downmix and band-limited resampling to Whisper's 16 kHz mono: a windowed-sinc (Blackman)
 * interpolator whose cut-off follows the lower of the two Nyquist rates, so downsampling from
 * 44.1/48 kHz does not alias.
 */
import { WhisperError } from '../errors.js';

export const WHISPER_RATE = 16000;
const ZERO_CROSSINGS = 16;

export function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0] as Float32Array;
  const n = (channels[0] as Float32Array).length;
  const out = new Float32Array(n);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i] = (out[i] as number) + (ch[i] as number);
  const k = 1 / channels.length;
  for (let i = 0; i < n; i++) out[i] = (out[i] as number) * k;
  return out;
}

/** The filter's tap `d` input samples from the output's position: sinc at `cutoff`, Blackman-windowed over ±halfWidth. */
function sincTap(d: number, cutoff: number, halfWidth: number): number {
  const x = d * cutoff;
  const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
  return sinc * (0.42 + 0.5 * Math.cos((Math.PI * d) / halfWidth) + 0.08 * Math.cos((2 * Math.PI * d) / halfWidth));
}

export function resample(input: Float32Array, fromRate: number, toRate = WHISPER_RATE): Float32Array {
  if (fromRate === toRate) return input;
  const ratio = fromRate / toRate;
  const outLength = Math.floor(input.length / ratio);
  const out = new Float32Array(outLength);
  const cutoff = Math.min(1, 1 / ratio); // relative to the input's Nyquist
  const halfWidth = ZERO_CROSSINGS / cutoff; // in input samples
  for (let i = 0; i < outLength; i++) {
    const center = i * ratio;
    const lo = Math.max(0, Math.ceil(center - halfWidth));
    const hi = Math.min(input.length - 1, Math.floor(center + halfWidth));
    let acc = 0;
    let norm = 0;
    for (let j = lo; j <= hi; j++) {
      const tap = sincTap(j - center, cutoff, halfWidth);
      acc += (input[j] as number) * tap;
      norm += tap;
    }
    out[i] = norm > 0 ? acc / norm : 0;
  }
  return out;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Block-by-block resampling (the microphone's blocks) with the same Blackman-windowed sinc as resample(), keeping
 * the filter's history between blocks so block edges leave no clicks, and advancing on an exact
 * rational grid (up/down) so it never drifts. The taps of every phase are computed once.
 * Output lags the input by the filter's half-width (1–3 ms).
 */
export class StreamResampler {
  private readonly up: number;
  private readonly down: number;
  private readonly taps: Float64Array[] = [];
  private readonly firstOffset: Int32Array;
  private readonly lastOffset: Int32Array;
  private readonly keepFrom: number;
  private buf: Float32Array;
  private bufStart: number;
  private base = 0; // floor of the next output's position, in input samples
  private phase = 0; // its fraction, in 1/up

  constructor(fromRate: number, toRate = WHISPER_RATE) {
    if (!(Number.isInteger(fromRate) && Number.isInteger(toRate) && fromRate > 0 && toRate > 0)) {
      throw new WhisperError('BAD_ARGUMENT', `rates must be positive integers, got ${fromRate} and ${toRate}`);
    }
    const g = gcd(fromRate, toRate);
    this.up = toRate / g;
    this.down = fromRate / g;
    const cutoff = Math.min(1, toRate / fromRate);
    const halfWidth = ZERO_CROSSINGS / cutoff;
    this.firstOffset = new Int32Array(this.up);
    this.lastOffset = new Int32Array(this.up);
    for (let p = 0; p < this.up; p++) {
      const frac = p / this.up;
      const lo = Math.ceil(frac - halfWidth);
      const hi = Math.floor(frac + halfWidth);
      const taps = new Float64Array(hi - lo + 1);
      let norm = 0;
      for (let k = lo; k <= hi; k++) {
        const tap = sincTap(k - frac, cutoff, halfWidth);
        taps[k - lo] = tap;
        norm += tap;
      }
      for (let i = 0; i < taps.length; i++) taps[i] = (taps[i] as number) / norm;
      this.taps.push(taps);
      this.firstOffset[p] = lo;
      this.lastOffset[p] = hi;
    }
    this.keepFrom = Math.min(...this.firstOffset);
    // Silence before the first sample, so the first outputs have a full window.
    this.bufStart = this.keepFrom;
    this.buf = new Float32Array(-this.keepFrom);
  }

  push(input: Float32Array): Float32Array {
    const buf = new Float32Array(this.buf.length + input.length);
    buf.set(this.buf);
    buf.set(input, this.buf.length);
    const end = this.bufStart + buf.length; // one past the last input index held
    const out = new Float32Array(Math.ceil(((input.length + 2) * this.up) / this.down) + 2);
    let n = 0;
    while (this.base + (this.lastOffset[this.phase] as number) < end) {
      const taps = this.taps[this.phase] as Float64Array;
      const from = this.base + (this.firstOffset[this.phase] as number) - this.bufStart;
      let acc = 0;
      for (let k = 0; k < taps.length; k++) acc += (buf[from + k] as number) * (taps[k] as number);
      out[n++] = acc;
      this.phase += this.down;
      this.base += Math.floor(this.phase / this.up);
      this.phase %= this.up;
    }
    const keep = this.base + this.keepFrom;
    this.buf = buf.slice(keep - this.bufStart);
    this.bufStart = keep;
    return out.subarray(0, n);
  }
}

/** The blocks one after another, in one array. */
export function concatSamples(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
