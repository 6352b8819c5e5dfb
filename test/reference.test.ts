/**
 * The addon must say exactly what upstream's own whisper-cli says for the same model, audio and
 * decoding parameters (built from the same whisper.cpp source by scripts/build-reference-cli.mjs).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
