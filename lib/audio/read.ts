/** readAudio: an audio file (or its bytes) → Float32Array of 16 kHz mono samples. */
import { readFile } from 'node:fs/promises';
import { WhisperError } from '../errors.js';
import { type DecodeOptions, decodeAudio } from './decode.js';
import { downmix, resample, WHISPER_RATE } from './resample.js';

/**
 * Reads WAV, MP3, Ogg (Vorbis, Opus, FLAC) and FLAC without any system tool, and other formats
 * (M4A, WebM, AAC) through ffmpeg when it is installed; returns 16 kHz mono. `signal` stops the
 * decoding (an AbortError); ffmpeg runs within a time limit and is killed when this process exits.
 */
export async function readAudio(source: string | Uint8Array, options: Pick<DecodeOptions, 'maxSeconds' | 'signal'> = {}): Promise<Float32Array> {
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    try {
      bytes = await readFile(source);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new WhisperError('BAD_AUDIO', code === 'ENOENT' ? `audio file not found: ${source}` : `cannot read ${source}: ${(e as Error).message}`, { cause: e });
    }
  } else if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    throw new WhisperError('BAD_AUDIO', 'readAudio takes a file path or the bytes of an audio file');
  }
  const what = typeof source === 'string' ? source : 'the audio';
  const audio = await decodeAudio(bytes, { ...options, name: what });
  if ((audio.channels[0]?.length ?? 0) === 0) {
    throw new WhisperError('BAD_AUDIO', `${what} holds no audio: its data chunk has 0 samples${audio.truncated ? ' (the file is cut short)' : ''}`);
  }
  return resample(downmix(audio.channels), audio.sampleRate, WHISPER_RATE);
}
