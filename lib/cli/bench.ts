/** `prism-dictate bench`: the benchmark (lib/bench), printed as Markdown tables, JSON with --json. */
import type { Command } from 'commander';
import { runBench } from '../bench/main.js';
import { WhisperError } from '../errors.js';
import { MODEL_SIZES, type ModelSize } from '../models/shapes.js';
import { report } from './exit.js';

interface Options {
  gpu: 'auto' | 'cuda' | 'cpu';
  sizes?: string;
  model?: string;
  runs?: string;
  threads?: string;
  quick?: boolean;
  json?: string;
  whisperCli?: string;
  alternatives?: string | boolean;
}

export function benchCommand(program: Command): void {
  program
    .command('bench')
    .description('measure every stage: cold vs warm, engine breakdown, concurrency, dictation stages, resources, alternatives')
    .option('--gpu <mode>', 'auto | cuda | cpu', 'auto')
    .option('--sizes <list>', `comma-separated test-model sizes (${MODEL_SIZES.join(', ')}); default tiny,base on a CPU, medium,large-v3-turbo on a GPU`)
    .option('--model <names|files>', 'comma-separated model names or files to measure instead of generated test models (e.g. base.en after models pull)')
    .option('--runs <n>', 'runs per figure (default 15, 3 with --quick)')
    .option('--threads <n>', 'CPU threads')
    .option('--quick', 'tiny only, few runs, no alternatives: under 2 minutes')
    .option('--json <file>', 'write every figure as JSON')
    .option('--whisper-cli <path>', 'upstream whisper-cli for the cold-process comparison (default: build-ref/)')
    .option('--no-alternatives', 'skip installing and running the other npm bindings')
    .action(async (opts: Options) => {
      try {
        const sizes = opts.sizes?.split(',').map((s) => s.trim());
        for (const s of sizes ?? []) if (!(MODEL_SIZES as readonly string[]).includes(s)) throw new WhisperError('BAD_ARGUMENT', `unknown size "${s}"`);
        const result = await runBench({
          gpu: opts.gpu,
          sizes: sizes as ModelSize[] | undefined,
          models: opts.model
            ?.split(',')
            .map((m) => m.trim())
            .filter(Boolean),
          runs: opts.runs ? Number(opts.runs) : undefined,
          threads: opts.threads ? Number(opts.threads) : undefined,
          quick: opts.quick,
          json: opts.json,
          whisperCli: opts.whisperCli,
          alternatives: opts.alternatives === false ? false : undefined,
          command: `prism-dictate ${process.argv.slice(2).join(' ')}`,
        });
        process.stdout.write(`${result.report}\n`);
      } catch (e) {
        report(e);
      }
    });
}
