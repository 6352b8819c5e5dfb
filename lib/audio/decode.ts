/**
 * Audio bytes in any common format → float samples: 16 kHz mono, except a WAV already at 16 kHz
 * with one channel, returned as read, and ffmpeg's output.
 *
 * WAV is read here (wav.ts); MP3, Ogg (Vorbis, Opus, FLAC) and FLAC through WebAssembly decoders
 * (eshaz's wasm-audio-decoders: mpg123, libvorbis, libopus, libFLAC — no system library, no tool);
 * anything else (M4A/AAC, WebM, …) through the system's `ffmpeg` when there is one, its output
 * streamed and cut off at the length limit, with an error that names what to install when there is
 * none. The limit applies to the decoded length: a small compressed file cannot unpack into hours of
 * samples.
 */
import { WhisperError } from '../errors.js';
import { MAX_AUDIO_SECONDS } from './check.js';
import { decodeFfmpeg } from './ffmpeg.js';
import { WHISPER_RATE } from './resample.js';
import { tooLong, type WasmFormat } from './wasm.js';
import { decodeWav } from './wav.js';
import { runInWorker } from './worker.js';

export interface DecodedAudio {
  channels: Float32Array[];
  sampleRate: number;
  /** wav, mp3, ogg-vorbis, ogg-opus, ogg-flac, flac, or ffmpeg */
  format: string;
  /** cut short: a WAV whose data chunk is shorter than its header says, a FLAC with fewer samples
   * than its STREAMINFO gives, an Ogg stream that ends inside a page */
  truncated: boolean;
}

export interface DecodeOptions {
  /** refuse audio longer than this once decoded (BAD_AUDIO, "too long") */
  maxSeconds?: number;
  /** how the audio is named in messages: a file name, or "the upload" */
  name?: string;
  /** stops decoding (and kills ffmpeg) when aborted: rejects with an AbortError (code ABORT_ERR), as transcribe() does */
  signal?: AbortSignal;
}

const ascii = (b: Uint8Array, from: number, to: number): string => Buffer.from(b.buffer, b.byteOffset + from, Math.max(0, Math.min(to, b.length) - from)).toString('latin1');

/** The container, from the first bytes; undefined when it is none of the ones decoded here. */
export function sniffFormat(b: Uint8Array): 'wav' | 'mp3' | 'flac' | 'ogg-vorbis' | 'ogg-opus' | 'ogg-flac' | 'mp4' | 'webm' | undefined {
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WAVE') return 'wav';
  if (ascii(b, 0, 4) === 'fLaC') return 'flac';
  if (ascii(b, 0, 4) === 'OggS') {
    const head = ascii(b, 0, 256);
    if (head.includes('OpusHead')) return 'ogg-opus';
    if (head.includes('\x01vorbis')) return 'ogg-vorbis';
    if (head.includes('\x7fFLAC')) return 'ogg-flac';
    return undefined;
  }
  if (ascii(b, 4, 8) === 'ftyp') return 'mp4';
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'webm';
  // ID3 tag, or an MPEG audio frame sync with layer III (0xFFFB/0xFFF3/0xFFF2/0xFFFA)
  if (ascii(b, 0, 3) === 'ID3' || (b[0] === 0xff && ((b[1] ?? 0) & 0xe6) === 0xe2)) return 'mp3';
  return undefined;
}

/** Whether a BAD_AUDIO error is about the length limit. */
export const isTooLong = (e: WhisperError): boolean => e.reason === 'too-long';

/** MP3, Ogg and FLAC: decoded, downmixed and resampled to 16 kHz mono in a worker (wasm.ts, worker.ts). */
async function decodeWasm(bytes: Uint8Array, format: WasmFormat, name: string, maxSeconds: number, signal: AbortSignal | undefined): Promise<DecodedAudio> {
  const { pcm, truncated } = await runInWorker({ kind: 'decode', bytes, format, name, maxSeconds }, signal);
  return { channels: [pcm], sampleRate: WHISPER_RATE, format, truncated };
}

/** Text where audio was expected: printable ASCII/UTF-8 and whitespace in the first bytes. */
export function looksLikeText(b: Uint8Array): boolean {
  const head = b.subarray(0, 512);
  return head.length > 0 && head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c !== 127));
}

/** Decodes WAV, MP3, Ogg (Vorbis/Opus/FLAC) and FLAC here; anything else through ffmpeg. Throws BAD_AUDIO. */
export async function decodeAudio(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedAudio> {
  const name = options.name ?? 'the audio';
  const maxSeconds = options.maxSeconds ?? MAX_AUDIO_SECONDS;
  if (bytes.length === 0) throw new WhisperError('BAD_AUDIO', `${name} is empty`);
  const format = sniffFormat(bytes);
  if (format === undefined && looksLikeText(bytes)) throw new WhisperError('BAD_AUDIO', `${name} is text, not audio`);
  if (format === 'wav' || (format === undefined && ascii(bytes, 0, 4) === 'RIFF')) {
    let wav: ReturnType<typeof decodeWav>;
    try {
      wav = decodeWav(bytes);
    } catch (e) {
      if (WhisperError.is(e, 'BAD_AUDIO')) throw new WhisperError('BAD_AUDIO', `${name}: ${e.message}`, { cause: e, reason: e.reason });
      throw e;
    }
    const seconds = (wav.data[0]?.length ?? 0) / wav.sampleRate;
    if (seconds > maxSeconds) throw tooLong(name, seconds, maxSeconds, true);
    if ((wav.sampleRate === WHISPER_RATE && wav.data.length === 1) || seconds === 0)
      return { channels: wav.data, sampleRate: wav.sampleRate, format: 'wav', truncated: wav.truncated };
    // Another rate or several channels: downmixed and resampled in a worker, off the event loop.
    const { pcm } = await runInWorker({ kind: 'resample', channels: wav.data, rate: wav.sampleRate, name, maxSeconds }, options.signal);
    return { channels: [pcm], sampleRate: WHISPER_RATE, format: 'wav', truncated: wav.truncated };
  }
  if (format === 'mp3' || format === 'flac' || format === 'ogg-flac' || format === 'ogg-vorbis' || format === 'ogg-opus') {
    return decodeWasm(bytes, format, name, maxSeconds, options.signal);
  }
  // the rest through ffmpeg, pinned to the container sniffed (lib/audio/ffmpeg.ts); unknown bytes are refused
  const { samples } = await decodeFfmpeg(bytes, { sniffed: format, name, maxSeconds, signal: options.signal });
  return { channels: [samples], sampleRate: WHISPER_RATE, format: 'ffmpeg', truncated: false };
}
