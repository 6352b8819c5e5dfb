/**
 * Simulated keystrokes: the paste shortcut and typed text. On X11 through XTest (xdotool), which
 * every X client accepts (uiohook's synthetic events are dropped by many, e.g. a stock xterm); on
 * macOS and Windows through uiohook's native key taps.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import type { KeyCombo } from '../config/keys.js';
import { WhisperError } from '../errors.js';
import { keycodeOf, modifierCodes } from './hotkey.js';
import { uiohook } from './uiohook.js';

const run = promisify(execFile);

export interface KeySender {
  readonly name: string;
  press(combo: KeyCombo): Promise<void>;
  type(text: string): Promise<void>;
  /** the window with the keyboard focus now (X11), so that a re-paste can go back to it */
  focusedWindow?(): Promise<number | undefined>;
  /** gives `window` the keyboard focus again; false when it cannot (closed, or the desktop refused) */
  focusWindow?(window: number): Promise<boolean>;
}

/** XKB keysym names of our named keys (lib/config/keys.ts): what xdotool, wtype, sway, Hyprland, river, GNOME and the portal read. */
const KEYSYMS: Record<string, string> = {
  enter: 'Return',
  escape: 'Escape',
  tab: 'Tab',
  space: 'space',
  backspace: 'BackSpace',
  insert: 'Insert',
  delete: 'Delete',
  home: 'Home',
  end: 'End',
  pageup: 'Prior',
  pagedown: 'Next',
  up: 'Up',
  down: 'Down',
  left: 'Left',
  right: 'Right',
  capslock: 'Caps_Lock',
  printscreen: 'Print',
  scrolllock: 'Scroll_Lock',
};

/** The XKB keysym name of a main key: "v", "7", "F9", "Return". */
export function keysymName(key: string): string {
  return KEYSYMS[key] ?? (/^f\d+$/.test(key) ? key.toUpperCase() : key);
}

export function xdotoolCombo(c: KeyCombo): string {
  return [...c.modifiers.map((m) => (m === 'meta' ? 'super' : m)), keysymName(c.key)].join('+');
}

export function hasXdotool(): boolean {
  return spawnSync('xdotool', ['version'], { stdio: 'ignore' }).status === 0;
}

class XdotoolSender implements KeySender {
  readonly name = 'xdotool (XTest)';
  async press(combo: KeyCombo): Promise<void> {
    try {
      await run('xdotool', ['key', '--clearmodifiers', xdotoolCombo(combo)]);
    } catch (e) {
      throw new WhisperError('PASTE_FAILED', `xdotool could not press ${xdotoolCombo(combo)}: ${(e as Error).message}`);
    }
  }
  async type(text: string): Promise<void> {
    try {
      await run('xdotool', ['type', '--clearmodifiers', '--delay', '2', '--', text]);
    } catch (e) {
      throw new WhisperError('PASTE_FAILED', `xdotool could not type the text: ${(e as Error).message}`);
    }
  }
}

class UiohookSender implements KeySender {
  readonly name = 'uiohook key taps';
  async press(combo: KeyCombo): Promise<void> {
    const hook = uiohook();
    const keys = hook.UiohookKey;
    hook.uIOhook.keyTap(
      keycodeOf(keys, combo.key),
      combo.modifiers.map((m) => modifierCodes(keys, m)[0] as number),
    );
  }
  async type(): Promise<void> {
    throw new WhisperError('PASTE_FAILED', 'typing text needs xdotool here; use output.method "paste"');
  }
}

/** The best way to send keys on this desktop, or a message saying why there is none. */
export function keySender(): KeySender {
  if (process.platform === 'linux') {
    if (process.env.DISPLAY && hasXdotool()) return new XdotoolSender();
    if (process.env.DISPLAY) return new UiohookSender(); // synthetic events: many X clients drop them
    throw new WhisperError('PASTE_FAILED', 'no X display to paste into (on Wayland use output.method "clipboard" or "stdout")');
  }
  return new UiohookSender();
}
