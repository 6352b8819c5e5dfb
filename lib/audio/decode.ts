/**
 * Audio bytes in any common format → channels of float samples at the file's rate.
 *
 * WAV is read here (wav.ts); MP3, Ogg (Vorbis, Opus, FLAC) and FLAC through WebAssembly decoders
 * (eshaz's wasm-audio-decoders: mpg123, libvorbis, libopus, libFLAC — no system library, no tool);
 * anything else (M4A/AAC, WebM, …) through the system's `ffmpeg` when there is one, its output
 * streamed and cut off at the length limit, with an error that names what to install when there is
 * none. The limit applies to the decoded length: a small compressed file cannot unpack into hours of
 * samples.
 */
import { WhisperError } from '../errors.js';
import { decodeFfmpeg } from './ffmpeg.js';
import { concatSamples, WHISPER_RATE } from './resample.js';
import { decodeWav } from './wav.js';

export interface DecodedAudio {
  channels: Float32Array[];
  sampleRate: number;
  /** wav, mp3, ogg-vorbis, ogg-opus, ogg-flac, flac, or ffmpeg */
  format: string;
  /** a WAV whose data chunk is shorter than its header says */
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

interface WasmResult {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: Array<{ message: string }>;
}

interface WasmDecoder {
  ready: Promise<void>;
  decode(data: Uint8Array): WasmResult | Promise<WasmResult>;
  flush?: () => Promise<WasmResult>;
  free(): void;
}

async function wasmDecoder(format: string): Promise<WasmDecoder> {
  switch (format) {
    case 'mp3':
      return new (await import('mpg123-decoder')).MPEGDecoder() as unknown as WasmDecoder;
    case 'flac':
    case 'ogg-flac':
      return new (await import('@wasm-audio-decoders/flac')).FLACDecoder() as unknown as WasmDecoder;
    case 'ogg-vorbis':
      return new (await import('@wasm-audio-decoders/ogg-vorbis')).OggVorbisDecoder() as unknown as WasmDecoder;
    default:
      return new (await import('ogg-opus-decoder')).OggOpusDecoder() as unknown as WasmDecoder;
  }
}

const CHUNK = 64 * 1024;

/** `whole`: the full length is known (a WAV header); otherwise decoding stopped at the limit. */
function tooLong(name: string, seconds: number, max: number, whole = false): WhisperError {
  const how = whole ? `is ${seconds.toFixed(1)} s long` : `is longer than ${max} s (${seconds.toFixed(1)} s decoded when it stopped)`;
  return new WhisperError('BAD_AUDIO', `${name} ${how}; at most ${max} s per request`, { reason: 'too-long' });
}

/** Whether a BAD_AUDIO error is about the length limit. */
export const isTooLong = (e: WhisperError): boolean => e.reason === 'too-long';

/** Feeds the decoder in chunks and stops as soon as the decoded audio passes the limit. */
async function decodeWasm(bytes: Uint8Array, format: string, name: string, maxSeconds: number): Promise<DecodedAudio> {
  const decoder = await wasmDecoder(format);
  await decoder.ready;
  const parts: Float32Array[][] = [];
  let rate = 0;
  let samples = 0;
  let firstError: string | undefined;
  const take = (r: WasmResult): void => {
    if (r.errors.length > 0) firstError ??= r.errors[0]?.message;
    if (r.samplesDecoded === 0) return;
    rate = r.sampleRate;
    parts.push(r.channelData.map((c) => c.slice(0, r.samplesDecoded)));
    samples += r.samplesDecoded;
    if (samples / rate > maxSeconds) throw tooLong(name, samples / rate, maxSeconds);
  };
  try {
    for (let at = 0; at < bytes.length; at += CHUNK) take(await decoder.decode(bytes.subarray(at, at + CHUNK)));
    if (decoder.flush) take(await decoder.flush());
  } finally {
    decoder.free();
  }
  if (samples === 0) {
    throw new WhisperError('BAD_AUDIO', `${name} looks like ${format.toUpperCase()} but holds no audio that decodes${firstError ? ` (${firstError})` : ''}`);
  }
  const nChannels = Math.min(...parts.map((p) => p.length));
  const channels = Array.from({ length: nChannels }, (_, c) => concatSamples(parts.map((p) => p[c] as Float32Array)));
  return { channels, sampleRate: rate, format, truncated: false };
}

/** Text where audio was expected: printable ASCII/UTF-8 and whitespace in the first bytes. */
export function looksLikeText(b: Uint8Array): boolean {
  const head = b.subarray(0, 512);
  return head.length > 0 && head.every((c) => c === 9 || c === 10 || c === 13 || (c >= 32 && c !== 127));
}

/** Decodes WAV, MP3, Ogg (Vorbis/Opus/FLAC) and FLAC here; anything else through ffmpeg. Throws BAD_AUDIO. */
export async function decodeAudio(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedAudio> {
  const name = options.name ?? 'the audio';
  const maxSeconds = options.maxSeconds ?? Number.POSITIVE_INFINITY;
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
    return { channels: wav.data, sampleRate: wav.sampleRate, format: 'wav', truncated: wav.truncated };
  }
  if (format === 'mp3' || format === 'flac' || format === 'ogg-flac' || format === 'ogg-vorbis' || format === 'ogg-opus') {
    return decodeWasm(bytes, format, name, maxSeconds);
  }
  // the rest through ffmpeg, pinned to the container sniffed (lib/audio/ffmpeg.ts); unknown bytes are refused
  const { samples } = await decodeFfmpeg(bytes, { sniffed: format, name, maxSeconds, signal: options.signal });
  return { channels: [samples], sampleRate: WHISPER_RATE, format: 'ffmpeg', truncated: false };
}
