/**
 * Keystrokes through the kernel (uinput) with ydotool 1.x, for GNOME and KDE, whose compositors offer
 * no virtual-keyboard protocol to ordinary clients. The 1.x client hands evdev events to the `ydotoold`
 * daemon, which owns the virtual device: `ydotool key 29:1 47:1 47:0 29:0` is Ctrl+V.
 *
 * Refused: ydotool 0.1.x (Debian 12's 0.1.8), which takes key names, misreads keycodes and still
 * exits 0 — a paste that "worked" and delivered nothing. Keycodes are positions on the keyboard:
 * `ydotool type` assumes a US layout and ASCII, so text outside ASCII is refused (the dictation is
 * copied instead) rather than typed wrong.
 */
import { accessSync, constants, statSync } from 'node:fs';
import type { KeyCombo } from '../../../config/keys.js';
import { WhisperError } from '../../../errors.js';
import type { KeySender } from '../../keys.js';
import { evdevCode, MODIFIER_CODES } from './evdevCodes.js';
import { runProblem, runTool, type ToolRun } from './wtype.js';

/** `ydotool key` arguments for a chord: modifiers down, key down and up, modifiers up in reverse order. */
export function ydotoolChordArgs(c: KeyCombo): string[] {
  const key = evdevCode(c.key);
  if (key === undefined) throw new WhisperError('PASTE_FAILED', `ydotool has no keycode for "${c.key}"`);
  const mods = c.modifiers.map((m) => MODIFIER_CODES[m][0]); // the left one
  return ['key', ...mods.map((m) => `${m}:1`), `${key}:1`, `${key}:0`, ...[...mods].reverse().map((m) => `${m}:0`)];
}

export interface YdotoolProblem {
  reason: string;
  fix: string;
}

/** What ydotoolProblem looks at; injectable for tests (no /dev/uinput here). */
export interface YdotoolProbe {
  /** `ydotool --help` (stdout and stderr), or undefined when there is no ydotool */
  help(): Promise<{ code: number | null; output: string } | undefined>;
  /** whether a path is a socket, and this user may write to it */
  socket(path: string): 'missing' | 'ok' | 'denied';
  /** whether this user may write to /dev/uinput (what `ydotoold` needs when run as the user) */
  uinputWritable(): boolean;
}

export const UDEV_RULE = 'KERNEL=="uinput", GROUP="input", MODE="0660"';
const UINPUT_FIX = `let your user write /dev/uinput: echo '${UDEV_RULE}' | sudo tee /etc/udev/rules.d/80-uinput.rules && sudo udevadm control --reload && sudo udevadm trigger && sudo usermod -aG input $USER (then log out and in)`;
const DAEMON_FIX = 'run ydotoold as a user service: systemctl --user enable --now ydotool (the unit ydotool 1.x ships; some distributions call it ydotoold)';
const INSTALL_FIX =
  'install ydotool 1.x (Debian 13, Ubuntu 24.04, Fedora and Arch package it; Debian 12 has only 0.1.8: build 1.x from github.com/ReimuNotMoe/ydotool), then run ydotoold as a user service';

/** The sockets the 1.x client tries, in its order (YDOTOOL_SOCKET, the runtime dir, then /tmp as older 1.0 clients did). */
export function ydotoolSockets(env: NodeJS.ProcessEnv): string[] {
  if (env.YDOTOOL_SOCKET) return [env.YDOTOOL_SOCKET];
  return [...(env.XDG_RUNTIME_DIR ? [`${env.XDG_RUNTIME_DIR}/.ydotool_socket`] : []), '/tmp/.ydotool_socket'];
}

/** Whether the help text is the 0.1.x one (it lists "recorder"; 1.x does not, and says YDOTOOL_SOCKET). */
export function isOldYdotool(help: string): boolean {
  return /\brecorder\b|Unknown tool/.test(help) && !/YDOTOOL_SOCKET/.test(help);
}

