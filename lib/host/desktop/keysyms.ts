/**
 * X keysyms (the names every X11 and Wayland key path speaks: XTest, the RemoteDesktop portal) for the
 * key names a hotkey or paste combination may use (lib/config/keys.ts), and for the
 * modifier keys. Values from X11/keysymdef.h.
 */
import type { Modifier } from '../../config/keys.js';

const NAMED: Record<string, number> = {
  space: 0x0020,
  enter: 0xff0d,
  tab: 0xff09,
  escape: 0xff1b,
  backspace: 0xff08,
  insert: 0xff63,
  delete: 0xffff,
  home: 0xff50,
  end: 0xff57,
  pageup: 0xff55,
  pagedown: 0xff56,
  left: 0xff51,
  up: 0xff52,
  right: 0xff53,
  down: 0xff54,
  capslock: 0xffe5,
  printscreen: 0xff61,
  scrolllock: 0xff14,
};

export const NUM_LOCK = 0xff7f;

/** The keysyms that stand for each modifier (left first: that one is pressed when we send keys). */
export const MODIFIER_KEYSYMS: Record<Modifier, number[]> = {
  ctrl: [0xffe3, 0xffe4], // Control_L, Control_R
  shift: [0xffe1, 0xffe2], // Shift_L, Shift_R
  alt: [0xffe9, 0xffea, 0xffe7, 0xffe8], // Alt_L, Alt_R, Meta_L, Meta_R
  meta: [0xffeb, 0xffec], // Super_L, Super_R
};

/** The keysym of a main key name ("v", "7", "f9", "space"), or undefined for an unknown name. */
export function keysymOf(key: string): number | undefined {
  if (/^[a-z0-9]$/.test(key)) return key.charCodeAt(0); // Latin-1 keysyms equal the code points
  const f = /^f([1-9]|1[0-9]|2[0-4])$/.exec(key);
  if (f) return 0xffbe + Number(f[1]) - 1; // F1 = 0xffbe … F24
  return NAMED[key];
}
