/**
 * The global hotkey: uiohook key events filtered down to one combination's presses and releases
 * (exact modifiers; a release of the key or of any of its modifiers is the release).
 */
import type { KeyCombo, Modifier } from '../config/keys.js';
import { WhisperError } from '../errors.js';
import { type Uiohook, uiohook } from './uiohook.js';

type KeyTable = Uiohook['UiohookKey'];
type KeyEvent = { keycode: number; altKey: boolean; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean };

const NAMED: Record<string, keyof KeyTable> = {
  space: 'Space',
  enter: 'Enter',
  tab: 'Tab',
  escape: 'Escape',
  backspace: 'Backspace',
  insert: 'Insert',
  delete: 'Delete',
  home: 'Home',
  end: 'End',
  pageup: 'PageUp',
  pagedown: 'PageDown',
  up: 'ArrowUp',
  down: 'ArrowDown',
  left: 'ArrowLeft',
  right: 'ArrowRight',
  capslock: 'CapsLock',
  printscreen: 'PrintScreen',
  scrolllock: 'ScrollLock',
};

export function keycodeOf(keys: KeyTable, key: string): number {
  const name = NAMED[key] ?? (key.toUpperCase() as keyof KeyTable);
  const code = keys[name];
  if (typeof code !== 'number') throw new WhisperError('HOTKEY_UNAVAILABLE', `no keycode for "${key}"`);
  return code;
}

export function modifierCodes(keys: KeyTable, m: Modifier): number[] {
  if (m === 'ctrl') return [keys.Ctrl, keys.CtrlRight];
  if (m === 'alt') return [keys.Alt, keys.AltRight];
  if (m === 'shift') return [keys.Shift, keys.ShiftRight];
  return [keys.Meta, keys.MetaRight];
}

export class Hotkey {
  private comboDown = false;

  private constructor(
    private readonly hook: Uiohook,
    private readonly key: number,
    private readonly combo: KeyCombo,
    private readonly releaseCodes: Set<number>,
    private readonly onDown: () => void,
    private readonly onUp: () => void,
  ) {}

  /** Starts listening; HOTKEY_UNAVAILABLE says why when global hooks cannot work here. */
  static start(combo: KeyCombo, onDown: () => void, onUp: () => void): Hotkey {
    const hook = uiohook();
    const keys = hook.UiohookKey;
    const key = keycodeOf(keys, combo.key);
    const release = new Set([key, ...combo.modifiers.flatMap((m) => modifierCodes(keys, m))]);
    const h = new Hotkey(hook, key, combo, release, onDown, onUp);
    hook.uIOhook.on('keydown', h.down);
    hook.uIOhook.on('keyup', h.up);
    hook.uIOhook.start();
    return h;
  }

  private matches(e: KeyEvent): boolean {
    const want = new Set(this.combo.modifiers);
    return e.ctrlKey === want.has('ctrl') && e.altKey === want.has('alt') && e.shiftKey === want.has('shift') && e.metaKey === want.has('meta');
  }

  private readonly down = (e: KeyEvent): void => {
    if (e.keycode !== this.key || !this.matches(e)) return;
    this.comboDown = true;
    this.onDown(); // repeats too: the trigger machine ignores them
  };

  private readonly up = (e: KeyEvent): void => {
    if (!this.comboDown || !this.releaseCodes.has(e.keycode)) return;
    this.comboDown = false;
    this.onUp();
  };

  stop(): void {
    this.hook.uIOhook.off('keydown', this.down);
    this.hook.uIOhook.off('keyup', this.up);
    this.hook.uIOhook.stop();
  }
}
