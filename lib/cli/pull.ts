/**
 * Pulling a model from the command line: a progress bar on a terminal, and at `start` the offer to
 * pull the configured model when it is missing (asked on a terminal; `--yes` or PRISM_DICTATE_YES=1
 * for scripts; without a terminal, the exact command to run).
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import cliProgress from 'cli-progress';
import { WhisperError } from '../errors.js';
import type { DownloadProgress } from '../models/download.js';
import { modelSource, pullModel } from '../models/pull.js';

/** A download's progress bar on stderr, when it is a terminal; `done()` ends it and says where a resumed download started. */
export function downloadProgress(name: string, quiet?: boolean): { onProgress: (p: DownloadProgress) => void; done: () => void } {
  const bar =
    quiet || !process.stderr.isTTY
      ? undefined
      : new cliProgress.SingleBar({ format: `${name} [{bar}] {percentage}% {value}/{total} MiB {eta_formatted}`, stream: process.stderr }, cliProgress.Presets.shades_classic);
  const mib = (b: number): number => Math.round(b / 1048576);
  let resumedFrom = 0;
  let ended = false;
  return {
    onProgress: (p) => {
      resumedFrom = p.resumedFrom;
      if (!bar) return;
      if (!bar.isActive) bar.start(mib(p.total ?? p.received), mib(p.resumedFrom));
      bar.update(mib(p.received));
    },
    done: () => {
      if (ended) return;
      ended = true;
      bar?.stop();
      if (resumedFrom > 0) process.stderr.write(`resumed from ${mib(resumedFrom)} MiB\n`);
    },
  };
}

export const waitingFor = (name: string) => (): void => {
  const lock = modelSource(name)?.path;
  process.stderr.write(
    `${name} is being pulled by another process; waiting for it to finish… (Ctrl+C stops waiting${lock ? `; a pull that died leaves ${lock}.lock, taken over 10 s after its last refresh` : ''})\n`,
  );
};

/** Pulls `name` into the cache with a progress bar and returns its path. */
export async function pullWithProgress(name: string, o: { quiet?: boolean; force?: boolean; signal?: AbortSignal } = {}): Promise<string> {
  const progress = downloadProgress(name, o.quiet);
  try {
    return await pullModel(name, { force: o.force, signal: o.signal, onWait: waitingFor(name), onProgress: progress.onProgress });
  } finally {
    progress.done();
  }
}

export interface EnsureOptions {
  /** pull without asking (--yes, PRISM_DICTATE_YES=1) */
  yes: boolean;
  /** whether a person can be asked (stdin and stderr are terminals) */
  interactive: boolean;
  /** asks a yes/no question; defaults to a readline prompt on the terminal */
  ask?: (question: string) => Promise<boolean>;
  log: (line: string) => void;
  pull?: (name: string) => Promise<string>;
}

async function askOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [Y/n] `)).trim().toLowerCase();
    return answer === '' || answer === 'y' || answer === 'yes';
  } finally {
    rl.close();
  }
}

/**
 * Makes sure the model `name` (a path or a model name) is there before the service loads it: a
 * missing registry or test model is pulled when the person agrees (or --yes); otherwise
 * MODEL_NOT_FOUND says exactly what to run. A path or an unknown name is left to the loader.
 */
export async function ensureModel(name: string, o: EnsureOptions): Promise<void> {
  if (existsSync(name)) return;
  const source = modelSource(name);
  if (!source || existsSync(source.path)) return;
  const what =
    source.kind === 'registry'
      ? `The model ${source.name} (${source.entry.mib} MiB) is not downloaded yet. Download it now from ${source.url}?`
      : `The test model ${source.name} (random weights: it transcribes nothing real) is not made yet. Make it now?`;
  const agreed = o.yes || (o.interactive && (await (o.ask ?? askOnTerminal)(what)));
  if (!agreed) {
    const how = `prism-dictate models pull ${source.name}`;
    throw new WhisperError(
      'MODEL_NOT_FOUND',
      o.interactive
        ? `no model to start with; run: ${how}, or choose another with --model NAME|FILE (prism-dictate models list)`
        : `model "${source.name}" is not ${source.kind === 'registry' ? 'downloaded' : 'made'} yet; run: ${how} (or start with --yes, or PRISM_DICTATE_YES=1, to ${source.kind === 'registry' ? 'download' : 'make'} it first; --model FILE for one you have)`,
    );
  }
  o.log(source.kind === 'registry' ? `downloading ${source.name} (${source.entry.mib} MiB) into ${source.path}…` : `making ${source.name} in ${source.path}…`);
  await (o.pull ?? pullWithProgress)(source.name);
}

/** --yes or PRISM_DICTATE_YES=1|true|yes. */
export function assumeYes(flag: boolean | undefined): boolean {
  return flag === true || /^(1|true|yes)$/i.test(process.env.PRISM_DICTATE_YES ?? '');
}
