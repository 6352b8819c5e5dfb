/**
 * Driving the running daemon from anywhere (a desktop shortcut on Wayland, Talon, AutoHotkey, a
 * script): toggle, begin, end, cancel, repaste, retry over its socket; and `history`, read straight
 * from the history folder (no daemon needed).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { HOST_ACTIONS } from '../host/actions.js';
import { History } from '../host/history.js';
import { servicePaths } from '../service/home.js';
import { configFor } from './config.js';
import { report } from './exit.js';
import { localTime } from './localTime.js';
import { runAction } from './quick.js';

const WHAT: Record<(typeof HOST_ACTIONS)[number], string> = {
  toggle: 'start dictating, or stop and transcribe',
  begin: 'start dictating',
  end: 'stop dictating and transcribe',
  press: "the hotkey went down (a compositor binding's press): hotkey.mode applies, so in hybrid a tap latches and a hold is push-to-talk",
  release: 'the hotkey came up (the binding of its release)',
  cancel: 'drop the utterance being recorded (or stop the one being transcribed)',
  repaste: 'paste the last dictated text again',
  retry: 'transcribe the last kept audio again and paste it',
};

export function dictateCommands(program: Command): void {
  for (const action of HOST_ACTIONS) {
    program
      .command(action)
      .description(WHAT[action])
      .option('--json', 'print the reply as JSON')
      .action((o: { json?: boolean }) => runAction(action, o));
  }

  program
    .command('history')
    .description('recent dictations: time, length, state and text (newest first)')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print JSON')
    .action(async (o: { limit: string; json?: boolean }, cmd: Command) => {
      try {
        const c = configFor(cmd);
        const history = new History(join(servicePaths().home, 'history'), c.history);
        const records = await history.list(Number(o.limit));
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify(
              records.map((r) => ({ ...r, audio: r.audio ? join(history.dir, r.audio) : undefined })),
              null,
              2,
            )}\n`,
          );
          return;
        }
        if (records.length === 0) process.stdout.write(`no dictations yet in ${history.dir}\n`);
        for (const r of records) {
          const total = r.timings?.total === undefined ? '' : ` ${r.timings.total.toFixed(0)} ms`;
          process.stdout.write(`${localTime(r.at)}  ${r.seconds.toFixed(1).padStart(5)} s  ${r.state.padEnd(9)}${total}  ${r.text ?? r.error?.message ?? ''}\n`);
        }
      } catch (e) {
        report(e);
      }
    });
}
