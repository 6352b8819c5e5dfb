/**
 * `prism-dictate hotkey setup [--write]`: on Wayland the daemon cannot grab a key, so the desktop binds one
 * to the daemon. Prints the binding for the desktop found (press → press, release → release, or
 * toggle where the desktop has no releases) and, with --write, adds it to the desktop's configuration.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { type KeyCombo, parseCombo } from '../config/keys.js';
import { WhisperError } from '../errors.js';
import { BINDING_DESKTOPS, type BindingDesktop, bindingPlan, currentConflicts, detectDesktop, findBinding, writeBinding } from '../host/desktop/bindings.js';
import { TRIGGER_PIPE } from '../host/triggerPipe.js';
import { servicePaths } from '../service/home.js';
import { configFor } from './config.js';
import { report } from './exit.js';

/** How the desktop should run prism-dictate: the one on PATH by its absolute path (a desktop's PATH may lack ~/.local/bin), else this script. */
export function defaultCommand(env: NodeJS.ProcessEnv = process.env, argv1 = process.argv[1]): string {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const f = join(dir, 'prism-dictate');
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {}
  }
  return argv1 && /prism-dictate(\.js)?$/.test(argv1) ? resolve(argv1) : 'prism-dictate';
}

const PRINT_ONLY: Partial<Record<BindingDesktop, string>> = {
  river: "river's init is a script of your own: add the lines there (prism-dictate does not edit scripts)",
  kde: 'Plasma 6 does not pick up a written shortcut file until the next login: add it in System Settings, which applies it at once',
  wayland: 'this compositor is not one prism-dictate knows: add the binding in its settings',
};

export function hotkeyCommands(program: Command): void {
  const hotkey = program.command('hotkey').description('the key binding that starts and stops dictation (on Wayland the desktop binds it)');
  hotkey
    .command('setup')
    .description('print (and with --write add) the binding for this desktop: sway, Hyprland, river press/release; GNOME, KDE toggle')
    .option('--write', 'add it: sway and Hyprland config (a marked block, replaced on a second run), GNOME custom shortcut')
    .option('--desktop <name>', `the desktop instead of the one found: ${BINDING_DESKTOPS.filter((d) => d !== 'none').join(', ')}`)
    .option('--keys <combo>', 'the key combination (default: hotkey.keys of the config)')
    .option('--command <path>', 'how the desktop runs prism-dictate (default: its absolute path on PATH)')
    .option('--no-pipe', "bind prism-dictate press/release (a Node process per key event, ~140 ms) instead of writing to the daemon's trigger pipe (~1 ms)")
    .option('--json', 'print JSON')
    .action(async (o: { write?: boolean; desktop?: string; keys?: string; command?: string; pipe?: boolean; json?: boolean }, cmd: Command) => {
      try {
        if (o.desktop !== undefined && !(BINDING_DESKTOPS as readonly string[]).includes(o.desktop))
          throw new WhisperError('BAD_ARGUMENT', `--desktop takes ${BINDING_DESKTOPS.join(', ')} (not "${o.desktop}")`);
        const desktop = (o.desktop as BindingDesktop | undefined) ?? detectDesktop();
        const keys = o.keys ?? configFor(cmd).hotkey.keys;
        const combo: KeyCombo | string = parseCombo(keys);
        if (typeof combo === 'string') throw new WhisperError('BAD_ARGUMENT', `--keys "${keys}" ${combo}`);
        const command = o.command ?? defaultCommand();
        const pipe = o.pipe === false || o.command !== undefined ? undefined : join(servicePaths().home, TRIGGER_PIPE);
        const plan = bindingPlan(desktop, combo, command, pipe);
        const printOnly = o.write ? PRINT_ONLY[desktop] : undefined;
        const written = o.write && !printOnly && plan.lines.length > 0 ? await writeBinding(plan, combo, command) : undefined;
        const live = written ? await findBinding(desktop) : undefined;
        const conflicts = written?.conflicts ?? (await currentConflicts(desktop, combo));
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ ...plan, keys, command, conflicts, written: written ?? null, printOnly: printOnly ?? null, live: live ?? null }, null, 2)}\n`);
          return;
        }
        const out: string[] = [`desktop: ${desktop}${o.desktop ? ' (--desktop)' : ''}`];
        if (plan.lines.length > 0) {
          out.push(
            plan.pressRelease
              ? `push-to-talk: hold ${keys} — its press and release ${pipe ? `are written to the daemon's trigger pipe ${pipe}` : `run "${command} press" and "${command} release"`} (hotkey.mode applies: in hybrid a tap latches)`
              : `toggle: ${keys} runs "${command} toggle" (press to start, press again to stop)`,
            `where: ${plan.where}`,
            '',
            ...plan.lines.map((l) => `  ${l}`),
            '',
          );
        }
        for (const n of plan.notes) out.push(`- ${n}`);
        for (const c of conflicts)
          out.push(
            `warning: your config also binds ${keys} (line ${c}): ${desktop === 'sway' ? 'the later line wins in sway' : 'Hyprland may run both'} — remove it or choose other keys (--keys)`,
          );
        if (printOnly) out.push(`not written: ${printOnly}`);
        if (written) out.push(`wrote ${written.wrote}: ${written.detail}`);
        if (live) out.push(`${live.found ? 'live' : 'not live yet'}: ${live.detail}`);
        else if (!o.write && plan.lines.length > 0 && !PRINT_ONLY[desktop]) out.push('add it for you: prism-dictate hotkey setup --write');
        process.stdout.write(`${out.join('\n')}\n`);
        if (live && !live.found && live.checked) process.exitCode = 1;
      } catch (e) {
        report(e);
      }
    });
}
