/**
 * MP3, Ogg (Vorbis, Opus, FLAC) and FLAC → 16 kHz mono, through eshaz's WebAssembly decoders (mpg123,
 * libvorbis, libopus, libFLAC: no system library, no tool). Runs in a worker (decodeWorker.ts).
 *
 * A small compressed file can describe hours of many-channel audio, so what is held is bounded while
 * decoding, not after: the stream is split into frames (codec-parser) or Ogg pages and handed to the
 * decoder a bounded number of samples × channels at a time; each batch is checked against the length
 * limit, downmixed to mono and resampled to 16 kHz at once, so at most the 16 kHz mono output
 * (maxSeconds × 64 KB) and one batch are ever held. Channels (≤ 8) and rates (1–192 kHz) are checked
 * from the headers before the first sample is decoded. An MP3 whose sample rate changes (files joined
 * with `cat`) is resampled run by run, each at its own rate, and its length is the sum of the runs.
 */
import CodecParser from 'codec-parser';
import { WhisperError } from '../errors.js';
import { downmix, StreamResampler, WHISPER_RATE } from './resample.js';

export type WasmFormat = 'mp3' | 'flac' | 'ogg-flac' | 'ogg-vorbis' | 'ogg-opus';
export const MAX_CHANNELS = 8;
export const MIN_RATE = 1000;
export const MAX_RATE = 192_000;
/** Samples × channels handed to a decoder at a time (4 MiB of floats). */
const BATCH = 1 << 20;

export interface Pcm16k {
  /** 16 kHz mono */
  pcm: Float32Array;
  /** the stream ends before its header says (FLAC: STREAMINFO's total; Ogg: the last page is cut) */
  truncated: boolean;
  /** the length of the source, summed over its sample-rate runs */
  seconds: number;
}

export interface Decoded {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: Array<{ message: string }>;
}

interface Decoder {
  ready: Promise<void>;
  decode?(data: Uint8Array): Decoded | Promise<Decoded>;
  decodeFrames?(frames: Uint8Array[]): Decoded | Promise<Decoded>;
  flush?(): Promise<Decoded>;
  free(): void;
}

interface Frame {
  data: Uint8Array;
  samples: number;
  header: { sampleRate: number; channels: number };
}

const bad = (message: string, reason?: string): WhisperError => new WhisperError('BAD_AUDIO', message, reason ? { reason } : undefined);

/** `whole`: the full length is known (a WAV header); otherwise decoding stopped at the limit. */
export function tooLong(name: string, seconds: number, max: number, whole = false): WhisperError {
  const how = whole ? `is ${seconds.toFixed(1)} s long` : `is longer than ${max} s (${seconds.toFixed(1)} s decoded when it stopped)`;
  return bad(`${name} ${how}; at most ${max} s per request`, 'too-long');
}

