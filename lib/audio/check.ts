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

/** checkPcmShape, then every sample: finite and within ±MAX_SAMPLE. */
export function checkPcm(given: unknown, maxSeconds: number): Float32Array {
  const pcm = checkPcmShape(given, maxSeconds);
  for (let i = 0; i < pcm.length; i++) {
    const x = pcm[i] as number;
    if (!Number.isFinite(x)) throw new WhisperError('BAD_AUDIO', `audio contains ${x} at sample ${i}: samples must be finite`);
    if (Math.abs(x) > MAX_SAMPLE)
      throw new WhisperError('BAD_AUDIO', `audio contains ${x} at sample ${i}: samples must be in [-1, 1]${Math.abs(x) <= 32768 ? ' (16-bit PCM? divide by 32768)' : ''}`);
  }
  return pcm;
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
