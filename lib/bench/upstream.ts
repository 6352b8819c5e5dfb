/**
 * Our decoder against upstream's, in one run: the warm addon with N states (N concurrent calls) and
 * upstream's whisper-cli built from the same whisper.cpp tree, same model, audio, threads, greedy
 * decoding and encoder window. whisper-cli's own timings (whisper_print_timings) give its mel, encode,
 * per-token decode and sampling; ours come from transcribe()'s timings, where "decode" is everything
 * after the encoder (token passes, the prompt pass and sampling), so upstream's counterpart is its
 * decode + batched-decode + sample time over the same tokens.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { autoAudioCtx, loadModel } from '../model.js';
import { packageRoot } from '../native.js';
import type { BenchContext } from './context.js';
import { jfkPath } from './corpus.js';
import { type Summary, summarize } from './stats.js';

/** How to build upstream's whisper-cli from the same tree (the script ships in the package; it needs cmake and a compiler). */
export const BUILD_REFERENCE = `node ${join(packageRoot, 'scripts', 'build-reference-cli.mjs')}`;

export interface UpstreamRow {
  what: string;
  states: number;
  totalMs: Summary;
  melMs: number;
  encodeMs: number;
  /** everything after the encoder, per decoded token */
  afterEncodeMsPerToken: number;
  /** whisper-cli rows: its sampling time per token */
  sampleMsPerToken?: number;
  /** × upstream's (< 1: ours is faster) */
  ratio?: number;
}

interface CliTimings {
  mel: number;
  sample: number;
  encode: number;
  decode: number;
  batchd: number;
  prompt: number;
  /** from whisper_init to the end: includes loading the model */
  total: number;
}

/** whisper_print_timings' lines: "decode time = 80.53 ms / 26 runs (...)". */
export function parseCliTimings(stderr: string): CliTimings | undefined {
  const get = (name: string) => Number(new RegExp(`${name} time =\\s*([\\d.]+) ms`).exec(stderr)?.[1] ?? Number.NaN);
  const t = { mel: get('mel'), sample: get('sample'), encode: get('encode'), decode: get('decode'), batchd: get('batchd'), prompt: get('prompt'), total: get('total') };
  if (Number.isNaN(t.total) || Number.isNaN(t.decode)) return undefined;
  for (const k of Object.keys(t) as (keyof CliTimings)[]) if (Number.isNaN(t[k])) t[k] = 0;
  return t;
}

export async function againstUpstream(ctx: BenchContext, levels: number[]): Promise<UpstreamRow[] | string> {
  if (ctx.gpu !== 'cpu' && ctx.model.info.backend !== 'cpu') return 'CPU only here (bench/gpu/run.sh compares the GPU build)';
  if (!ctx.whisperCli) return `whisper-cli not built: ${BUILD_REFERENCE}`;
  const threads = ctx.model.info.threads;
  const audioCtx = autoAudioCtx(ctx.jfk.pcm.length);
  const opts = { language: 'en', greedy: true, temperatureFallback: false, audioCtx } as const;
  const rows: UpstreamRow[] = [];

  const args = ['-m', ctx.modelPath, '-f', jfkPath(), '-l', 'en', '-bs', '1', '-bo', '1', '-t', String(threads), '-ac', String(audioCtx), '-nf', '-ng'];
  const runCli = (bin: string): CliTimings[] | string => {
    const out: CliTimings[] = [];
    for (let i = 0; i < ctx.runs; i++) {
      const r = spawnSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
      const t = r.status === 0 ? parseCliTimings(r.stderr) : undefined;
      if (!t) return `whisper-cli failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').at(-1)}`;
      out.push(t);
    }
    return out;
  };
  const cli = runCli(ctx.whisperCli);
  if (typeof cli === 'string') return cli;
  // whisper-cli from our patched copy (deps/patches), when built: node scripts/build-reference-cli.mjs --patched
  const patchedBin = join(packageRoot, 'build-ref-patched', 'bin', basename(ctx.whisperCli));
  const patched = existsSync(patchedBin) ? runCli(patchedBin) : undefined;
  const med = (xs: number[]) => summarize(xs).p50;
  const cliRow = (what: string, runs: CliTimings[], tokens: number): UpstreamRow => ({
    what,
    states: 1,
    totalMs: summarize(runs.map((t) => t.mel + t.encode + t.decode + t.batchd + t.prompt + t.sample)), // the call, without the load
    melMs: med(runs.map((t) => t.mel)),
    encodeMs: med(runs.map((t) => t.encode)),
    afterEncodeMsPerToken: med(runs.map((t) => t.decode + t.batchd + t.prompt + t.sample)) / tokens,
    sampleMsPerToken: med(runs.map((t) => t.sample)) / tokens,
  });

  for (const states of levels) {
    const model = await loadModel(ctx.modelPath, { gpu: 'cpu', states, threads });
    try {
      const timings: { totalMs: number; melMs: number; encodeMs: number; decodeMs: number; tokens: number }[] = [];
      for (let i = 0; i < ctx.runs; i++) {
        const all = await Promise.all(Array.from({ length: states }, () => model.transcribe(ctx.jfk.pcm, opts)));
        timings.push(...all.map((t) => t.timings));
      }
      const tokens = timings[0]?.tokens ?? 1;
      rows.push({
        what: `prism-whisper, ${states} state${states > 1 ? 's' : ''} (${states} concurrent call${states > 1 ? 's' : ''})`,
        states,
        totalMs: summarize(timings.map((t) => t.totalMs)),
        melMs: med(timings.map((t) => t.melMs)),
        encodeMs: med(timings.map((t) => t.encodeMs)),
        afterEncodeMsPerToken: med(timings.map((t) => t.decodeMs)) / tokens,
      });
      if (states === levels[0]) {
        const upstream = [cliRow('upstream whisper-cli (pristine tree, upstream build flags, one process per call)', cli, tokens)];
        if (Array.isArray(patched)) upstream.push(cliRow('whisper-cli from our patched tree (deps/patches)', patched, tokens));
        rows.unshift(...upstream);
      }
    } finally {
      await model.close();
    }
  }
  const base = rows[0]?.afterEncodeMsPerToken;
  for (const r of rows) if (base) r.ratio = r.afterEncodeMsPerToken / base;
  ctx.log(`upstream: after-encode ms/token ${rows.map((r) => r.afterEncodeMsPerToken.toFixed(2)).join(' / ')}`);
  return rows;
}
