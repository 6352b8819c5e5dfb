/**
 * The benchmark: every stage of prism-whisper measured against the alternatives in one run, as
 * medians with their spread and ratios within the run (these machines are noisy; compare within a
 * run, never across runs). `prism-dictate bench` and `npm run bench` call runBench().
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { loadModel } from '../model.js';
import { modelCacheDir } from '../models/cache.js';
import { makeTestModel } from '../models/generate/testModel.js';
import { resolveModel } from '../models/pull.js';
import type { ModelSize } from '../models/shapes.js';
import { nativeAddon, packageRoot } from '../native.js';
import { type AlternativeRow, alternatives } from './alternatives.js';
import { type ColdRow, coldVsWarm } from './cold.js';
import { type ConcurrencyPoint, concurrencyCurve } from './concurrency.js';
import type { BenchContext } from './context.js';
import { buildCorpus } from './corpus.js';
import { type EngineRow, engineBreakdown } from './engine.js';
import { type PipelineResult, pipelineStages } from './pipeline.js';
import { type PriorityResult, priorityLane } from './priority.js';
import { renderReport } from './report.js';
import { type Resources, resources } from './resources.js';
import { againstUpstream, type UpstreamRow } from './upstream.js';

export interface BenchOptions {
  gpu: 'auto' | 'cuda' | 'cpu';
  sizes?: ModelSize[];
  /** model names or files to measure instead of generated test models (e.g. a pulled base.en) */
  models?: string[];
  runs?: number;
  quick?: boolean;
  threads?: number;
  json?: string;
  whisperCli?: string;
  /** where the alternatives get installed (npm), or false to skip them */
  alternatives?: string | false;
  command?: string;
  log?: (line: string) => void;
}

export interface SizeResult {
  size: string;
  backend: string;
  device: string;
  threads: number;
  loadMs: number;
  warmupMs: number;
  cold: ColdRow[];
  /** our decoder against upstream's whisper-cli in this run, on 1…N states (or why not measured) */
  upstream: UpstreamRow[] | string;
  engine: EngineRow[];
  concurrency: ConcurrencyPoint[];
  priority: PriorityResult;
  pipeline: PipelineResult;
  resources: Resources;
}

export interface BenchResult {
  quick: boolean;
  command: string;
  runs: number;
  machine: { date: string; cpu: string; cores: number; memGiB: number; node: string; whisperVersion: string; device: string };
  sizes: SizeResult[];
  /** which models: generated test models, or the ones given with --model */
  models: string;
  alternatives: AlternativeRow[];
  report: string;
}

async function testModel(size: ModelSize, log: (l: string) => void): Promise<string> {
  const path = join(modelCacheDir(), `ggml-test-${size}.bin`);
  if (!existsSync(path)) {
    log(`generating the ${size} test model (planted 25-word script) at ${path}`);
    await makeTestModel(path, { size, script: 25 });
  }
  return path;
}

function findWhisperCli(explicit: string | undefined): string | undefined {
  const candidates = [
    explicit,
    process.env.PRISM_WHISPER_CLI,
    join(packageRoot, 'build-ref', 'bin', 'whisper-cli'),
    join(packageRoot, 'build-ref', 'bin', 'Release', 'whisper-cli.exe'),
  ];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`bench: ${l}\n`));
  const quick = o.quick ?? false;
  const onGpu =
    o.gpu !== 'cpu' &&
    nativeAddon()
      .devices()
      .some((d) => d.type === 'gpu');
  const sizes = o.sizes ?? (quick ? ['tiny'] : onGpu ? ['medium', 'large-v3-turbo'] : ['tiny', 'base']);
  const runs = o.runs ?? (quick ? 3 : 15);
  const levels = quick ? [1, 2] : onGpu ? [1, 2, 4, 8] : [1, 2, 4];
  const corpus = await buildCorpus(quick ? 6 : 30);
  const jfk = corpus.utterances[0];
  if (!jfk) throw new Error('no audio');
  const results: SizeResult[] = [];
  let device = 'CPU';
  const targets = o.models?.length
    ? o.models.map((m) => ({
        size: basename(m)
          .replace(/^ggml-/, '')
          .replace(/\.bin$/, ''),
        path: resolveModel(m),
      }))
    : sizes.map((size) => ({ size, path: undefined }));
  for (const { size, path } of targets) {
    const modelPath = path ?? (await testModel(size as ModelSize, log));
    const t0 = performance.now();
    const model = await loadModel(modelPath, { gpu: o.gpu, threads: o.threads });
    const loadMs = performance.now() - t0;
    device = model.info.device;
    log(`${size}: loaded on ${model.info.backend} in ${loadMs.toFixed(0)} ms`);
    const ctx: BenchContext = { size, modelPath, gpu: o.gpu, threads: o.threads, runs, quick, jfk, model, whisperCli: findWhisperCli(o.whisperCli), log };
    try {
      results.push({
        size,
        backend: model.info.backend,
        device: model.info.device,
        threads: model.info.threads,
        loadMs,
        warmupMs: model.info.warmupMs,
        cold: await coldVsWarm(ctx),
        upstream: await againstUpstream(ctx, quick ? [1, 2] : [1, 2, 4]),
        engine: await engineBreakdown(ctx),
        concurrency: await concurrencyCurve(ctx, levels),
        priority: await priorityLane(ctx, Math.max(...levels)),
        pipeline: await pipelineStages(ctx, corpus.utterances, corpus.source),
        resources: await resources(ctx),
      });
    } finally {
      await model.close();
    }
  }
  const alt =
    o.alternatives === false || quick || onGpu ? [] : await alternatives(await testModel('tiny', log), o.alternatives ?? join(modelCacheDir(), '..', 'bench-alternatives'), log);
  // Against prism-whisper's warm call on the same model, audio and parameters, in this run.
  const prismWarm = results.find((r) => r.size === 'tiny')?.cold[0]?.wallMs?.p50;
  for (const a of alt) if (a.wallMs && prismWarm) a.ratioToPrism = a.wallMs.p50 / prismWarm;
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const result: BenchResult = {
    quick,
    command: o.command ?? 'prism-dictate bench',
    runs,
    machine: {
      date: new Date().toISOString().slice(0, 10),
      cpu,
      cores: availableParallelism(),
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      whisperVersion: nativeAddon().whisperVersion,
      device,
    },
    sizes: results,
    models: o.models?.length ? `given (${targets.map((t) => t.path).join(', ')})` : 'generated, planted 25-word script',
    alternatives: alt,
    report: '',
  };
  result.report = renderReport(result);
  if (o.json) await writeFile(o.json, JSON.stringify(result, null, 2));
  return result;
}
