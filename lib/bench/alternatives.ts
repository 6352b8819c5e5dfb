/**
 * The npm bindings of whisper.cpp a user would pick instead, installed as a user would install them
 * (npm, into a folder of their own) and run on the same model and audio, each in its own process:
 * @fugood/whisper.node (prebuilt binaries) and smart-whisper (built at install).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jfkPath } from './corpus.js';
import { LOOP_GAP_SOURCE } from './loopGap.js';
import { type Summary, summarize } from './stats.js';

export interface AlternativeRow {
  what: string;
  wallMs: Summary | undefined;
  ratioToPrism?: number;
  /** the longest event-loop gap during a warm call (ms) */
  loopGapMs?: number;
  note?: string;
}

const PACKAGES = ['@fugood/whisper.node@1.1.3', 'smart-whisper@0.8.1'];

// Each runner loads the model once, transcribes jfk `runs` times and prints the wall times and the
// longest event-loop gap of each call as JSON.
const RUNNERS: Record<string, string> = {
  'fugood.mjs': `${LOOP_GAP_SOURCE}import { initWhisper } from '@fugood/whisper.node';
const [model, audio, runs] = process.argv.slice(2);
const ctx = await initWhisper({ filePath: model, useGpu: false });
const times = [];
const gaps = [];
let text = '';
for (let i = 0; i < Number(runs); i++) {
  const t0 = performance.now();
  const { value: r, gapMs } = await withLoopGap(() => ctx.transcribeFile(audio, { language: 'en', temperature: 0 }).promise);
  times.push(performance.now() - t0);
  gaps.push(gapMs);
  text = r.result;
}
await ctx.release();
console.log(JSON.stringify({ times, gaps, text }));
`,
  'smart.mjs': `${LOOP_GAP_SOURCE}import { readFileSync } from 'node:fs';
import { Whisper } from 'smart-whisper';
const [model, audio, runs] = process.argv.slice(2);
const bytes = readFileSync(audio);
const pcm = new Float32Array((bytes.length - 44) / 2);
for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(44 + i * 2) / 32768;
const whisper = new Whisper(model, { gpu: false });
const times = [];
const gaps = [];
let text = '';
for (let i = 0; i < Number(runs); i++) {
  const t0 = performance.now();
  const { value: r, gapMs } = await withLoopGap(async () => (await whisper.transcribe(pcm, { language: 'en' })).result);
  times.push(performance.now() - t0);
  gaps.push(gapMs);
  text = r.map((s) => s.text).join('');
}
await whisper.free();
console.log(JSON.stringify({ times, gaps, text }));
`,
};

export async function alternatives(modelPath: string, dir: string, log: (l: string) => void, runs = 3): Promise<AlternativeRow[]> {
  await mkdir(dir, { recursive: true });
  if (!existsSync(join(dir, 'node_modules', 'smart-whisper')) || !existsSync(join(dir, 'node_modules', '@fugood', 'whisper.node'))) {
    log(`installing ${PACKAGES.join(' and ')} into ${dir} (smart-whisper compiles whisper.cpp: minutes)`);
    if (!existsSync(join(dir, 'package.json'))) await writeFile(join(dir, 'package.json'), '{ "name": "prism-bench-alternatives", "private": true }\n');
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', ...PACKAGES], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      shell: process.platform === 'win32',
    });
    if (r.status !== 0) return PACKAGES.map((p) => ({ what: p, wallMs: undefined, note: `npm install failed: ${(r.stderr ?? '').trim().split('\n').at(-1)}` }));
  }
  const rows: AlternativeRow[] = [];
  for (const [file, what] of [
    ['fugood.mjs', '@fugood/whisper.node 1.1.3 (prebuilt), warm call'],
    ['smart.mjs', 'smart-whisper 0.8.1 (built at install), warm call'],
  ] as const) {
    await writeFile(join(dir, file), RUNNERS[file] as string);
    const r = spawnSync(process.execPath, [file, modelPath, jfkPath(), String(runs + 1)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 600_000 });
    const line = (r.stdout ?? '').trim().split('\n').at(-1) ?? '';
    try {
      const { times, gaps, text } = JSON.parse(line) as { times: number[]; gaps: number[]; text: string };
      // The first call may load lazily; the rest are warm.
      rows.push({
        what,
        wallMs: summarize(times.slice(1)),
        loopGapMs: Math.max(...gaps.slice(1)),
        note: `first call ${times[0]?.toFixed(0)} ms; text ${text.trim() === '' ? 'empty' : `"${text.trim().slice(0, 30)}…"`}`,
      });
    } catch {
      rows.push({ what, wallMs: undefined, note: `did not run: ${(r.stderr || r.error?.message || 'no output').trim().split('\n').slice(-1)[0]}` });
    }
    log(`alternative ${file}: done`);
  }
  return rows;
}
