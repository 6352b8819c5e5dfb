/**
 * The Slaney-style mel filterbank Whisper uses (librosa.filters.mel with htk=false,
 * norm='slaney'), for sr = 16 kHz and n_fft = 400 (201 frequency bins).
 */
import { WHISPER_RATE } from '../../audio/resample.js';

const SR = WHISPER_RATE;
export const N_FFT_BINS = 201;

function hzToMel(hz: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return hz >= minLogHz ? minLogMel + Math.log(hz / minLogHz) / logStep : hz / fSp;
}

function melToHz(mel: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return mel >= minLogMel ? minLogHz * Math.exp(logStep * (mel - minLogMel)) : fSp * mel;
}

/** n_mels × 201 weights, row-major, as stored in ggml model files. */
export function melFilters(nMels: number): Float32Array {
  const fftFreqs = Array.from({ length: N_FFT_BINS }, (_, i) => (i * SR) / 400);
  const maxMel = hzToMel(SR / 2);
  const melPts = Array.from({ length: nMels + 2 }, (_, i) => melToHz((i * maxMel) / (nMels + 1)));
  const out = new Float32Array(nMels * N_FFT_BINS);
  for (let m = 0; m < nMels; m++) {
    const lo = melPts[m] as number;
    const center = melPts[m + 1] as number;
    const hi = melPts[m + 2] as number;
    const enorm = 2 / (hi - lo);
    for (let k = 0; k < N_FFT_BINS; k++) {
      const f = fftFreqs[k] as number;
      const lower = (f - lo) / (center - lo);
      const upper = (hi - f) / (hi - center);
      out[m * N_FFT_BINS + k] = Math.max(0, Math.min(lower, upper)) * enorm;
    }
  }
  return out;
}
