/** The audio formats of OpenAI's Realtime API: base64 PCM16 (little-endian, mono) and G.711 μ-law / A-law at 8 kHz. */

export type AudioFormat = { type: 'audio/pcm'; rate: number } | { type: 'audio/pcmu' } | { type: 'audio/pcma' };

/** Samples per second of a format: PCM at its rate (OpenAI's: 24 kHz), G.711 at 8 kHz. */
export const rateOf = (f: AudioFormat): number => (f.type === 'audio/pcm' ? f.rate : 8000);

/** Bytes per sample of a format. */
export const bytesPerSample = (f: AudioFormat): number => (f.type === 'audio/pcm' ? 2 : 1);

function ulaw(b: number): number {
  const u = ~b & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return (u & 0x80 ? 0x84 - t : t - 0x84) / 32768;
}

function alaw(b: number): number {
  const a = b ^ 0x55;
  const seg = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  t = seg === 0 ? t + 8 : seg === 1 ? t + 0x108 : (t + 0x108) << (seg - 1);
  return (a & 0x80 ? t : -t) / 32768;
}

const ULAW = Float32Array.from({ length: 256 }, (_, i) => ulaw(i));
const ALAW = Float32Array.from({ length: 256 }, (_, i) => alaw(i));

/** Samples in [-1, 1] from the bytes of an append (an odd trailing PCM byte is dropped). */
export function decodeSamples(bytes: Buffer, f: AudioFormat): Float32Array {
  if (f.type === 'audio/pcm') {
    const n = bytes.length >> 1;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = bytes.readInt16LE(i * 2) / 32768;
    return out;
  }
  const table = f.type === 'audio/pcmu' ? ULAW : ALAW;
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i] as number] as number;
  return out;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bytes of a base64 string, or undefined when it is not base64. */
export function base64Bytes(s: string): Buffer | undefined {
  const t = s.replace(/\s+/g, '');
  if (!BASE64.test(t) || t.length % 4 === 1) return undefined;
  return Buffer.from(t, 'base64');
}
