/**
 * An uploaded file → 16 kHz mono PCM. Only WAV is decoded (no codec libraries); anything else gets
 * a 400 that names what was sent and how to convert it, since "invalid file" alone helps nobody.
 */
import { downmix, resample, WHISPER_RATE } from '../audio/resample.js';
import { decodeWav } from '../audio/wav.js';
import { WhisperError } from '../errors.js';
import { ApiError } from './reply.js';

/** Magic numbers of the containers people send most often instead of WAV. */
const CONTAINERS: Array<[string, (b: Buffer) => boolean]> = [
  ['MP3', (b) => b.subarray(0, 3).toString('latin1') === 'ID3' || (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0)],
  ['FLAC', (b) => b.subarray(0, 4).toString('latin1') === 'fLaC'],
  ['Ogg (Vorbis/Opus)', (b) => b.subarray(0, 4).toString('latin1') === 'OggS'],
  ['MP4/M4A', (b) => b.subarray(4, 8).toString('latin1') === 'ftyp'],
  ['WebM/Matroska', (b) => b.readUInt32BE(0) === 0x1a45dfa3],
];

function invalid(message: string, code: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', 'file', code);
}

/** Text where audio was expected: printable ASCII/UTF-8 and whitespace in the first bytes. */
function looksLikeText(b: Buffer): boolean {
  const head = b.subarray(0, 512);
  return head.length > 0 && head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c !== 127));
}

export function decodeUpload(bytes: Buffer, filename: string | undefined, maxSeconds: number): Float32Array {
  const name = filename ? `'${filename}'` : 'the file';
  if (bytes.length === 0) throw invalid(`${name} is empty`, 'invalid_audio');
  if (bytes.length >= 8 && bytes.subarray(0, 4).toString('latin1') !== 'RIFF') {
    const container = CONTAINERS.find(([, test]) => test(bytes))?.[0];
    if (container) throw invalid(`${name} is ${container}; this server reads WAV only (convert: ffmpeg -i in -ar 16000 -ac 1 out.wav)`, 'unsupported_format');
    if (looksLikeText(bytes)) throw invalid(`${name} is text, not audio; send a WAV file`, 'unsupported_format');
  }
  let wav: ReturnType<typeof decodeWav>;
  try {
    wav = decodeWav(bytes);
  } catch (e) {
    if (WhisperError.is(e, 'BAD_AUDIO')) throw invalid(`${name}: ${e.message}`, 'invalid_audio');
    throw e;
  }
  // A cut-off upload would be transcribed as if the speaker had stopped: say so instead.
  if (wav.truncated) throw invalid(`${name} is a truncated WAV: its data is shorter than its header says (an incomplete upload?)`, 'invalid_audio');
  const seconds = (wav.data[0]?.length ?? 0) / wav.sampleRate;
  if (seconds > maxSeconds) throw invalid(`${name} is ${seconds.toFixed(1)} s long; this server takes at most ${maxSeconds} s per request`, 'audio_too_long');
  return resample(downmix(wav.data), wav.sampleRate, WHISPER_RATE);
}
