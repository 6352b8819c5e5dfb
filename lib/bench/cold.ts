/**
 * Cold vs warm, the origin tool's bottleneck: one fresh process per utterance (load, transcribe, exit)
 * — upstream's whisper-cli, and prism-whisper itself in a child process — against transcribe() on the
 * warm model. Same model, audio and decoding parameters (greedy, English), once with the full 30 s
 * window and once with the window 'auto' picks for the clip (the product's default; upstream gets it as -ac).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { autoAudioCtx } from '../model.js';
import { packageRoot } from '../native.js';
import type { BenchContext } from './context.js';
import { jfkPath } from './corpus.js';
import { type Summary, summarize } from './stats.js';
import { BUILD_REFERENCE } from './upstream.js';

export interface ColdRow {
  window: 'full' | 'auto';
  what: string;
  wallMs: Summary | undefined;
  ratioToWarm: number | undefined;
  note?: string;
}

function timeProcess(command: string, args: string[], runs: number): Summary | string {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) return `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').at(-1)}`;
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

export async function coldVsWarm(ctx: BenchContext): Promise<ColdRow[]> {
  const rows: ColdRow[] = [];
  for (const window of ['full', 'auto'] as const) rows.push(...(await coldVsWarmIn(ctx, window)));
  ctx.log(`cold: ${rows.map((r) => r.ratioToWarm?.toFixed(1) ?? '-').join(' / ')}×`);
  return rows;
}

async function coldVsWarmIn(ctx: BenchContext, window: 'full' | 'auto'): Promise<ColdRow[]> {
  const runs = Math.max(2, Math.ceil(ctx.runs / 3));
  const audioCtx = window === 'auto' ? autoAudioCtx(ctx.jfk.pcm.length) : undefined;
  const warm: number[] = [];
  for (let i = 0; i < ctx.runs; i++) warm.push((await ctx.model.transcribe(ctx.jfk.pcm, { greedy: true, audioCtx })).timings.totalMs);
  const warmMs = summarize(warm);
  const rows: ColdRow[] = [{ window, what: 'warm transcribe() (model loaded once)', wallMs: warmMs, ratioToWarm: 1 }];
  const row = (what: string, r: Summary | string): ColdRow =>
    typeof r === 'string' ? { window, what, wallMs: undefined, ratioToWarm: undefined, note: r } : { window, what, wallMs: r, ratioToWarm: r.p50 / warmMs.p50 };

  const threads = String(ctx.threads ?? availableParallelism());
  if (ctx.whisperCli) {
    const args = ['-m', ctx.modelPath, '-f', jfkPath(), '-l', 'en', '-bs', '1', '-t', threads, '-np'];
    if (audioCtx !== undefined) args.push('-ac', String(audioCtx));
    if (ctx.gpu === 'cpu') args.push('-ng');
    rows.push(row('cold whisper-cli process (upstream, same source)', timeProcess(ctx.whisperCli, args, runs)));
  } else {
    rows.push({ window, what: 'cold whisper-cli process', wallMs: undefined, ratioToWarm: undefined, note: `not built: ${BUILD_REFERENCE}` });
  }
  const script = [
    `import { loadModel, readAudio } from ${JSON.stringify(join(packageRoot, 'dist', 'index.js'))};`,
    `const m = await loadModel(${JSON.stringify(ctx.modelPath)}, { gpu: ${JSON.stringify(ctx.gpu)}, warmup: false, threads: ${threads} });`,
    `await m.transcribe(await readAudio(${JSON.stringify(jfkPath())}), { greedy: true, audioCtx: ${JSON.stringify(audioCtx)} });`,
    'await m.close();',
  ].join('\n');
  rows.push(row('cold node process with prism-whisper (load, transcribe, exit)', timeProcess(process.execPath, ['--input-type=module', '-e', script], runs)));
  return rows;
}