export function systemYdotoolProbe(env: NodeJS.ProcessEnv = process.env): YdotoolProbe {
  return {
    async help() {
      let r: ToolRun;
      try {
        r = await runTool('ydotool', ['--help'], { timeoutMs: 2000, maxStdout: 64 * 1024, env });
      } catch {
        return undefined;
      }
      return { code: r.code, output: `${r.stdout.toString('utf8')}\n${r.stderr}` };
    },
    socket(path) {
      try {
        if (!statSync(path).isSocket()) return 'missing';
        accessSync(path, constants.W_OK);
        return 'ok';
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'denied';
      }
    },
    uinputWritable() {
      try {
        accessSync('/dev/uinput', constants.W_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Why ydotool cannot send keys here, with the fix; undefined when it can (1.x, its daemon's socket there and writable). */
export async function ydotoolProblem(env: NodeJS.ProcessEnv = process.env, probe: YdotoolProbe = systemYdotoolProbe(env)): Promise<YdotoolProblem | undefined> {
  const help = await probe.help();
  if (!help) return { reason: 'ydotool is not installed', fix: INSTALL_FIX };
  if (isOldYdotool(help.output)) {
    return { reason: 'this ydotool is 0.1.x (Debian 12 ships 0.1.8), which misreads keycodes yet reports success: refused', fix: INSTALL_FIX };
  }
  const sockets = ydotoolSockets(env);
  const states = sockets.map((s) => probe.socket(s));
  if (states.includes('ok')) return undefined;
  const denied = sockets[states.indexOf('denied')];
  if (denied) {
    return {
      reason: `ydotoold's socket ${denied} is not writable by this user`,
      fix: `${DAEMON_FIX}; or start ydotoold with --socket-own $(id -u):$(id -g) --socket-perm 0660`,
    };
  }
  const where = sockets.join(' or ');
  if (!probe.uinputWritable())
    return { reason: `ydotoold is not running (no socket at ${where}) and this user cannot write /dev/uinput`, fix: `${UINPUT_FIX}; then ${DAEMON_FIX}` };
  return { reason: `ydotoold is not running (no socket at ${where})`, fix: DAEMON_FIX };
}

/** The socket ydotool will use, for the env of its runs (the first that is there, else the client's default). */
export function ydotoolSocket(env: NodeJS.ProcessEnv, probe: Pick<YdotoolProbe, 'socket'> = systemYdotoolProbe(env)): string {
  const sockets = ydotoolSockets(env);
  return sockets.find((s) => probe.socket(s) === 'ok') ?? (sockets[0] as string);
}

export interface YdotoolOptions {
  env?: NodeJS.ProcessEnv;
  /** the daemon's socket (passed as YDOTOOL_SOCKET, so every 1.x client finds the same one) */
  socket?: string;
  command?: string;
  /** a press's bound, and the base of a typing's (default 3000 ms) */
  timeoutMs?: number;
  /** per character on top, for typing (default 40 ms: ydotool waits 12 ms between keys, each key is down and up) */
  perCharMs?: number;
}

/** Texts longer than this are not typed (at ~25 ms a character, 4 000 is over a minute); they are copied. */
export const YDOTOOL_MAX_CHARS = 4000;

export class YdotoolKeys implements KeySender {
  readonly name = 'ydotool (uinput)';

  constructor(private readonly o: YdotoolOptions = {}) {}

  async press(combo: KeyCombo): Promise<void> {
    await this.run(ydotoolChordArgs(combo), this.o.timeoutMs ?? 3000, 'press the keys');
  }

  async type(text: string): Promise<void> {
    if (!text) return;
    if (/[^\t\n\x20-\x7e]/.test(text)) {
      throw new WhisperError('PASTE_FAILED', 'ydotool types ASCII only (keycodes of a US layout), and this text has other characters');
    }
    if (text.length > YDOTOOL_MAX_CHARS)
      throw new WhisperError('PASTE_FAILED', `the text is too long to type with ydotool (${text.length} characters, at most ${YDOTOOL_MAX_CHARS})`);
    // `--`: a text starting with '-' is text, not an option
    await this.run(['type', '--', text], (this.o.timeoutMs ?? 3000) + text.length * (this.o.perCharMs ?? 40), 'type the text');
  }

  private async run(args: string[], timeoutMs: number, what: string): Promise<void> {
    const env = { ...(this.o.env ?? process.env), ...(this.o.socket ? { YDOTOOL_SOCKET: this.o.socket } : {}) };
    let r: ToolRun;
    try {
      r = await runTool(this.o.command ?? 'ydotool', args, { timeoutMs, env, maxStdout: 4096 });
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      throw new WhisperError('PASTE_FAILED', missing ? 'ydotool is not installed' : `ydotool could not be started: ${(e as Error).message}`, { cause: e });
    }
    if (r.code !== 0 || r.timedOut) {
      // the 1.x client says why on stdout ("failed to connect socket …: Please check if ydotoold is running.")
      const said = r.stdout.toString('utf8').trim().split('\n').slice(-2).join(' ');
      const reason = r.timedOut ? `ydotool did not finish in ${timeoutMs} ms (killed)` : said || runProblem('ydotool', r);
      throw new WhisperError('PASTE_FAILED', `ydotool could not ${what}: ${reason}`);
    }
  }
}
