/**
 * Keystrokes on Wayland compositors with the virtual-keyboard protocol (sway, Hyprland, river,
 * Wayfire) through wtype: the paste chord as `wtype -M ctrl -k v -m ctrl`, text as `wtype -- text`
 * (Unicode typed directly: wtype uploads a keymap holding the characters, nothing touches the clipboard).
 *
 * Also the one bounded way the Wayland tools are run (`runTool`): each run is killed past its time,
 * reads at most what it is allowed to, and keeps a bounded piece of stderr for the message.
 */
import { spawn } from 'node:child_process';
import type { KeyCombo, Modifier } from '../../../config/keys.js';
import { WhisperError } from '../../../errors.js';
import { type KeySender, keysymName, xdotoolCombo } from '../../keys.js';

/** what a run keeps of stderr for the message */
const STDERR_MAX = 4096;

export interface ToolOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** written to stdin, then stdin is closed (absent: stdin is /dev/null) */
  input?: string;
  /** stdout is read up to this many bytes; more kills the tool (`overflow`). Absent: stdout is ignored. */
  maxStdout?: number;
  /**
   * The tool forks a server that keeps stderr open (wl-copy): the run ends when the tool itself exits,
   * and our end of its stderr is left to drain, unreferenced, so it neither holds this process open nor
   * breaks the server's stderr.
   */
  forks?: boolean;
}

export interface ToolRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** the first 4 KiB of stderr */
  stderr: string;
  /** killed past `timeoutMs` */
  timedOut: boolean;
  /** killed for writing more than `maxStdout` */
  overflow: boolean;
}

/** Runs a tool, bounded in time and in what is read from it. Rejects only when it cannot be started (ENOENT). */
export function runTool(file: string, args: readonly string[], o: ToolOptions): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: o.env ?? process.env,
      stdio: [o.input === undefined ? 'ignore' : 'pipe', o.maxStdout === undefined ? 'ignore' : 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let timedOut = false;
    let overflow = false;
    let done = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr, timedOut, overflow });
    };
    child.stdout?.on('data', (b: Buffer) => {
      if (overflow) return;
      outBytes += b.length;
      if (outBytes > (o.maxStdout ?? 0)) {
        overflow = true;
        out.length = 0;
        child.kill('SIGKILL');
        return;
      }
      out.push(b);
    });
    child.stderr?.on('data', (b: Buffer) => {
      if (stderr.length < STDERR_MAX) stderr += b.toString('utf8').slice(0, STDERR_MAX - stderr.length);
    });
    child.on('error', (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(e);
    });
    if (o.forks) {
      child.on('exit', (code, signal) => {
        if (code === 0) {
          // its server child keeps our stderr pipe: stop caring about it, without closing it under the server
          child.stderr?.removeAllListeners('data');
          child.stderr?.resume();
          (child.stderr as unknown as { unref?: () => void } | null)?.unref?.(); // a net.Socket underneath
          finish(code, signal);
        } else {
          // it failed before forking: its stderr closes at once (the grace only guards against a stray holder)
          child.stderr?.once('close', () => finish(code, signal));
          setTimeout(() => finish(code, signal), 250).unref();
        }
      });
    } else {
      child.on('close', finish);
    }
    if (o.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // a tool that exits without reading all: its exit status says it
      child.stdin.end(o.input);
    }
  });
}

/** What went wrong in a run, for a message: the tool's own words first. */
export function runProblem(tool: string, r: ToolRun): string {
  if (r.timedOut) return `${tool} did not finish in time (killed)`;
  const said = r.stderr.trim().split('\n').slice(-3).join('; ');
  if (said) return said;
  return r.signal ? `${tool} was killed by ${r.signal}` : `${tool} exited with status ${r.code}`;
}

/**
 * `env` with a UTF-8 character type: wtype decodes its argument with the C library's multibyte
 * functions, and in the C locale (a service started without LANG) refuses any text outside ASCII
 * ("Failed to deencode input argv"). C.UTF-8 is there on every glibc since 2.35 and on musl.
 */
export function withUtf8Locale(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const ctype = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(ctype) ? env : { ...env, LC_ALL: 'C.UTF-8' };
}

const WTYPE_MODIFIERS: Record<Modifier, string> = { ctrl: 'ctrl', alt: 'alt', shift: 'shift', meta: 'logo' };

/** `wtype` arguments pressing a chord: modifiers down, the key tapped, modifiers up in reverse order. */
export function wtypeChordArgs(c: KeyCombo): string[] {
  const mods = c.modifiers.map((m) => WTYPE_MODIFIERS[m]);
  return [...mods.flatMap((m) => ['-M', m]), '-k', keysymName(c.key), ...[...mods].reverse().flatMap((m) => ['-m', m])];
}

/** Longer texts are not typed (wtype takes ~5 ms a character here: 20 000 is well over a minute); they are pasted or copied. */
export const WTYPE_MAX_CHARS = 20_000;

export interface WtypeOptions {
  env?: NodeJS.ProcessEnv;
  /** the command (default "wtype") */
  command?: string;
  /** a press's bound, and the base of a typing's (default 3000 ms) */
  timeoutMs?: number;
  /** what a typing may take per character on top (default 20 ms) */
  perCharMs?: number;
  /** how long wtype keeps its keyboard after a chord (default 25 ms; see CHORD_HOLD_MS) */
  holdMs?: number;
}

/**
 * wtype's virtual keyboard lives only as long as wtype: gone right after the chord, the chord is
 * sometimes lost. Measured on sway 1.7 with foot 1.13, the first Ctrl+Shift+V pastes into a fresh foot:
 * about half lost with no hold, 2 of 12 with 10 ms, none of 12 with 20 ms (and none of 40 later ones).
 * A resident virtual keyboard would need no hold.
 */
export const CHORD_HOLD_MS = 25;

export class WtypeKeys implements KeySender {
  readonly name = 'wtype (virtual-keyboard protocol)';

  constructor(private readonly o: WtypeOptions = {}) {}

  async press(combo: KeyCombo): Promise<void> {
    const hold = this.o.holdMs ?? CHORD_HOLD_MS;
    await this.run([...wtypeChordArgs(combo), ...(hold > 0 ? ['-s', String(hold)] : [])], this.o.timeoutMs ?? 3000, `press ${xdotoolCombo(combo)}`);
  }

  async type(text: string): Promise<void> {
    if (!text) return;
    const chars = [...text].length;
    if (chars > WTYPE_MAX_CHARS) throw new WhisperError('PASTE_FAILED', `the text is too long to type (${chars} characters, at most ${WTYPE_MAX_CHARS})`);
    // `--`: a text starting with '-' is text, not an option
    await this.run(['--', text], (this.o.timeoutMs ?? 3000) + chars * (this.o.perCharMs ?? 20), 'type the text');
  }

  private async run(args: string[], timeoutMs: number, what: string): Promise<void> {
    const command = this.o.command ?? 'wtype';
    let r: ToolRun;
    try {
      r = await runTool(command, args, { timeoutMs, env: withUtf8Locale(this.o.env ?? process.env) });
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      throw new WhisperError('PASTE_FAILED', missing ? 'wtype is not installed (sudo apt install wtype)' : `wtype could not be started: ${(e as Error).message}`, { cause: e });
    }
    if (r.code !== 0 || r.timedOut) {
      const reason = r.timedOut ? `wtype did not finish in ${timeoutMs} ms (killed)` : runProblem('wtype', r);
      throw new WhisperError('PASTE_FAILED', `wtype could not ${what}: ${reason}`);
    }
  }
}
