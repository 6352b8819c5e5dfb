/** `--config FILE` for every command, and `prism-dictate config`: the effective configuration. */
import type { Command } from 'commander';
import { type ConfigInput, defaultConfigPath, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { report } from './exit.js';

/** The effective config for a command: its file (--config or the default), PRISM_MODEL, then its flags. */
export function configFor(cmd: Command, overrides: ConfigInput = {}): Config {
  const file = (cmd.optsWithGlobals() as { config?: string }).config;
  return loadConfig({ file, overrides }).config;
}

export function configCommand(program: Command): void {
  program.option('--config <file>', `config file (default: ${defaultConfigPath()})`);
  program
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
}
