/**
 * WAV decoding: RIFF/WAVE with PCM 8/16/24/32-bit integers or 32/64-bit floats (plain or
 * WAVE_FORMAT_EXTENSIBLE), any channel count and sample rate. Returns interleaved-free channel
 * data as float32 in [-1, 1]. Everything else is a BAD_AUDIO error that says what was found.
 */
import { WhisperError } from '../errors.js';
import { WHISPER_RATE } from './resample.js';

export interface DecodedWav {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  format: 'pcm' | 'float';
  /** one Float32Array per channel */
  data: Float32Array[];
  /** the data chunk was shorter than its header said (a cut-off recording); what was there is kept */
  truncated: boolean;
}

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_EXTENSIBLE = 0xfffe;
const FORMAT_NAMES: Record<number, string> = { 2: 'MS ADPCM', 6: 'A-law', 7: 'µ-law', 17: 'IMA ADPCM', 49: 'GSM 6.10', 85: 'MP3' };

function bad(message: string): WhisperError {
  return new WhisperError('BAD_AUDIO', message);
}

export function decodeWav(bytes: Uint8Array): DecodedWav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number): string => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12) throw bad(`not a WAV file: only ${bytes.length} bytes`);
  if (tag(0) === 'RIFX') throw bad('big-endian WAV (RIFX) is not supported; convert it to a little-endian WAV');
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw bad('not a WAV file (no RIFF/WAVE header); convert it to 16 kHz WAV, e.g. with ffmpeg -i in -ar 16000 -ac 1 out.wav');

  let fmt: { format: number; channels: number; sampleRate: number; blockAlign: number; bits: number } | undefined;
  let dataAt = -1;
  let dataLen = 0;
  let truncated = false;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw bad(`corrupt WAV header: fmt chunk of ${size} bytes`);
      let format = view.getUint16(body, true);
      const bits = view.getUint16(body + 14, true);
      if (format === FORMAT_EXTENSIBLE) {
        if (size < 40 || body + 26 > bytes.length) throw bad('corrupt WAV header: short WAVE_FORMAT_EXTENSIBLE chunk');
        format = view.getUint16(body + 24, true); // first two bytes of the sub-format GUID
      }
      fmt = { format, channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true), blockAlign: view.getUint16(body + 12, true), bits };
    } else if (id === 'data') {
      dataAt = body;
      const available = bytes.length - body;
      // 0 and 0xFFFFFFFF are written by streaming recorders that never went back to fix the size.
      if (size === 0xffffffff || (size === 0 && available > 0)) {
        dataLen = available;
      } else {
        truncated = size > available;
        dataLen = Math.min(size, available);
      }
      break;
    }
    at = body + size + (size & 1);
  }
  if (!fmt) throw bad('corrupt WAV: no fmt chunk before the data');
  if (dataAt < 0) throw bad('corrupt WAV: no data chunk');
  const { format, channels, sampleRate, bits } = fmt;
  if (format !== FORMAT_PCM && format !== FORMAT_FLOAT) {
    throw bad(`unsupported WAV encoding: ${FORMAT_NAMES[format] ?? `format tag 0x${format.toString(16)}`}; only PCM and IEEE float WAV are read`);
  }
  if (channels === 0) throw bad('corrupt WAV header: 0 channels');
  if (sampleRate < 1000 || sampleRate > 768000) throw bad(`corrupt WAV header: sample rate ${sampleRate} Hz`);
  const okBits = format === FORMAT_PCM ? [8, 16, 24, 32] : [32, 64];
  if (!okBits.includes(bits)) throw bad(`unsupported WAV sample format: ${bits}-bit ${format === FORMAT_PCM ? 'integer' : 'float'}`);
  const bytesPer = bits / 8;
  const frameBytes = bytesPer * channels;
  if (fmt.blockAlign !== frameBytes) throw bad(`corrupt WAV header: block align ${fmt.blockAlign} ≠ ${channels} channels × ${bytesPer} bytes`);

  const frames = Math.floor(dataLen / frameBytes);
  if (frames * frameBytes !== dataLen) truncated = true;
  const data = Array.from({ length: channels }, () => new Float32Array(frames));
  const read = sampleReader(view, format, bits);
  for (let f = 0, at = dataAt; f < frames; f++) {
    for (let c = 0; c < channels; c++, at += bytesPer) (data[c] as Float32Array)[f] = read(at);
  }
  return { sampleRate, channels, bitsPerSample: bits, format: format === FORMAT_PCM ? 'pcm' : 'float', data, truncated };
}

function sampleReader(view: DataView, format: number, bits: number): (at: number) => number {
  if (format === FORMAT_FLOAT) return bits === 32 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  switch (bits) {
    case 8:
      return (at) => (view.getUint8(at) - 128) / 128;
    case 16:
      return (at) => view.getInt16(at, true) / 32768;
    case 24:
      return (at) => (view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16)) / 8388608;
    default:
      return (at) => view.getInt32(at, true) / 2147483648;
  }
}

/** Encode mono float samples as a 16-bit PCM WAV (used to save utterances and in tests). */
export function encodeWav(samples: Float32Array, sampleRate = WHISPER_RATE): Buffer {
  const out = Buffer.alloc(44 + samples.length * 2);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + samples.length * 2, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(FORMAT_PCM, 20);
  out.writeUInt16LE(1, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * 2, 28);
  out.writeUInt16LE(2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i] as number));
    out.writeInt16LE(Math.round(s < 0 ? s * 32768 : s * 32767), 44 + i * 2);
  }
  return out;
}
