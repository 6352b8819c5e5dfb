import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { downmix, resample } from '../lib/audio/resample.js';
import { decodeWav, encodeWav, readAudio } from '../lib/index.js';
import { JFK } from './helpers.js';

/** A WAV file with the given format, written by hand (so the reader is tested against the spec, not itself). */
function wav(opts: { format?: number; bits: number; channels?: number; rate?: number; frames: number[][]; extensible?: boolean; dataSize?: number }): Buffer {
  const channels = opts.channels ?? 1;
  const rate = opts.rate ?? 16000;
  const bytes = opts.bits / 8;
  const format = opts.format ?? 1;
  const data = Buffer.alloc(opts.frames.length * channels * bytes);
  opts.frames.forEach((frame, f) => {
    frame.forEach((v, c) => {
      const at = (f * channels + c) * bytes;
      if (format === 3 && opts.bits === 32) data.writeFloatLE(v, at);
      else if (format === 3) data.writeDoubleLE(v, at);
      else if (opts.bits === 8) data.writeUInt8(Math.round(v * 127 + 128), at);
      else if (opts.bits === 16) data.writeInt16LE(Math.round(v * 32767), at);
      else if (opts.bits === 24) data.writeIntLE(Math.round(v * 8388607), at, 3);
      else data.writeInt32LE(Math.round(v * 2147483647), at);
    });
  });
  const fmt = Buffer.alloc(opts.extensible ? 40 : 16);
  fmt.writeUInt16LE(opts.extensible ? 0xfffe : format, 0);
  fmt.writeUInt16LE(channels, 2);
  fmt.writeUInt32LE(rate, 4);
  fmt.writeUInt32LE(rate * channels * bytes, 8);
  fmt.writeUInt16LE(channels * bytes, 12);
  fmt.writeUInt16LE(opts.bits, 14);
  if (opts.extensible) {
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(opts.bits, 18);
    fmt.writeUInt16LE(format, 24);
  }
  const chunk = (id: string, body: Buffer, size = body.length) => {
    const head = Buffer.alloc(8);
    head.write(id, 0, 'latin1');
    head.writeUInt32LE(size, 4);
    return Buffer.concat([head, body]);
  };
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), chunk('LIST', Buffer.from('INFOjunk')), chunk('data', data, opts.dataSize)]);
  return Buffer.concat([Buffer.from('RIFF'), Buffer.from(Uint32Array.of(body.length).buffer), body]);
}

describe('decodeWav', () => {
  const frames = [[0], [0.5], [-0.5], [0.25]];
  it.each([
    ['8-bit', { bits: 8 }],
    ['16-bit', { bits: 16 }],
    ['24-bit', { bits: 24 }],
    ['32-bit', { bits: 32 }],
    ['float32', { bits: 32, format: 3 }],
    ['float64', { bits: 64, format: 3 }],
    ['extensible 24-bit', { bits: 24, extensible: true }],
  ])('reads %s PCM', (_name, fmt) => {
    const decoded = decodeWav(wav({ ...fmt, frames }));
    expect(decoded.channels).toBe(1);
    expect(decoded.truncated).toBe(false);
    const got = Array.from(decoded.data[0] as Float32Array);
    got.forEach((v, i) => {
      expect(v).toBeCloseTo(frames[i]?.[0] as number, 1);
    });
  });

  it('reads stereo and downmixes it', () => {
    const decoded = decodeWav(
      wav({
        bits: 16,
        channels: 2,
        frames: [
          [0.5, -0.5],
          [0.2, 0.4],
        ],
      }),
    );
    expect(decoded.channels).toBe(2);
    const mono = downmix(decoded.data);
    expect(mono[0]).toBeCloseTo(0, 3);
    expect(mono[1]).toBeCloseTo(0.3, 3);
  });

  it('keeps what is there when the data chunk is cut short, and says so', () => {
    const full = wav({ bits: 16, frames: [[0.1], [0.2], [0.3], [0.4]] });
    const cut = full.subarray(0, full.length - 3);
    const decoded = decodeWav(cut);
    expect(decoded.truncated).toBe(true);
    expect(decoded.data[0]?.length).toBe(2);
  });

  it('accepts a streaming writer’s unknown data size', () => {
    const decoded = decodeWav(wav({ bits: 16, frames: [[0.1], [0.2]], dataSize: 0xffffffff }));
    expect(decoded.data[0]?.length).toBe(2);
  });

  it.each([
    ['not a WAV', Buffer.from('ID3\u0003 this is an mp3'), /not a WAV/],
    ['too short', Buffer.from('RIFF'), /not a WAV/],
    ['big-endian', Buffer.concat([Buffer.from('RIFX'), Buffer.alloc(40)]), /big-endian/],
    ['µ-law', wav({ bits: 16, format: 7, frames: [[0]] }), /µ-law/],
    ['MP3 in WAV', wav({ bits: 16, format: 0x55, frames: [[0]] }), /MP3/],
    ['12-bit', wav({ bits: 12 as never, frames: [] }), /12-bit/],
  ])('rejects %s with BAD_AUDIO', (_name, bytes, message) => {
    expect(() => decodeWav(bytes)).toThrow(message);
    try {
      decodeWav(bytes);
    } catch (e) {
      expect(e).toMatchObject({ code: 'BAD_AUDIO' });
    }
  });

  it('rejects a corrupt header', () => {
    const bytes = wav({ bits: 16, frames: [[0]] });
    bytes.writeUInt16LE(7, 32); // block align of the fmt chunk
    expect(() => decodeWav(bytes)).toThrow(/block align/);
    const noData = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVE')]);
    expect(() => decodeWav(noData)).toThrow(/no fmt chunk|no data/);
  });

  it('round-trips through encodeWav', () => {
    const samples = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 10) * 0.8);
    const back = decodeWav(encodeWav(samples)).data[0] as Float32Array;
    back.forEach((v, i) => {
      expect(v).toBeCloseTo(samples[i] as number, 3);
    });
  });
});

