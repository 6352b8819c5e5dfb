/**
 * Keystrokes through the XTest extension on the daemon's own X connection: the events the server
 * makes from them are real key events (every client accepts them, unlike SendEvent's), and nothing is
 * spawned. Modifiers the person still holds (the hotkey's, when the paste follows a release of only its
 * main key) are released first and pressed again after, as `xdotool --clearmodifiers` does, so that
 * Ctrl+V does not arrive as Ctrl+Alt+Super+V.
 */
import { comboLabel, type KeyCombo } from '../../../config/keys.js';
import { WhisperError } from '../../../errors.js';
import type { KeySender } from '../../keys.js';
import { keysymOf, MODIFIER_KEYSYMS } from '../keysyms.js';
import type { XDisplay } from './display.js';
import type { XTestExt } from './types.js';

const SHIFT_L = 0xffe1;
const KEYSYM_RETURN = 0xff0d;
const KEYSYM_TAB = 0xff09;
/** how long an application gets to read a key we produced with a borrowed keycode before it is remapped */
const REMAP_SETTLE_MS = 15;

/** The keysym that types one character (Latin-1 directly, the rest as Unicode keysyms). */
export function keysymOfChar(ch: string): number {
  if (ch === '\n') return KEYSYM_RETURN;
  if (ch === '\t') return KEYSYM_TAB;
  const cp = ch.codePointAt(0) ?? 0x3f;
  return cp >= 0x20 && cp <= 0xff && !(cp >= 0x7f && cp < 0xa0) ? cp : 0x01000000 + cp;
}

export class X11Keys implements KeySender {
  readonly name = 'X connection (XTest)';

  private constructor(
    private readonly d: XDisplay,
    private readonly xtest: XTestExt,
  ) {}

  /** Rejects when the server has no XTest (then the xdotool fallback cannot work either). */
  static async create(d: XDisplay): Promise<X11Keys> {
    const xtest = await new Promise<XTestExt>((resolve, reject) => d.X.require('xtest', (e, ext) => (e || !ext ? reject(e ?? new Error('no XTest')) : resolve(ext)))).catch(
      (e: Error) => {
        throw new WhisperError('PASTE_FAILED', `the X server on ${d.name} has no XTest extension: ${e.message}`);
      },
    );
    return new X11Keys(d, xtest);
  }

  async focusedWindow(): Promise<number | undefined> {
    const { focus } = await this.d.req<{ focus: number; revertTo: number }>('GetInputFocus', (cb) => this.d.X.GetInputFocus(cb));
    return focus > 1 ? focus : undefined; // 0: None, 1: PointerRoot
  }

  async focusWindow(window: number): Promise<boolean> {
    // a window manager activates (raises and focuses) on _NET_ACTIVE_WINDOW from a pager (source 2);
    // without one SetInputFocus does it. A window that is gone raises an X error nobody waits for:
    // the focus, read back after a round trip, tells.
    const event = Buffer.alloc(32);
    event[0] = 33; // ClientMessage
    event[1] = 32; // format
    event.writeUInt32LE(window >>> 0, 4);
    event.writeUInt32LE(await this.d.atom('_NET_ACTIVE_WINDOW'), 8);
    event.writeUInt32LE(2, 12);
    this.d.X.SendEvent(this.d.root, 0, 0x180000, event); // SubstructureRedirect | SubstructureNotify
    this.d.X.SetInputFocus(window, 2);
    await this.d.sync();
    return (await this.focusedWindow()) === window;
  }

  async press(combo: KeyCombo): Promise<void> {
    const sym = keysymOf(combo.key);
    const key = sym === undefined ? undefined : this.d.keycodeOf(sym);
    if (key === undefined) throw new WhisperError('PASTE_FAILED', `the keyboard layout has no key for ${comboLabel(combo)}`);
    const mods = combo.modifiers.map((m) => this.modifierKeycode(m));
    await this.withModifiersCleared(() => this.chord(mods, key));
  }

