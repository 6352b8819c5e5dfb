/** Checks on PCM handed to transcribe(): type, length, finite values; and a silence test. */
import { WhisperError } from '../errors.js';
import { WHISPER_RATE } from './resample.js';

export const MIN_SAMPLES = WHISPER_RATE / 10; // whisper.cpp refuses < 100 ms
/** The longest input anywhere (library default, the service's frames, the CLI): one hour. */
export const MAX_AUDIO_SECONDS = 3600;
/** |sample| above this is not audio in [-1, 1] (int16 values passed as floats, garbage): refused. */
const MAX_SAMPLE = 16;

/** Type and length only, in constant time (what the service client checks before sending). */
export function checkPcmShape(pcm: unknown, maxSeconds: number): Float32Array {
  if (!(pcm instanceof Float32Array)) {
    const got = pcm === null ? 'null' : ArrayBuffer.isView(pcm) ? pcm.constructor.name : typeof pcm;
    throw new WhisperError('BAD_AUDIO', `audio must be a Float32Array of 16 kHz mono samples in [-1, 1] (got ${got}); readAudio() decodes audio files`);
  }
  if (pcm.length === 0) throw new WhisperError('BAD_AUDIO', 'audio is empty (0 samples)');
  if (pcm.length < MIN_SAMPLES) throw new WhisperError('BAD_AUDIO', `audio is too short: ${((pcm.length / WHISPER_RATE) * 1000).toFixed(0)} ms < 100 ms`);
  const seconds = pcm.length / WHISPER_RATE;
  if (seconds > maxSeconds) throw new WhisperError('BAD_AUDIO', `audio is too long: ${seconds.toFixed(0)} s > ${maxSeconds} s (maxAudioSeconds)`);
  return pcm;
}

/**
 * checkPcmShape, then every sample: finite and within ±MAX_SAMPLE. The loop (firstBadSample) only
 * compares: NaN and ±Infinity fail `x >= -MAX && x <= MAX`. The message is written apart
 * (badSample): with a template formatting the sample in each of its throws, V8's optimised loop kept
 * every sample as a heap number, 30–48 ms for jfk's 11 s in the engine process where a plain loop
 * takes 0.2 ms (vitest's module transform hid it: there the loop was fast).
 */
export function checkPcm(given: unknown, maxSeconds: number): Float32Array {
  const pcm = checkPcmShape(given, maxSeconds);
  const bad = firstBadSample(pcm);
  if (bad >= 0) throw badSample(pcm, bad);
  return pcm;
}

/** The index of the first sample that is not finite or beyond ±MAX_SAMPLE; -1 when none. */
function firstBadSample(pcm: Float32Array): number {
  for (let i = 0; i < pcm.length; i++) {
    const x = pcm[i] as number;
    if (!(x >= -MAX_SAMPLE && x <= MAX_SAMPLE)) return i;
  }
  return -1;
}

function badSample(pcm: Float32Array, i: number): WhisperError {
  const x = pcm[i] as number;
  if (!Number.isFinite(x)) return new WhisperError('BAD_AUDIO', `audio contains ${x} at sample ${i}: samples must be finite`);
  return new WhisperError('BAD_AUDIO', `audio contains ${x} at sample ${i}: samples must be in [-1, 1]${Math.abs(x) <= 32768 ? ' (16-bit PCM? divide by 32768)' : ''}`);
}

/** Peak level in dBFS (−Infinity for digital silence). */
export function peakDbfs(pcm: Float32Array): number {
  let peak = 0;
  for (let i = 0; i < pcm.length; i++) {
    const a = Math.abs(pcm[i] as number);
    if (a > peak) peak = a;
  }
  return 20 * Math.log10(peak);
}
