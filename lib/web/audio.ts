/**
 * An uploaded file → 16 kHz mono PCM: WAV, MP3, Ogg and FLAC decoded here, M4A/WebM and the rest
 * through ffmpeg when installed (lib/audio/decode.ts); the length limit applies to the decoded audio.
 * What cannot be decoded gets a 400 that says why, since "invalid file" alone helps nobody.
 */

import { type DecodedAudio, decodeAudio, isTooLong, looksLikeText, sniffFormat } from '../audio/decode.js';
import { downmix, resample, WHISPER_RATE } from '../audio/resample.js';
import { WhisperError } from '../errors.js';
import { ApiError } from './reply.js';

function invalid(message: string, code: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', 'file', code);
}

export async function decodeUpload(bytes: Buffer, filename: string | undefined, maxSeconds: number): Promise<Float32Array> {
  const name = filename ? `'${filename}'` : 'the file';
  if (bytes.length === 0) throw invalid(`${name} is empty`, 'invalid_audio');
  if (!sniffFormat(bytes) && looksLikeText(bytes)) throw invalid(`${name} is text, not audio; send an audio file (WAV, MP3, Ogg, FLAC, M4A, WebM)`, 'unsupported_format');
  let audio: DecodedAudio;
  try {
    audio = await decodeAudio(bytes, { name, maxSeconds });
  } catch (e) {
    if (WhisperError.is(e, 'BAD_AUDIO')) {
      const code = isTooLong(e) ? 'audio_too_long' : e.reason === 'needs-ffmpeg' ? 'unsupported_format' : 'invalid_audio';
      throw invalid(e.message, code);
    }
    throw e;
  }
  // A cut-off upload would be transcribed as if the speaker had stopped: say so instead.
  if (audio.truncated) throw invalid(`${name} is a truncated WAV: its data is shorter than its header says (an incomplete upload?)`, 'invalid_audio');
  if ((audio.channels[0]?.length ?? 0) === 0) throw invalid(`${name} holds no audio`, 'invalid_audio');
  return resample(downmix(audio.channels), audio.sampleRate, WHISPER_RATE);
}