  async type(text: string): Promise<void> {
    await this.withModifiersCleared(async () => {
      const shift = this.d.keycodeOf(SHIFT_L);
      let borrowed: { keycode: number; original: number[] } | undefined;
      try {
        for (const ch of text) {
          const sym = keysymOfChar(ch);
          const code = this.d.keycodeOf(sym);
          const row = code === undefined ? [] : this.d.keysymsOf(code);
          if (code !== undefined && row[0] === sym) {
            this.chord([], code);
            continue;
          }
          if (code !== undefined && row[1] === sym && shift !== undefined) {
            this.chord([shift], code);
            continue;
          }
          // not on the keyboard: lend a spare keycode that symbol, type it, let the application read it
          borrowed ??= this.spareKeycode();
          await this.remap(borrowed.keycode, [sym, sym]);
          this.chord([], borrowed.keycode);
          await this.d.sync();
          await new Promise((r) => setTimeout(r, REMAP_SETTLE_MS));
        }
      } finally {
        if (borrowed) await this.remap(borrowed.keycode, borrowed.original).catch(() => undefined);
      }
    });
  }

  /** The keycode we press for a modifier: its left key as this keyboard maps it. */
  private modifierKeycode(m: KeyCombo['modifiers'][number]): number {
    for (const sym of MODIFIER_KEYSYMS[m]) {
      const code = this.d.keycodeOf(sym);
      if (code !== undefined) return code;
    }
    throw new WhisperError('PASTE_FAILED', `the keyboard layout has no ${m} key`);
  }

  /** Presses the modifiers, taps the key, releases the modifiers (no reply: errors show at the next sync). */
  private chord(mods: number[], key: number): void {
    const { FakeInput, KeyPress, KeyRelease } = this.xtest;
    for (const m of mods) FakeInput(KeyPress, m, 0, 0, 0, 0);
    FakeInput(KeyPress, key, 0, 0, 0, 0);
    FakeInput(KeyRelease, key, 0, 0, 0, 0);
    for (const m of [...mods].reverse()) FakeInput(KeyRelease, m, 0, 0, 0, 0);
  }

  /** Runs `send` with every held modifier key released, then presses them again; waits until the server processed all. */
  private async withModifiersCleared(send: () => void | Promise<void>): Promise<void> {
    const d = this.d;
    const { FakeInput, KeyPress, KeyRelease } = this.xtest;
    const keymap = await d.req<Buffer>('QueryKeymap', (cb) => d.X.QueryKeymap(cb));
    const down = (k: number) => ((keymap[k >> 3] ?? 0) & (1 << (k & 7))) !== 0;
    // Lock (CapsLock) is a toggle, not held: leave it
    const held = d.modifierKeycodes().flatMap((codes, bit) => (bit === 1 ? [] : codes.filter(down)));
    const errorsBefore = d.strayErrors.length;
    for (const k of held) FakeInput(KeyRelease, k, 0, 0, 0, 0);
    try {
      await send();
    } finally {
      for (const k of held) FakeInput(KeyPress, k, 0, 0, 0, 0);
      await d.sync();
    }
    const error = d.strayErrors.slice(errorsBefore).at(-1);
    if (error) throw new WhisperError('PASTE_FAILED', `the X server refused a synthetic key (X error ${error.error})`);
  }

  /** A keycode with no symbols (the keyboard's unused end), or the highest one. */
  private spareKeycode(): { keycode: number; original: number[] } {
    const { min_keycode, max_keycode } = this.d.display;
    for (let k = max_keycode; k >= min_keycode; k--) {
      const syms = this.d.keysymsOf(k);
      if (syms.every((s) => s === 0)) return { keycode: k, original: syms };
    }
    return { keycode: max_keycode, original: this.d.keysymsOf(max_keycode) };
  }

  private async remap(keycode: number, syms: number[]): Promise<void> {
    const d = this.d;
    const per = Math.max(1, d.keysymsOf(keycode).length || syms.length);
    const row = Array.from({ length: per }, (_, i) => syms[i] ?? syms[0] ?? 0);
    await d.req<void>('ChangeKeyboardMapping', (cb) => d.X.ChangeKeyboardMapping(keycode, per, row, cb));
    await d.loadKeyboard();
  }
}