describe('resample', () => {
  function dominantHz(x: Float32Array, rate: number, candidates: number[]): number {
    let best = 0;
    let bestPower = -1;
    for (const hz of candidates) {
      let re = 0;
      let im = 0;
      for (let i = 0; i < x.length; i++) {
        re += (x[i] as number) * Math.cos((2 * Math.PI * hz * i) / rate);
        im += (x[i] as number) * Math.sin((2 * Math.PI * hz * i) / rate);
      }
      if (re * re + im * im > bestPower) [best, bestPower] = [hz, re * re + im * im];
    }
    return best;
  }

  it.each([8000, 22050, 44100, 48000])('keeps a 1 kHz tone at %i Hz → 16 kHz, with the right length', (rate) => {
    const x = Float32Array.from({ length: rate }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / rate) * 0.5);
    const y = resample(x, rate);
    expect(y.length).toBe(16000);
    expect(dominantHz(y, 16000, [500, 1000, 2000, 3000])).toBe(1000);
    const rms = Math.sqrt(y.slice(1000, 15000).reduce((a, v) => a + v * v, 0) / 14000);
    expect(rms).toBeCloseTo(0.5 / Math.SQRT2, 1);
  });

  it('removes content above 8 kHz instead of folding it down (no aliasing)', () => {
    const rate = 48000;
    const x = Float32Array.from({ length: rate }, (_, i) => Math.sin((2 * Math.PI * 12000 * i) / rate) * 0.5);
    const y = resample(x, rate);
    const rms = Math.sqrt(y.slice(1000, 15000).reduce((a, v) => a + v * v, 0) / 14000);
    expect(rms).toBeLessThan(0.01); // a 12 kHz tone would alias to 4 kHz at ~0.35 RMS
  });
});

describe('readAudio', () => {
  it('reads jfk.wav as 11 s of 16 kHz mono', async () => {
    const pcm = await readAudio(JFK);
    expect(pcm).toBeInstanceOf(Float32Array);
    expect(pcm.length).toBe(176000);
    const fromBytes = await readAudio(await readFile(JFK));
    expect(fromBytes).toEqual(pcm);
  });

  it('resamples and downmixes 44.1 kHz stereo', async () => {
    const frames = Array.from({ length: 44100 }, (_, i) => [Math.sin(i / 20) * 0.3, Math.sin(i / 20) * 0.3]);
    const pcm = await readAudio(wav({ bits: 16, channels: 2, rate: 44100, frames }));
    expect(pcm.length).toBe(16000);
  });

  it('reports a missing file as BAD_AUDIO', async () => {
    await expect(readAudio('/nonexistent/clip.wav')).rejects.toMatchObject({ code: 'BAD_AUDIO', message: expect.stringMatching(/not found/) });
  });

  it('says BAD_AUDIO for a WAV with no samples instead of returning an empty clip', async () => {
    await expect(readAudio(encodeWav(new Float32Array(0)))).rejects.toMatchObject({
      code: 'BAD_AUDIO',
      message: expect.stringMatching(/holds no audio: its data chunk has 0 samples/),
    });
  });
});
