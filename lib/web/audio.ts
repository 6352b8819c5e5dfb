/**
 * An uploaded file → 16 kHz mono PCM: WAV, MP3, Ogg and FLAC decoded here, M4A/WebM and the rest
 * through ffmpeg when installed (lib/audio/decode.ts); the length limit applies to the decoded audio.
 * What cannot be decoded gets a 400 that says why, since "invalid file" alone helps nobody.
 */

import { type DecodedAudio, decodeAudio, isTooLong, looksLikeText, sniffFormat } from '../audio/decode.js';
import { downmix, resample, WHISPER_RATE } from '../audio/resample.js';
import { AbortError, WhisperError } from '../errors.js';
import { ApiError } from './reply.js';

function invalid(message: string, code: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', 'file', code);
}

/** The API's error code for a decoder's BAD_AUDIO reason. */
function codeFor(e: WhisperError): string {
  if (isTooLong(e)) return 'audio_too_long';
  switch (e.reason) {
    case 'needs-ffmpeg':
    case 'unsupported-format':
      return 'unsupported_format';
    case 'timeout':
      return 'decode_timeout';
    default:
      return 'invalid_audio';
  }
}

/** Rejects with an AbortError as soon as `signal` aborts, whether or not `work` has stopped by then. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(new AbortError(undefined, { cause: signal.reason }));
    if (signal.aborted) abort();
    signal.addEventListener('abort', abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

const CONTAINERS: Record<string, string> = { wav: 'WAV', flac: 'FLAC', mp3: 'MP3', 'ogg-flac': 'Ogg', 'ogg-opus': 'Ogg', 'ogg-vorbis': 'Ogg' };

/** What a cut-off file is told: a WAV's data is shorter than its header says; others end before their headers' length or inside a page. */
function truncated(name: string, format: string): string {
  const what = format === 'wav' ? 'its data is shorter than its header says' : 'it ends before the end its headers give';
  return `${name} is a truncated ${CONTAINERS[format] ?? format}: ${what} (an incomplete upload?)`;
}

/** `signal`: the client hung up (or the server is stopping): decoding stops, and this rejects with an AbortError at once. */
export async function decodeUpload(bytes: Buffer, filename: string | undefined, maxSeconds: number, signal?: AbortSignal): Promise<Float32Array> {
  const name = filename ? `'${filename}'` : 'the file';
  if (bytes.length === 0) throw invalid(`${name} is empty`, 'invalid_audio');
  if (!sniffFormat(bytes) && looksLikeText(bytes)) throw invalid(`${name} is text, not audio; send an audio file (WAV, MP3, Ogg, FLAC, M4A, WebM)`, 'unsupported_format');
  let audio: DecodedAudio;
  try {
    audio = await untilAborted(decodeAudio(bytes, { name, maxSeconds, signal }), signal);
  } catch (e) {
    if (WhisperError.is(e, 'BAD_AUDIO')) throw invalid(e.message, codeFor(e));
    throw e;
  }
  // A cut-off upload would be transcribed as if the speaker had stopped: say so instead.
  if (audio.truncated) throw invalid(truncated(name, audio.format), 'invalid_audio');
  if ((audio.channels[0]?.length ?? 0) === 0) throw invalid(`${name} holds no audio`, 'invalid_audio');
  return resample(downmix(audio.channels), audio.sampleRate, WHISPER_RATE);
}
