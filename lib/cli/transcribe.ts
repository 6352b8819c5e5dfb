/** `prism-dictate transcribe FILE…`: transcribe audio files (WAV, MP3, Ogg, FLAC; M4A/WebM through ffmpeg) on a warm model. */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { readAudio } from '../audio/read.js';
import type { Engine } from '../engine/contract.js';
import { WhisperError } from '../errors.js';
import { loadModel, type WhisperModel } from '../model.js';
import { ServiceEngine } from '../service/serviceEngine.js';
import { configFor } from './config.js';
import { EXIT, exitCodeFor } from './exit.js';

/** An engine, and which model answers on it (its file), and where it runs: said in every output. */
type Via = Engine & { via: 'service' | 'in-process'; answering: { model: string; backend: string; pid: number } };

/**
 * The running service when there is one (unless --no-service) and it runs the model asked for with
 * --model (`asked`; without it, any model will do), else the model loaded in this process. When it
 * cannot be loaded here, the error names the service's model too.
 */
async function engineFor(opts: Options, asked: string | undefined): Promise<Via> {
  const found = opts.service === false ? {} : await ServiceEngine.find({ model: asked });
  if (found.engine) {
    const { model, backend, pid } = found.engine.welcome;
    return Object.assign(found.engine, { via: 'service' as const, answering: { model, backend, pid } });
  }
  if (!['auto', 'cuda', 'cpu'].includes(opts.gpu)) throw new WhisperError('BAD_ARGUMENT', '--gpu must be auto, cuda or cpu');
  const other = found.other;
  let model: WhisperModel;
  try {
    model = await loadModel(opts.model, { gpu: opts.gpu, threads: opts.threads ? Number(opts.threads) : undefined });
  } catch (e) {
    if (!other || !(e instanceof WhisperError)) throw e;
    throw new WhisperError(e.code, `${e.message}; the running service (pid ${other.pid}) has another model, ${other.model}: leave out --model to use it`, { cause: e });
  }
  return Object.assign(model, { via: 'in-process' as const, answering: { model: model.info.path, backend: model.info.backend, pid: process.pid } });
}

/**
 * SIGINT/SIGTERM while files are read and transcribed end the process at once (130/143), as they would
 * without a handler, but through process.exit(): its 'exit' hook kills a running ffmpeg and removes its
 * temporary folder (lib/audio/ffmpeg.ts), which a death by signal would leave behind. Returns the undo.
 */
function exitOnSignal(): () => void {
  const onSignal = (signal: NodeJS.Signals): void => process.exit(signal === 'SIGINT' ? 130 : 143);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
}

interface Options {
  model: string;
  gpu: 'auto' | 'cuda' | 'cpu';
  language: string;
  prompt?: string;
  threads?: string;
  beamSize?: string;
  json?: boolean;
  audioCtx?: string;
  service?: boolean;
}

export function transcribeCommand(program: Command): void {
  program
    .command('transcribe')
    .description('transcribe audio files: WAV, MP3, Ogg, FLAC (M4A, WebM, … through ffmpeg)')
    .argument('<files...>')
    .option('--model <path|name>', 'model file or pulled model name (default: the config, PRISM_MODEL, base.en)')
    .option('--gpu <mode>', 'auto | cuda | cpu (default: the config, auto)')
    .option('--language <code>', "spoken language, or 'auto' (default: the config, en)")
    .option('--prompt <text>', 'initial prompt (names, vocabulary)')
    .option('--threads <n>', 'CPU threads')
    .option('--beam-size <n>', 'beam search width (default: greedy)')
    .option('--audio-ctx <n|auto>', 'encoder window (auto: fit to each clip)')
    .option('--json', 'one JSON object per file')
    .option('--no-service', 'load the model in this process even if a service is running')
    .action(async (files: string[], opts: Options, cmd: Command) => {
      let model: Via;
      try {
        const c = configFor(cmd, { model: opts.model, gpu: opts.gpu, transcription: { language: opts.language, prompt: opts.prompt } });
        Object.assign(opts, { model: c.model, gpu: c.gpu, language: c.transcription.language, prompt: c.transcription.prompt });
        // --model on the command line asks for that model; from the config it is only a default
        model = await engineFor(opts, cmd.getOptionValueSource('model') === 'cli' ? opts.model : undefined);
      } catch (e) {
        process.stderr.write(`prism-dictate: ${(e as Error).message}\n`);
        process.exitCode = exitCodeFor(e);
        return;
      }
      const bar = files.length > 1 && process.stderr.isTTY && !opts.json ? new cliProgress.SingleBar({ stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
      const { answering } = model;
      if (!opts.json)
        process.stderr.write(
          `prism-dictate: ${answering.model} (${model.via === 'service' ? `the running service, pid ${answering.pid}` : 'loaded here'}, ${answering.backend})\n`,
        );
      bar?.start(files.length, 0);
      const stopOnSignal = exitOnSignal();
      let failed = 0;
      for (const file of files) {
        try {
          const pcm = await readAudio(file);
          const t = await model.transcribe(pcm, {
            language: opts.language,
            prompt: opts.prompt,
            greedy: opts.beamSize === undefined,
            beamSize: opts.beamSize ? Number(opts.beamSize) : undefined,
            audioCtx: opts.audioCtx === 'auto' ? 'auto' : opts.audioCtx ? Number(opts.audioCtx) : undefined,
            // one file: someone waits on it; a batch of files yields to dictations
            priority: files.length > 1 ? 'batch' : 'interactive',
          });
          if (opts.json) process.stdout.write(`${JSON.stringify({ file, via: model.via, model: answering.model, ...t })}\n`);
          else process.stdout.write(files.length > 1 ? `${file}: ${t.text}\n` : `${t.text}\n`);
        } catch (e) {
          failed++;
          if (opts.json) process.stdout.write(`${JSON.stringify({ file, error: { code: (e as WhisperError).code ?? 'FAILED', message: (e as Error).message } })}\n`);
          else process.stderr.write(`prism-dictate: ${file}: ${(e as Error).message}\n`);
          process.exitCode = files.length === 1 ? exitCodeFor(e) : EXIT.failure;
        }
        bar?.increment();
      }
      bar?.stop();
      await model.close?.();
      stopOnSignal();
      if (failed > 0 && files.length > 1) process.stderr.write(`${failed} of ${files.length} files failed\n`);
    });
}
