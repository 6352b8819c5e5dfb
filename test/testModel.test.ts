import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectModelFile, loadModel, makeTestModel, readAudio } from '../lib/index.js';
import { f16ToF32, f32ToF16 } from '../lib/models/generate/f16.js';
import { specialTokens } from '../lib/models/generate/tokens.js';
import { JFK, models, SCRIPT_25 } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prism-gen-'));
});

const sha = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

describe('makeTestModel', () => {
  it('writes the exact ggml layout of tiny and base, at the official sizes', async () => {
    const tiny = await inspectModelFile(models().tiny);
    expect(tiny.hparams).toMatchObject({ nVocab: 51865, nAudioState: 384, nAudioHead: 6, nAudioLayer: 4, nTextLayer: 4, nMels: 80, ftype: 1 });
    expect(tiny.tensors).toBe(167);
    expect(tiny.types.sort()).toEqual(['f16', 'f32']);
    expect(tiny.weightBytes).toBe(77_111_040); // whisper.cpp: "model size = 77.11 MB"
    const base = await inspectModelFile(models().base);
    expect(base.hparams).toMatchObject({ nAudioState: 512, nAudioHead: 8, nAudioLayer: 6, nTextLayer: 6 });
    expect(base.weightBytes / 1e6).toBeCloseTo(147.37, 1);
    const en = await inspectModelFile(models().tinyEn);
    expect(en.hparams.nVocab).toBe(51864);
  });

  it('is deterministic for a seed, and the seed matters', async () => {
    const a = join(dir, 'a.bin');
    const b = join(dir, 'b.bin');
    const c = join(dir, 'c.bin');
    await makeTestModel(a, { size: 'tiny', seed: 7, script: 5 });
    await makeTestModel(b, { size: 'tiny', seed: 7, script: 5 });
    await makeTestModel(c, { size: 'tiny', seed: 8, script: 5 });
    expect(await sha(a)).toBe(await sha(b));
    expect(await sha(a)).not.toBe(await sha(c));
  });

  it('plants a given script of words, and reports the text it will produce', async () => {
    const path = join(dir, 'words.bin');
    const info = await makeTestModel(path, { size: 'tiny', script: ['prism', 'whisper', 'types', 'fast', 'prism'] });
    expect(info.expectedText).toBe(' prism whisper types fast prism');
    const m = await loadModel(path, { warmup: false });
    const t = await m.transcribe(await readAudio(JFK));
    expect(t.text).toBe('prism whisper types fast prism');
    await m.close();
  });

  it('the default planted script decodes through every layer', async () => {
    const m = await loadModel(models().base, { warmup: false });
    expect((await m.transcribe(await readAudio(JFK))).text).toBe(SCRIPT_25);
    await m.close();
  });

  it('refuses impossible requests', async () => {
    await expect(makeTestModel(join(dir, 'x.bin'), { size: 'huge' as never })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(makeTestModel(join(dir, 'x.bin'), { size: 'large-v3', english: true })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(makeTestModel(join(dir, 'x.bin'), { script: 500 })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(makeTestModel(join(dir, 'x.bin'), { script: ['two words'] })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});

describe('special tokens', () => {
  it('match whisper.cpp for English, multilingual and large-v3 vocabularies', () => {
    expect(specialTokens(51864)).toMatchObject({ eot: 50256, sot: 50257, transcribe: 50358, notimestamps: 50362, beg: 50363 });
    expect(specialTokens(51865)).toMatchObject({ eot: 50257, sot: 50258, langEn: 50259, transcribe: 50359, notimestamps: 50363, beg: 50364 });
    expect(specialTokens(51866)).toMatchObject({ eot: 50257, languages: 100, transcribe: 50360, beg: 50365 });
  });
});

describe('f16', () => {
  it('rounds to nearest even and keeps specials', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 6.103515625e-5, 2 ** -24, 3]) expect(f16ToF32(f32ToF16(v))).toBe(v);
    expect(f32ToF16(1e6)).toBe(0x7c00);
    expect(Number.isNaN(f16ToF32(f32ToF16(Number.NaN)))).toBe(true);
    expect(f16ToF32(f32ToF16(1 + 2 ** -11))).toBe(1); // tie → even
    expect(f16ToF32(f32ToF16(0.1))).toBeCloseTo(0.0999755859375, 10);
  });
});
