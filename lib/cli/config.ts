/** `--config FILE` for every command, and `prism-dictate config`: the effective configuration. */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, lstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { type ConfigInput, defaultConfigPath, loadConfig } from '../config/load.js';
import { configKeys, configKeysMarkdown } from '../config/reference.js';
import type { Config } from '../config/schema.js';
import { STARTER_CONFIG } from '../config/starter.js';
import { WhisperError } from '../errors.js';
import { report } from './exit.js';

/** The effective config for a command: its file (--config or the default), PRISM_MODEL, then its flags. */
export function configFor(cmd: Command, overrides: ConfigInput = {}): Config {
  const file = (cmd.optsWithGlobals() as { config?: string }).config;
  return loadConfig({ file, overrides }).config;
}

/** Whether anything is at `file` (a dangling symbolic link counts). */
function occupied(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes `text` to `file` as a new 0600 file (a config may hold tokens): written under a fresh name in
 * the same folder (O_EXCL, no symlink followed), then renamed over `file`, which replaces whatever was
 * there — a symbolic link included, never the file it points to — and keeps no old mode.
 */
function writePrivate(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function configCommand(program: Command): void {
  program.option('--config <file>', `config file (default: ${defaultConfigPath()})`);
  const config = program
    .command('config')
    .description('print the effective configuration (defaults, the config file, PRISM_MODEL) as JSON')
    .option('--path', 'print only where the config file is read from')
    .action((o: { path?: boolean }, cmd: Command) => {
      try {
        const file = (cmd.optsWithGlobals() as { config?: string }).config;
        const effective = loadConfig({ file });
        if (o.path) {
          process.stdout.write(`${file ?? defaultConfigPath()}${effective.file ? '' : ' (not there: defaults apply)'}\n`);
          return;
        }
        process.stdout.write(`${JSON.stringify(effective.config, null, 2)}\n`);
        process.stderr.write(`prism-dictate: ${effective.file ? `read ${effective.file}` : `no config file at ${file ?? defaultConfigPath()}: defaults`}\n`);
      } catch (e) {
        report(e);
      }
    });

  config
    .command('keys')
    .description("every setting: its key, the values it takes, its default and what it does (--markdown: the README's table)")
    .option('--markdown', 'as the Markdown table in the README')
    .action((o: { markdown?: boolean }) => {
      if (o.markdown) {
        process.stdout.write(`${configKeysMarkdown()}\n`);
        return;
      }
      const plain = (s: string): string => s.replaceAll('`', '').replaceAll('\\|', '|');
      for (const k of configKeys()) process.stdout.write(`${k.key} = ${k.default === '—' ? '(none)' : k.default}   [${plain(k.values)}]\n    ${k.description}\n`);
    });

  config
    .command('init')
    .description('write a starting config file with comments (at the default place, or --config FILE)')
    .option('--force', 'replace a file that is there')
    .action((o: { force?: boolean }, cmd: Command) => {
      try {
        const file = (cmd.optsWithGlobals() as { config?: string }).config ?? defaultConfigPath();
        if (occupied(file) && !o.force) throw new WhisperError('BAD_ARGUMENT', `${file} is there already; edit it, or --force to replace it`);
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        writePrivate(file, STARTER_CONFIG);
        loadConfig({ file }); // it must load as written
        process.stdout.write(`${file}\n`);
      } catch (e) {
        report(e);
      }
    });
}
