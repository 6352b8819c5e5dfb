/** `prism-dictate models list | pull | path | rm | make-test` */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { WhisperError } from '../errors.js';
import { localModelPath, modelCacheDir } from '../models/cache.js';
import { download } from '../models/download.js';
import { makeTestModel } from '../models/generate/testModel.js';
import { modelSource } from '../models/pull.js';
import { REGISTRY } from '../models/registry.js';
import { MODEL_SIZES, type ModelSize } from '../models/shapes.js';
import { report } from './exit.js';
import { downloadProgress, pullWithProgress, waitingFor } from './pull.js';

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
        // everything else in the cache: test models (models pull test-tiny) and models pulled with --url
        const known = new Set(REGISTRY.map((e) => e.file));
        const others = (existsSync(modelCacheDir()) ? readdirSync(modelCacheDir()) : [])
          .filter((f) => /^ggml-.+\.bin$/.test(f) && !known.has(f))
          .sort()
          .map((f) => {
            const name = f.replace(/^ggml-/, '').replace(/\.bin$/, '');
            const path = join(modelCacheDir(), f);
            return { name, mib: Math.round(statSync(path).size / 1048576), test: modelSource(name)?.kind === 'test', path };
          });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ cache: modelCacheDir(), models: rows, local: others }, null, 2)}\n`);
          return;
        }
        process.stdout.write(`models in ${modelCacheDir()} (* = downloaded; pull one with: prism-dictate models pull NAME)\n`);
        for (const r of rows)
          process.stdout.write(
            `${r.pulled ? '*' : ' '} ${r.name.padEnd(22)} ${String(r.mib).padStart(5)} MiB${r.english ? '  English-only' : ''}${r.quantized ? '  quantized' : ''}\n`,
          );
        process.stdout.write('also by name: test-tiny, test-base, … (test-SIZE[.en]: random weights, made here without the network)\n');
        for (const o of others) process.stdout.write(`* ${o.name.padEnd(22)} ${String(o.mib).padStart(5)} MiB  ${o.test ? 'test model (random weights)' : 'pulled by URL'}\n`);
      }),
    );

  models
    .command('pull')
    .description('download a model by name (or any ggml model by --url) into the cache, verified and resumable; test-SIZE names are generated here')
    .argument('<name>', 'model name, e.g. base.en, or test-tiny')
    .option('--url <url>', 'download from this URL instead of the official one')
    .option('--sha256 <hex>', 'expected SHA-256 (required with --url unless --sha1 is given)')
    .option('--sha1 <hex>', 'expected SHA-1')
    .option('--force', 'download again even if present')
    .option('--quiet', 'no progress bar')
    .action(
      run(async (name: string, opts: { url?: string; sha256?: string; sha1?: string; force?: boolean; quiet?: boolean }) => {
        if (!opts.url) {
          if (!modelSource(name)) throw new WhisperError('MODEL_NOT_FOUND', `unknown model "${name}"; see: prism-dictate models list`);
          process.stdout.write(`${await pullWithProgress(name, { quiet: opts.quiet, force: opts.force })}\n`);
          return;
        }
        if (!opts.sha1 && !opts.sha256) throw new WhisperError('BAD_ARGUMENT', '--url needs --sha256 (or --sha1) so the file can be verified');
        const dest = localModelPath(name);
        if (existsSync(dest) && !opts.force) {
          process.stdout.write(`${dest}\n`);
          return;
        }
        const progress = downloadProgress(name, opts.quiet);
        try {
          const result = await download({ url: opts.url, dest, sha1: opts.sha1, sha256: opts.sha256, onProgress: progress.onProgress, onWait: waitingFor(name) });
          progress.done();
          process.stdout.write(`${result.path}\n`);
        } finally {
          progress.done();
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
