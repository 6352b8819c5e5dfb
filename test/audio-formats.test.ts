/**
 * Every format people send, decoded to the samples of the WAV it was made from: MP3, Ogg Vorbis, Ogg
 * Opus and FLAC by the WebAssembly decoders (no system tool), M4A and WebM through ffmpeg. The files are
 * made here from jfk.wav with ffmpeg (Debian's; .ci/run installs it).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio, sniffFormat } from '../lib/audio/decode.js';
import { readAudio } from '../lib/index.js';
import { ffmpegInstalled, JFK } from './helpers.js';

const hasFfmpeg = ffmpegInstalled();

let dir: string;
let reference: Float32Array;
const files: Record<string, string> = {};

// name → [extension, ffmpeg output arguments]: rates and channel counts that make the decoders and the
// resampler work (44.1 kHz stereo MP3, 48 kHz Opus, 16 kHz mono FLAC)
const FORMATS: Record<string, [string, string[]]> = {
  mp3: ['mp3', ['-ar', '44100', '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '96k']],
  'ogg-vorbis': ['ogg', ['-ar', '22050', '-c:a', 'libvorbis', '-q:a', '4']],
  'ogg-opus': ['opus', ['-c:a', 'libopus', '-b:a', '48k']],
  flac: ['flac', ['-c:a', 'flac']],
  m4a: ['m4a', ['-c:a', 'aac', '-b:a', '96k']],
  webm: ['webm', ['-c:a', 'libopus', '-b:a', '48k']],
};

/** The best normalised correlation of `a` with `ref` over lags of ±maxLag samples (codec delays). */
function similarity(a: Float32Array, ref: Float32Array, maxLag = 2400): number {
  let best = -1;
  const n = Math.min(a.length, ref.length) - maxLag;
  for (let lag = -maxLag; lag <= maxLag; lag += 8) {
    let dot = 0;
    let ea = 0;
    let er = 0;
    for (let i = maxLag; i < n; i += 4) {
      const x = a[i + lag] as number;
      const y = ref[i] as number;
      dot += x * y;
      ea += x * x;
      er += y * y;
    }
    best = Math.max(best, dot / Math.sqrt(ea * er));
  }
  return best;
}

beforeAll(async () => {
  reference = await readAudio(JFK);
  dir = mkdtempSync(join(tmpdir(), 'prism-formats-'));
  if (!hasFfmpeg) return;
  for (const [name, [ext, args]] of Object.entries(FORMATS)) {
    const out = join(dir, `jfk.${ext}`);
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', JFK, ...args, out]);
    files[name] = out;
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasFfmpeg)('readAudio: each format gives the samples of the WAV it was made from', () => {
  it('FLAC (lossless): the same samples', async () => {
    const pcm = await readAudio(files.flac as string);
    expect(pcm.length).toBe(reference.length);
    let worst = 0;
    for (let i = 0; i < pcm.length; i++) worst = Math.max(worst, Math.abs((pcm[i] as number) - (reference[i] as number)));
    expect(worst).toBeLessThan(1e-4);
  });

  it.each(['mp3', 'ogg-vorbis', 'ogg-opus', 'm4a', 'webm'])('%s (lossy): the same length within 60 ms, correlation > 0.95', async (name) => {
    const bytes = await readFile(files[name] as string);
    const decoded = await decodeAudio(bytes);
    expect(decoded.format).toBe(name === 'm4a' || name === 'webm' ? 'ffmpeg' : name);
    const pcm = await readAudio(files[name] as string);
    expect(Math.abs(pcm.length - reference.length)).toBeLessThan(0.06 * 16000);
    expect(similarity(pcm, reference)).toBeGreaterThan(0.95);
  });

  it('recognises each container from its first bytes', async () => {
    const want: Record<string, string> = { mp3: 'mp3', 'ogg-vorbis': 'ogg-vorbis', 'ogg-opus': 'ogg-opus', flac: 'flac', m4a: 'mp4', webm: 'webm' };
    for (const [name, format] of Object.entries(want)) expect(sniffFormat(await readFile(files[name] as string)), name).toBe(format);
    expect(sniffFormat(await readFile(JFK))).toBe('wav');
  });

  it('the length limit applies to the decoded audio, for the WebAssembly decoders and for ffmpeg', async () => {
    for (const name of ['mp3', 'webm']) {
      await expect(readAudio(files[name] as string, { maxSeconds: 5 })).rejects.toMatchObject({
        code: 'BAD_AUDIO',
        reason: 'too-long',
        message: expect.stringMatching(/is longer than 5 s/),
      });
    }
  });

  it('without ffmpeg: MP3, Ogg and FLAC still decode; M4A says what to install', async () => {
    const saved = process.env.PRISM_FFMPEG;
    process.env.PRISM_FFMPEG = join(dir, 'no-such-ffmpeg');
    try {
      expect((await readAudio(files['ogg-opus'] as string)).length).toBeGreaterThan(10 * 16000);
      await expect(readAudio(files.m4a as string)).rejects.toMatchObject({
        code: 'BAD_AUDIO',
        reason: 'needs-ffmpeg',
        message: expect.stringMatching(/is MP4\/M4A: decoding it needs ffmpeg, which is not installed \(.*install ffmpeg.*\); WAV, MP3, Ogg and FLAC need nothing/),
      });
    } finally {
      if (saved === undefined) delete process.env.PRISM_FFMPEG;
      else process.env.PRISM_FFMPEG = saved;
    }
  });
});

describe('bad audio in a known container', () => {
  it('an MP3 header over garbage: BAD_AUDIO that names the format', async () => {
    const fake = Buffer.concat([Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'), Buffer.alloc(5000, 0x55)]);
    await expect(readAudio(fake)).rejects.toMatchObject({ code: 'BAD_AUDIO', message: expect.stringMatching(/looks like MP3 but holds no audio that decodes/) });
  });

  it('empty bytes', async () => {
    await expect(readAudio(new Uint8Array(0))).rejects.toMatchObject({ code: 'BAD_AUDIO', message: expect.stringMatching(/is empty/) });
  });
});
