/**
 * The addon must say exactly what upstream's own whisper-cli says for the same model, audio and
 * decoding parameters (built from the same, unpatched whisper.cpp source by
 * scripts/build-reference-cli.mjs); and whisper-cli built from our patched copy (deps/patches) must
 * give the same tokens as the pristine one — ids and times, and probabilities within 1e-4 — for every
 * decoding mode.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../lib/audio/wav.js';
import { loadModel, readAudio, type TranscribeOptions } from '../lib/index.js';
import { JFK, models, root } from './helpers.js';

let cli: string;
let out: string;

beforeAll(async () => {
  cli = execFileSync(process.execPath, [join(root, 'scripts', 'build-reference-cli.mjs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 }).trim();
  out = await mkdtemp(join(tmpdir(), 'prism-ref-'));
}, 900_000);

interface CliSegment {
  offsets: { from: number; to: number };
  text: string;
}

async function reference(model: string, args: string[], name: string): Promise<CliSegment[]> {
  const prefix = join(out, name);
  execFileSync(cli, ['-m', model, '-f', JFK, '-t', '2', '-oj', '-of', prefix, '-np', ...args], { stdio: 'ignore' });
  return (JSON.parse(await readFile(`${prefix}.json`, 'utf8')) as { transcription: CliSegment[] }).transcription;
}

const cases: Array<[name: string, model: 'tiny' | 'tinyEn' | 'base', cliArgs: string[], options: TranscribeOptions]> = [
  ['tiny, greedy', 'tiny', ['-l', 'en', '-bs', '1'], {}],
  ['tiny, beam 5', 'tiny', ['-l', 'en', '-bs', '5'], { greedy: false, beamSize: 5 }],
  ['tiny, no timestamps', 'tiny', ['-l', 'en', '-bs', '1', '-nt'], { noTimestamps: true }],
  ['tiny, language detection', 'tiny', ['-l', 'auto', '-bs', '1'], { language: 'auto' }],
  ['tiny, initial prompt', 'tiny', ['-l', 'en', '-bs', '1', '--prompt', 'Kennedy'], { prompt: 'Kennedy' }],
  ['tiny.en, greedy', 'tinyEn', ['-bs', '1'], {}],
  ['base, audio_ctx 768', 'base', ['-l', 'en', '-bs', '1', '-ac', '768'], { audioCtx: 768 }],
];

describe('same text as upstream whisper-cli', () => {
  const loaded = new Map<string, Awaited<ReturnType<typeof loadModel>>>();
  afterAll(async () => {
    for (const m of loaded.values()) await m.close();
  });

  it.each(cases)('%s', async (name, which, cliArgs, options) => {
    const path = models()[which];
    if (!loaded.has(which)) loaded.set(which, await loadModel(path, { gpu: 'cpu', threads: 2 }));
    const model = loaded.get(which);
    const ours = await model?.transcribe(await readAudio(JFK), options);
    const theirs = await reference(path, cliArgs, name.replace(/\W+/g, '-'));
    expect(ours?.text).toBe(
      theirs
        .map((s) => s.text)
        .join('')
        .trim(),
    );
    expect(ours?.segments.map((s) => s.t0Ms)).toEqual(theirs.map((s) => Math.min(s.offsets.from, 11000)));
    expect(ours?.text.length).toBeGreaterThan(0);
  });
});

interface CliToken {
  id: number;
  p: number;
  offsets: { from: number; to: number };
}

describe('the patched whisper.cpp gives the tokens of the pristine one', () => {
  let patched: string;
  const audio: Record<string, string> = {};
  beforeAll(async () => {
    patched = execFileSync(process.execPath, [join(root, 'scripts', 'build-reference-cli.mjs'), '--patched'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 900_000,
    }).trim();
    const jfk = await readAudio(JFK);
    // 3 s, 11 s, and 44 s (two windows: the seek, the second window's prompt from the first)
    const long = new Float32Array(jfk.length * 4);
    for (let i = 0; i < 4; i++) long.set(jfk, i * jfk.length);
    for (const [name, pcm] of [
      ['3s', jfk.subarray(0, 3 * 16000)],
      ['44s', long],
    ] as const) {
      audio[name] = join(out, `${name}.wav`);
      await writeFile(audio[name], encodeWav(pcm));
    }
    audio['11s'] = JFK;
  }, 900_000);

  // ids and times exactly; p within 1e-4 relative: 0004 sums the greedy log-sum-exp in vector lanes
  // (upstream's own sequential float sum over the vocabulary carries ~1e-5 of rounding error)
  function expectSameTokens(ours: CliToken[], pristine: CliToken[]): void {
    expect(ours.map(({ id, offsets }) => ({ id, offsets }))).toEqual(pristine.map(({ id, offsets }) => ({ id, offsets })));
    for (const [i, t] of ours.entries()) {
      const p = (pristine[i] as CliToken).p;
      expect(Math.abs(t.p - p), `token ${i}: p ${t.p} vs ${p}`).toBeLessThanOrEqual(1e-4 * Math.max(p, 1e-6));
    }
  }

  async function tokens(bin: string, model: string, file: string, args: string[], name: string): Promise<CliToken[]> {
    const prefix = join(out, name);
    execFileSync(bin, ['-m', model, '-f', file, '-t', '2', '-ojf', '-of', prefix, '-np', ...args], { stdio: 'ignore' });
    const j = JSON.parse(await readFile(`${prefix}.json`, 'utf8')) as { transcription: { tokens: CliToken[] }[] };
    return j.transcription.flatMap((s) => s.tokens.map((t) => ({ id: t.id, p: t.p, offsets: t.offsets })));
  }

  const patchedCases: Array<[name: string, model: 'tiny' | 'base', audio: '3s' | '11s' | '44s', args: string[]]> = [
    ['tiny, greedy, temperature fallback on', 'tiny', '11s', ['-l', 'en', '-bs', '1']],
    ['tiny, greedy, no fallback, 3 s', 'tiny', '3s', ['-l', 'en', '-bs', '1', '-nf']],
    ['tiny, greedy, 44 s (two windows)', 'tiny', '44s', ['-l', 'en', '-bs', '1']],
    // flash attention off: V is stored transposed and written element by element (deps/patches/0003)
    ['tiny, greedy, no flash attention', 'tiny', '11s', ['-l', 'en', '-bs', '1', '-nfa']],
    ['tiny, beam 5, no flash attention', 'tiny', '11s', ['-l', 'en', '-bs', '5', '-nfa']],
    ['tiny, beam 5', 'tiny', '11s', ['-l', 'en', '-bs', '5']],
    ['tiny, no timestamps', 'tiny', '11s', ['-l', 'en', '-bs', '1', '-nt']],
    ['tiny, language detection', 'tiny', '11s', ['-l', 'auto', '-bs', '1']],
    ['tiny, prompt', 'tiny', '11s', ['-l', 'en', '-bs', '1', '--prompt', 'Kennedy']],
    ['base, greedy, audio_ctx 768', 'base', '11s', ['-l', 'en', '-bs', '1', '-ac', '768']],
    ['base, greedy, 44 s', 'base', '44s', ['-l', 'en', '-bs', '1']],
  ];

  it('the mel spectrogram: noise and a chirp (every FFT bin) give the same tokens and probabilities', async () => {
    // whisper.cpp has no getter for the mel: what the encoder makes of it (every token's p) stands in
    const n = 8 * 16000;
    const noise = new Float32Array(n);
    const chirp = new Float32Array(n);
    let x = 1;
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      noise[i] = (x / 2147483648 - 0.5) * 0.2;
      const t = i / 16000;
      chirp[i] = 0.3 * Math.sin(2 * Math.PI * (50 * t + ((7950 - 50) / (2 * 8)) * t * t)); // 50 Hz → 8 kHz
    }
    for (const [name, pcm] of [
      ['noise', noise],
      ['chirp', chirp],
    ] as const) {
      const file = join(out, `${name}.wav`);
      await writeFile(file, encodeWav(pcm));
      const pristine = await tokens(cli, models().tiny, file, ['-l', 'en', '-bs', '1', '-nf'], `mel-${name}-pristine`);
      const ours = await tokens(patched, models().tiny, file, ['-l', 'en', '-bs', '1', '-nf'], `mel-${name}-ours`);
      expectSameTokens(ours, pristine);
    }
  });

  it.each(patchedCases)('%s', async (name, which, clip, args) => {
    const path = models()[which];
    const file = audio[clip] as string;
    const tag = `patched-${name.replace(/\W+/g, '-')}`;
    const pristine = await tokens(cli, path, file, args, `${tag}-pristine`);
    const ours = await tokens(patched, path, file, args, `${tag}-ours`);
    expect(pristine.length).toBeGreaterThan(0);
    expectSameTokens(ours, pristine);
  });
});