function checkLayout(name: string, channels: number, rate: number): void {
  if (channels > MAX_CHANNELS) throw bad(`${name} has ${channels} channels; at most ${MAX_CHANNELS} are read`, 'too-many-channels');
  if (!(rate >= MIN_RATE && rate <= MAX_RATE)) throw bad(`${name} has a sample rate of ${rate} Hz; ${MIN_RATE}–${MAX_RATE} Hz are read`, 'bad-rate');
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Decoded samples → 16 kHz mono, run by run: a new run starts when the rate changes. Counts the
 * source's seconds and stops at the limit; holds only the output. `limits`: refuse more than
 * MAX_CHANNELS channels or a rate outside MIN_RATE–MAX_RATE (a WAV, already held whole, is not).
 */
export class Sink {
  seconds = 0;
  private readonly out: Float32Array[] = [];
  private rate = 0;
  private resampler: StreamResampler | undefined;
  private runIn = 0;
  private runOut = 0;

  constructor(
    private readonly name: string,
    private readonly maxSeconds: number,
    private readonly limits = true,
  ) {}

  take(d: Decoded): void {
    const n = d.samplesDecoded;
    if (n === 0) return;
    if (this.limits) checkLayout(this.name, d.channelData.length, d.sampleRate);
    this.seconds += n / d.sampleRate;
    if (this.seconds > this.maxSeconds) throw tooLong(this.name, this.seconds, this.maxSeconds);
    if (d.sampleRate !== this.rate) this.startRun(d.sampleRate);
    const mono = downmix(d.channelData.map((c) => (c.length === n ? c : c.subarray(0, n))));
    this.runIn += n;
    this.emit(this.resampler ? this.resampler.push(mono) : mono.slice());
  }

  finish(): Float32Array {
    this.endRun();
    const total = this.out.reduce((s, p) => s + p.length, 0);
    const pcm = new Float32Array(total);
    let at = 0;
    for (const p of this.out.splice(0)) {
      pcm.set(p, at);
      at += p.length;
    }
    return pcm;
  }

  private startRun(rate: number): void {
    this.endRun();
    this.rate = rate;
    this.runIn = 0;
    this.runOut = 0;
    // A rate that shares few factors with 16 kHz would need thousands of filter phases: filter as
    // the nearest multiple of 25 Hz (≤ 1.3 % off at 1 kHz, inaudible to the model), counted exactly.
    const filterRate = gcd(rate, WHISPER_RATE) >= 25 ? rate : Math.max(25, Math.round(rate / 25) * 25);
    this.resampler = filterRate === WHISPER_RATE ? undefined : new StreamResampler(filterRate, WHISPER_RATE);
  }

  /** The resampler's last outputs (it lags by its half-width), cut to the run's exact length. */
  private endRun(): void {
    const r = this.resampler;
    this.resampler = undefined;
    if (!r) return;
    const want = Math.floor((this.runIn * WHISPER_RATE) / this.rate);
    const pad = Math.ceil(16 * Math.max(1, this.rate / WHISPER_RATE)) + 2;
    const tail = r.push(new Float32Array(pad));
    this.out.push(tail.subarray(0, Math.max(0, want - this.runOut)));
  }

  private emit(p: Float32Array): void {
    this.runOut += p.length;
    this.out.push(p);
  }
}

async function decoderFor(format: WasmFormat): Promise<Decoder> {
  switch (format) {
    case 'mp3':
      return new (await import('mpg123-decoder')).MPEGDecoder() as unknown as Decoder;
    case 'flac':
    case 'ogg-flac':
      return new (await import('@wasm-audio-decoders/flac')).FLACDecoder() as unknown as Decoder;
    case 'ogg-vorbis':
      return new (await import('@wasm-audio-decoders/ogg-vorbis')).OggVorbisDecoder() as unknown as Decoder;
    default: {
      // libopus decodes at 16 kHz itself, and folds up to 8 channels into stereo.
      const { OggOpusDecoder } = await import('ogg-opus-decoder');
      const Opus = OggOpusDecoder as unknown as new (o: { sampleRate: number; forceStereo: boolean }) => Decoder;
      return new Opus({ sampleRate: WHISPER_RATE, forceStereo: true });
    }
  }
}

const latin1 = (b: Uint8Array, from: number, to: number): string => Buffer.from(b.buffer, b.byteOffset + from, Math.max(0, Math.min(to, b.length) - from)).toString('latin1');

/** FLAC's STREAMINFO: channels, rate and total samples (0: unknown), or undefined when absent. */
export function flacStreamInfo(b: Uint8Array): { channels: number; rate: number; total: number } | undefined {
  if (latin1(b, 0, 4) !== 'fLaC' || b.length < 42 || ((b[4] ?? 0) & 0x7f) !== 0) return undefined;
  const s = 8; // STREAMINFO's body
  const rate = ((b[s + 10] ?? 0) << 12) | ((b[s + 11] ?? 0) << 4) | ((b[s + 12] ?? 0) >> 4);
  const channels = (((b[s + 12] ?? 0) >> 1) & 7) + 1;
  const total = ((b[s + 13] ?? 0) & 0x0f) * 2 ** 32 + (((b[s + 14] ?? 0) << 24) >>> 0) + ((b[s + 15] ?? 0) << 16) + ((b[s + 16] ?? 0) << 8) + (b[s + 17] ?? 0);
  return { channels, rate, total };
}

/**
 * The Ogg pages' extents, skipping bytes between pages (as the decoders do); `cut` when the bytes
 * end inside a page (a truncated file).
 */
export function oggPages(b: Uint8Array): { pages: Array<[number, number]>; cut: boolean } {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const pages: Array<[number, number]> = [];
  for (let at = buf.indexOf('OggS'); at >= 0; at = buf.indexOf('OggS', at)) {
    if (at + 27 > b.length) return { pages, cut: true };
    const segments = b[at + 26] as number;
    if (at + 27 + segments > b.length) return { pages, cut: true };
    let size = 27 + segments;
    for (let i = 0; i < segments; i++) size += b[at + 27 + i] as number;
    if (at + size > b.length) return { pages, cut: true };
    pages.push([at, at + size]);
    at += size;
  }
  return { pages, cut: false };
}

/** Channels (and rate, for Vorbis) from an Ogg stream's first header, checked before decoding. */
function checkOggHeader(b: Uint8Array, format: WasmFormat, name: string): void {
  const head = latin1(b, 0, 4096);
  if (format === 'ogg-opus') {
    const i = head.indexOf('OpusHead');
    if (i >= 0 && i + 9 < b.length) checkLayout(name, b[i + 9] as number, WHISPER_RATE);
  } else if (format === 'ogg-vorbis') {
    const i = head.indexOf('\x01vorbis');
    if (i >= 0 && i + 16 <= b.length) {
      const rate = Buffer.from(b.buffer, b.byteOffset + i + 12, 4).readUInt32LE(0);
      checkLayout(name, b[i + 11] as number, rate);
    }
  }
}

/** Frames in batches of at most BATCH samples × channels (one frame alone may be more). */
function* batches(frames: Iterable<Frame>, name: string): Generator<Uint8Array[]> {
  let batch: Uint8Array[] = [];
  let size = 0;
  let rate = 0;
  for (const f of frames) {
    checkLayout(name, f.header.channels, f.header.sampleRate);
    const cost = f.samples * f.header.channels;
    // A batch holds one rate only, so that every decoder call returns samples at a single rate.
    if (batch.length > 0 && (size + cost > BATCH || f.header.sampleRate !== rate)) {
      yield batch;
      batch = [];
      size = 0;
    }
    batch.push(f.data);
    size += cost;
    rate = f.header.sampleRate;
  }
  if (batch.length > 0) yield batch;
}

/** Codec frames, parsed a slice of the input at a time (a 1-hour file is not split in one go). */
function* frames(bytes: Uint8Array, format: WasmFormat): Generator<Frame> {
  const parser = new CodecParser(format === 'mp3' ? 'audio/mpeg' : format === 'flac' ? 'audio/flac' : 'application/ogg', { enableFrameCRC32: false });
  const slice = 64 * 1024;
  const unpack = function* (items: Iterator<unknown>): Generator<Frame> {
    for (let r = items.next(); !r.done; r = items.next()) {
      const item = r.value as Frame & { codecFrames?: Frame[] };
      if (item.codecFrames) yield* item.codecFrames;
      else yield item;
    }
  };
  for (let at = 0; at < bytes.length; at += slice) yield* unpack(parser.parseChunk(bytes.subarray(at, at + slice)));
  yield* unpack(parser.flush());
}

/**
 * Decodes and returns 16 kHz mono; throws BAD_AUDIO (reasons: too-long, too-many-channels, bad-rate;
 * none when nothing decodes).
 */
export async function decodeToPcm(bytes: Uint8Array, format: WasmFormat, name: string, maxSeconds: number): Promise<Pcm16k> {
  const sink = new Sink(name, maxSeconds);
  let truncated = false;
  let decodedAtSource = 0;
  let firstError: string | undefined;
  const take = (d: Decoded): void => {
    if (d.errors.length > 0) firstError ??= d.errors[0]?.message;
    decodedAtSource += d.samplesDecoded;
    sink.take(d);
  };
  const info = format === 'flac' ? flacStreamInfo(bytes) : undefined;
  if (info) checkLayout(name, info.channels, info.rate);
  if (format.startsWith('ogg-')) checkOggHeader(bytes, format, name);

  const decoder = await decoderFor(format);
  try {
    await decoder.ready;
    if (format === 'mp3' || format === 'flac' || format === 'ogg-flac') {
      const decode = (decoder.decodeFrames as (f: Uint8Array[]) => Decoded | Promise<Decoded>).bind(decoder);
      for (const batch of batches(frames(bytes, format), name)) take(await decode(batch));
    } else {
      // Vorbis and Opus: a page at a time (≤ 255 packets: ≤ 8 M samples × channels for Vorbis's
      // largest blocks and 8 channels, ≤ 1 M for Opus at 16 kHz in stereo).
      const { pages, cut } = oggPages(bytes);
      truncated = cut;
      const decode = (decoder.decode as (d: Uint8Array) => Decoded | Promise<Decoded>).bind(decoder);
      for (const [from, to] of pages) take(await decode(bytes.subarray(from, to)));
      if (decoder.flush) take(await decoder.flush());
    }
  } finally {
    decoder.free();
  }
  if (format === 'ogg-flac') truncated = oggPages(bytes).cut;
  if (info && info.total > 0 && decodedAtSource < info.total) truncated = true;
  const pcm = sink.finish();
  if (decodedAtSource === 0 || pcm.length === 0) {
    throw bad(`${name} looks like ${format.toUpperCase()} but holds no audio that decodes${firstError ? ` (${firstError})` : ''}`);
  }
  return { pcm, truncated, seconds: sink.seconds };
}
