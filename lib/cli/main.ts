/** prism-dictate: the command line. Each command lives in its own file; this one only wires them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { packageRoot } from '../native.js';
import { benchCommand } from './bench.js';
import { configCommand } from './config.js';
import { dashboardCommand } from './dashboard.js';
import { dictateCommands } from './dictate.js';
import { doctorCommands } from './doctor.js';
import { hotkeyCommands } from './hotkey.js';
import { modelsCommand } from './models.js';
import { serveCommand } from './serve.js';
import { serviceCommands } from './service.js';
import { systemCommand } from './system.js';
import { transcribeCommand } from './transcribe.js';

const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string };

export async function main(argv: string[]): Promise<void> {
  const program = new Command('prism-dictate').description('local, GPU-fast push-to-talk dictation on whisper.cpp').version(pkg.version);
  program.showHelpAfterError();
  program.addHelpText(
    'after',
    `
Examples:
  prism-dictate start                     dictate: hold Meta+Alt+V, speak, release (first start offers base.en)
  prism-dictate start --model small.en --keys Ctrl+Alt+Space --detach
  prism-dictate doctor                    what works on this desktop, and what to fix
  prism-dictate transcribe talk.mp3 --json
  prism-dictate serve --port 8178         an OpenAI-compatible /v1/audio/transcriptions
  prism-dictate models pull large-v3-turbo
  prism-dictate config init               a commented config file to start from

Exit codes: 0 ok, 1 failure, 2 usage or config, 3 model not found, 4 bad input, 5 download,
6 GPU unavailable, 7 no service running, 8 no microphone, hotkey or paste path.`,
  );
  program.exitOverride((e) => {
    process.exitCode = e.exitCode === 0 ? 0 : 2;
    throw e;
  });
  configCommand(program);
  modelsCommand(program);
  serviceCommands(program);
  serveCommand(program);
  dictateCommands(program);
  dashboardCommand(program);
  doctorCommands(program);
  hotkeyCommands(program);
  transcribeCommand(program);
  systemCommand(program);
  benchCommand(program);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('commander.')) return;
    throw e;
  }
}
