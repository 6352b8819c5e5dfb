/** `prism-dictate models list | pull | path | rm | make-test` */
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { WhisperError } from '../errors.js';
import { localModelPath, modelCacheDir } from '../models/cache.js';
import { download } from '../models/download.js';
import { modelUrl, REGISTRY, registryEntry } from '../models/registry.js';
import { MODEL_SIZES, type ModelSize } from '../models/shapes.js';
import { makeTestModel } from '../models/testModel.js';
import { report } from './exit.js';

function entryOrThrow(name: string) {
  const entry = registryEntry(name);
  if (!entry) throw new WhisperError('MODEL_NOT_FOUND', `unknown model "${name}"; see: prism-dictate models list`);
  return entry;
}

function run<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A): Promise<void> => {
    try {
      await action(...args);
    } catch (e) {
      report(e);
    }
  };
}

export function modelsCommand(program: Command): void {
  const models = program.command('models').description('list, download and remove Whisper models');

  models
    .command('list')
    .description('the models that can be pulled, and which are present')
    .option('--json', 'print JSON')
    .action(
      run(async (opts: { json?: boolean }) => {
        const rows = REGISTRY.map((e) => {
          const path = join(modelCacheDir(), e.file);
          return { name: e.name, mib: e.mib, english: e.english, quantized: e.quantized, pulled: existsSync(path), path };
        });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ cache: modelCacheDir(), models: rows }, null, 2)}\n`);
          return;
        }
        process.stdout.write(`models in ${modelCacheDir()}\n`);
        for (const r of rows)
          process.stdout.write(
            `${r.pulled ? '*' : ' '} ${r.name.padEnd(22)} ${String(r.mib).padStart(5)} MiB${r.english ? '  English-only' : ''}${r.quantized ? '  quantized' : ''}\n`,
          );
      }),
    );

  models
    .command('pull')
    .description('download a model by name (or any ggml model by --url) into the cache, verified and resumable')
    .argument('<name>', 'model name, e.g. base.en')
    .option('--url <url>', 'download from this URL instead of the official one')
    .option('--sha256 <hex>', 'expected SHA-256 (required with --url unless --sha1 is given)')
    .option('--sha1 <hex>', 'expected SHA-1')
    .option('--force', 'download again even if present')
    .option('--quiet', 'no progress bar')
    .action(
      run(async (name: string, opts: { url?: string; sha256?: string; sha1?: string; force?: boolean; quiet?: boolean }) => {
        let url: string;
        let dest: string;
        let sha1 = opts.sha1;
        let sha256 = opts.sha256;
        if (opts.url) {
          if (!sha1 && !sha256) throw new WhisperError('BAD_ARGUMENT', '--url needs --sha256 (or --sha1) so the file can be verified');
          url = opts.url;
          dest = localModelPath(name);
        } else {
          const entry = entryOrThrow(name);
          url = modelUrl(entry);
          dest = join(modelCacheDir(), entry.file);
          sha1 ??= entry.sha1;
          sha256 ??= entry.sha256;
        }
        if (existsSync(dest) && !opts.force) {
          process.stdout.write(`${dest}\n`);
          return;
        }
        const bar =
          opts.quiet || !process.stderr.isTTY
            ? undefined
            : new cliProgress.SingleBar(
                { format: `${name} [{bar}] {percentage}% {value}/{total} MiB {eta_formatted}`, stream: process.stderr },
                cliProgress.Presets.shades_classic,
              );
        const mib = (b: number): number => Math.round(b / 1048576);
        try {
          const result = await download({
            url,
            dest,
            sha1,
            sha256,
            onWait: () => process.stderr.write(`${name} is being pulled into ${dest} by another process; waiting for it to finish…\n`),
            onProgress: (p) => {
              if (!bar) return;
              if (!bar.isActive) bar.start(mib(p.total ?? p.received), mib(p.resumedFrom));
              bar.update(mib(p.received));
            },
          });
          bar?.stop();
          if (result.resumedFrom > 0) process.stderr.write(`resumed from ${mib(result.resumedFrom)} MiB\n`);
          process.stdout.write(`${result.path}\n`);
        } finally {
          bar?.stop();
        }
      }),
    );

  models
    .command('path')
    .description('print the file a model name resolves to')
    .argument('<name>')
    .action(
      run(async (name: string) => {
        const path = localModelPath(name);
        if (!existsSync(path)) throw new WhisperError('MODEL_NOT_FOUND', `model "${name}" is not downloaded; run: prism-dictate models pull ${name}`);
        process.stdout.write(`${path}\n`);
      }),
    );

  models
    .command('rm')
    .description('delete a downloaded model (and any partial download)')
    .argument('<name>')
    .action(
      run(async (name: string) => {
        const path = localModelPath(name);
        const present = existsSync(path) || existsSync(`${path}.part`);
        if (!present) throw new WhisperError('MODEL_NOT_FOUND', `model "${name}" is not downloaded`);
        await rm(path, { force: true });
        await rm(`${path}.part`, { force: true });
        process.stdout.write(`removed ${path}\n`);
      }),
    );

  models
    .command('make-test')
    .description('write a random-weight model of the real ggml layout with a planted script (for tests and benchmarks)')
    .argument('<size>', MODEL_SIZES.join(' | '))
    .option('--out <file>', 'where to write it (default: the cache, as ggml-test-SIZE.bin)')
    .option('--english', 'English-only vocabulary')
    .option('--script <n|words>', 'planted word count, or comma-separated words', '25')
    .option('--seed <n>', 'random seed', '1')
    .option('--json', 'print JSON')
    .action(
      run(async (size: string, opts: { out?: string; english?: boolean; script: string; seed: string; json?: boolean }) => {
        if (!(MODEL_SIZES as readonly string[]).includes(size)) throw new WhisperError('BAD_ARGUMENT', `size must be one of ${MODEL_SIZES.join(', ')}`);
        const out = resolve(opts.out ?? join(modelCacheDir(), `ggml-test-${size}${opts.english ? '.en' : ''}.bin`));
        const script = /^\d+$/.test(opts.script) ? Number(opts.script) : opts.script.split(',').filter(Boolean);
        const started = performance.now();
        const info = await makeTestModel(out, { size: size as ModelSize, english: opts.english, script, seed: Number(opts.seed) });
        const ms = Math.round(performance.now() - started);
        if (opts.json) process.stdout.write(`${JSON.stringify({ ...info, ms }, null, 2)}\n`);
        else process.stdout.write(`${out} (${(statSync(out).size / 1e6).toFixed(1)} MB in ${ms} ms)\nplanted: ${info.expectedText.trim()}\n`);
      }),
    );
}
