/**
 * The daemon's desktop on Linux X11: one in-process X connection (npm `x11`) that grabs the hotkey,
 * owns the CLIPBOARD, sends the paste chord through XTest and draws the indicator — no processes
 * spawned per dictation. Where that connection cannot be had (no DISPLAY, PRISM_NO_X11=1, a server
 * without XTest), start.ts keeps the process-based path: uiohook, xsel (clipboardy), xdotool.
 *
 * X keeps no copy of a selection: what the daemon owns would vanish with it. At close (and, as a last
 * resort, at process exit) the text we serve is handed to an `xsel` that keeps serving it.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import type { KeyCombo } from '../../../config/keys.js';
import { X11Clipboard } from './clipboard.js';
import { XDisplay } from './display.js';
import { X11Hotkey } from './grab.js';
import { Indicator, type IndicatorState } from './indicator.js';
import { X11Keys } from './xtest.js';

/** Why the in-process X11 path is not used here, or undefined when it should be tried. */
export function x11Unavailable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (env.PRISM_NO_X11 === '1') return 'PRISM_NO_X11=1';
  if (!env.DISPLAY) return 'no X display (DISPLAY is not set)';
  return undefined;
}

export class X11Session {
  private exitHook: (() => void) | undefined;

  private constructor(
    readonly display: XDisplay,
    readonly keys: X11Keys | undefined,
    /** why there are no XTest keys (then the xdotool path sends them) */
    readonly keysProblem: string | undefined,
    readonly clipboard: X11Clipboard,
  ) {}

  /** Connects to $DISPLAY; rejects (HOTKEY_UNAVAILABLE) when there is no X server to talk to. `log`: what the clipboard gave up on. */
  static async open(name = process.env.DISPLAY, log?: (line: string) => void): Promise<X11Session> {
    const display = await XDisplay.open(name);
    try {
      const clipboard = await X11Clipboard.create(display, { log });
      const keys = await X11Keys.create(display).catch((e: Error) => e);
      const s = new X11Session(display, keys instanceof Error ? undefined : keys, keys instanceof Error ? keys.message : undefined, clipboard);
      s.exitHook = () => s.handOffSync();
      process.once('exit', s.exitHook);
      return s;
    } catch (e) {
      await display.close();
      throw e;
    }
  }

  /** Grabs `combo` (rejects with HOTKEY_UNAVAILABLE naming `label` when another program holds it). */
  grab(combo: KeyCombo, label: string, onDown: () => void, onUp: () => void): Promise<X11Hotkey> {
    return X11Hotkey.start(this.display, combo, onDown, onUp, { label });
  }

  /** The recording indicator, following the host's 'indicator' and 'level' events. */
  async indicator(
    position: 'top' | 'bottom',
    log: (line: string) => void,
  ): Promise<{ show(state: IndicatorState, label?: string): void; level(rms: number): void; close(): void }> {
    return Indicator.create({ X: this.display.X, display: this.display.display }, { position, log });
  }

  /** Hands what we serve on the clipboard to xsel (synchronous: also usable at process exit). */
  private handOffSync(): void {
    const text = this.clipboard.ownedText;
    if (text === undefined) return;
    const xsel = xselCommand();
    if (!xsel) return;
    // xsel forks a child that keeps serving the selection and returns; its output must not be a pipe we wait on
    spawnSync(xsel, ['--clipboard', '--input'], { input: text, stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, DISPLAY: this.display.name }, timeout: 3000 });
  }

  async close(): Promise<void> {
    if (this.exitHook) process.removeListener('exit', this.exitHook);
    this.handOffSync();
    await this.clipboard.release();
    await this.display.close();
  }
}

/** xsel from PATH, else the copy clipboardy bundles. */
export function xselCommand(): string | undefined {
  const candidates = (process.env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((d) => join(d, 'xsel'));
  try {
    candidates.push(join(dirname(createRequire(import.meta.url).resolve('clipboardy')), 'fallbacks', 'linux', 'xsel'));
  } catch {}
  return candidates.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
