/**
 * Downmix and band-limited resampling to Whisper's 16 kHz mono: a windowed-sinc (Blackman)
 * interpolator whose cut-off follows the lower of the two Nyquist rates, so downsampling from
 * 44.1/48 kHz does not alias.
 */
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
      const x = (j - center) * cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const w = 0.42 + 0.5 * Math.cos((Math.PI * (j - center)) / halfWidth) + 0.08 * Math.cos((2 * Math.PI * (j - center)) / halfWidth);
      const tap = sinc * w;
      acc += (input[j] as number) * tap;
      norm += tap;
    }
    out[i] = norm > 0 ? acc / norm : 0;
  }
  return out;
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
