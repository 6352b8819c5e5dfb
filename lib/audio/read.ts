/** readAudio: a WAV file (or its bytes) → Float32Array of 16 kHz mono samples. */
import { readFile } from 'node:fs/promises';
import { WhisperError } from '../errors.js';
import { downmix, resample, WHISPER_RATE } from './resample.js';
import { decodeWav } from './wav.js';

export async function readAudio(source: string | Uint8Array): Promise<Float32Array> {
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
    throw new WhisperError('BAD_AUDIO', 'readAudio takes a file path or the bytes of a WAV file');
  }
  const wav = decodeWav(bytes);
  if ((wav.data[0]?.length ?? 0) === 0) {
    const what = typeof source === 'string' ? source : 'the WAV';
    throw new WhisperError('BAD_AUDIO', `${what} holds no audio: its data chunk has 0 samples${wav.truncated ? ' (the file is cut short)' : ''}`);
  }
  return resample(downmix(wav.data), wav.sampleRate, WHISPER_RATE);
}
