/**
 * Delivering the text: clipboard + paste keystroke (then the previous clipboard put back, unless the
 * user copied something meanwhile), typed keystrokes, the clipboard only, or standard output.
 *
 * Nothing is lost: where no keystroke can be sent (no key sender, or the one there fails), the text is
 * copied instead, together with what the same dictation copied before (`before`), and the delivery says
 * `copied`. A copied text stays on the clipboard (it is there to be pasted): only a paste whose keystroke
 * was sent puts the previous clipboard back.
 *
 * The paste chord: `output.pasteKeys` where the user set it; else, where the desktop tells the focused
 * window's WM_CLASS (X11), it is looked up at each paste: a terminal gets `output.terminalPasteKeys`
 * (Ctrl+Shift+V), xterm and urxvt Shift+Insert (they have no Ctrl+Shift+V; their Shift+Insert pastes
 * PRIMARY, so the text is served as PRIMARY too, given up again with the clipboard restore), the rest
 * Ctrl+V. A Shift+Insert chord always serves PRIMARY too, where the clipboard can.
 */

import { type Clock, systemClock } from '../clock.js';
import { comboLabel, type KeyCombo, parseCombo } from '../config/keys.js';
import type { Config } from '../config/schema.js';
import { WhisperError } from '../errors.js';
import type { KeySender } from './keys.js';

export interface Clipboard {
  /** the tool or connection it goes through, for the start message and doctor */
  readonly name?: string;
  read(): Promise<string>;
  write(text: string): Promise<void>;
  /** X11: serves `text` as the PRIMARY selection too (what xterm's Shift+Insert pastes) */
  writePrimary?(text: string): Promise<void>;
  /** X11: gives PRIMARY up again, unless someone selected something since */
  releasePrimary?(): Promise<void>;
}

/** A window's WM_CLASS: `instance` (often the program: "xterm", "gnome-terminal-server") and `klass` ("XTerm"). */
export interface WindowClass {
  instance: string;
  klass: string;
}

/**
 * Terminals by WM_CLASS (instance or class, any case). 'clipboard': Ctrl+V is a key for the program
 * running inside, the terminal pastes CLIPBOARD on Ctrl+Shift+V (output.terminalPasteKeys). 'primary':
 * no Ctrl+Shift+V at all; Shift+Insert pastes PRIMARY (xterm, urxvt, rxvt, Eterm).
 */
export const TERMINAL_CLASSES: Readonly<Record<string, 'clipboard' | 'primary'>> = Object.freeze({
  xterm: 'primary',
  uxterm: 'primary',
  urxvt: 'primary',
  'urxvt-unicode': 'primary',
  rxvt: 'primary',
  eterm: 'primary',
  'gnome-terminal': 'clipboard',
  'gnome-terminal-server': 'clipboard',
  'org.gnome.terminal': 'clipboard',
  kgx: 'clipboard',
  'org.gnome.console': 'clipboard',
  ptyxis: 'clipboard',
  'org.gnome.ptyxis': 'clipboard',
  konsole: 'clipboard',
  'org.kde.konsole': 'clipboard',
  yakuake: 'clipboard',
  'xfce4-terminal': 'clipboard',
  tilix: 'clipboard',
  'com.gexperts.tilix': 'clipboard',
  terminator: 'clipboard',
  alacritty: 'clipboard',
  kitty: 'clipboard',
  wezterm: 'clipboard',
  'org.wezfurlong.wezterm': 'clipboard',
  st: 'clipboard',
  'st-256color': 'clipboard',
  foot: 'clipboard',
  footclient: 'clipboard',
  qterminal: 'clipboard',
  lxterminal: 'clipboard',
  'mate-terminal': 'clipboard',
  terminology: 'clipboard',
  sakura: 'clipboard',
  guake: 'clipboard',
  tilda: 'clipboard',
  roxterm: 'clipboard',
  termite: 'clipboard',
  'cool-retro-term': 'clipboard',
  'deepin-terminal': 'clipboard',
  ghostty: 'clipboard',
  'com.mitchellh.ghostty': 'clipboard',
  hyper: 'clipboard',
  tabby: 'clipboard',
  contour: 'clipboard',
  blackbox: 'clipboard',
  'com.raggesilver.blackbox': 'clipboard',
});

/** Which kind of terminal a window is, by its WM_CLASS; undefined: not a terminal we know. */
export function terminalKind(w: WindowClass | undefined): 'clipboard' | 'primary' | undefined {
  if (!w) return undefined;
  const of = (name: string) => (Object.hasOwn(TERMINAL_CLASSES, name.toLowerCase()) ? TERMINAL_CLASSES[name.toLowerCase()] : undefined);
  return of(w.instance) ?? of(w.klass);
}

const SHIFT_INSERT: KeyCombo = { modifiers: ['shift'], key: 'insert' };

const isShiftInsert = (c: KeyCombo) => c.key === 'insert' && c.modifiers.length === 1 && c.modifiers[0] === 'shift';

/** The chord for a paste into `w`: the one the user set, else by its class (terminal, xterm, the rest). */
export function pasteChordFor(w: WindowClass | undefined, o: { set: boolean; pasteKeys: KeyCombo; terminalPasteKeys: KeyCombo }): KeyCombo {
  if (o.set) return o.pasteKeys;
  const kind = terminalKind(w);
  return kind === 'primary' ? SHIFT_INSERT : kind === 'clipboard' ? o.terminalPasteKeys : o.pasteKeys;
}

/** The tool clipboardy uses on this desktop (it picks wl-clipboard in a Wayland session, xsel on X11). */
export function clipboardTool(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'pbcopy/pbpaste';
  if (platform === 'win32') return 'the Windows clipboard';
  if (env.WAYLAND_DISPLAY || env.XDG_SESSION_TYPE === 'wayland') return 'wl-copy/wl-paste (Wayland clipboard)';
  return 'xsel (X11 CLIPBOARD)';
}

export async function systemClipboard(): Promise<Clipboard> {
  const { default: clipboardy } = await import('clipboardy');
  return { name: clipboardTool(), read: () => clipboardy.read(), write: (t) => clipboardy.write(t) };
}

/** The paste chord when output.pasteKeys is not set: Cmd+V on macOS, Ctrl+V elsewhere. */
export function defaultPasteKeys(): string {
  return process.platform === 'darwin' ? 'meta+v' : 'ctrl+v';
}

export interface Delivery {
  /** how the text went out: 'clipboard' when it was copied for the user to paste (asked for, or the fallback) */
  method: Config['output']['method'];
  /** ms from the call to the keystroke sent (or the text written) */
  ms: number;
  /** the text is on the clipboard for the user to paste (no keystroke delivered it) */
  copied?: boolean;
  /** a paste: the chord sent, as people write it (Ctrl+Shift+V), and the focused window's class where it chose it */
  keys?: string;
  windowClass?: string;
  /** why it was copied although keystrokes were asked for */
  fellBack?: string;
}

export interface DeliverOptions {
  /** 'last': into the window the previous paste or typing went to (a re-paste from the dashboard) */
  into?: 'focused' | 'last';
  /** what the same dictation copied before: a copy holds it and the new text, so no phrase is lost */
  before?: string;
}

export class Output {
  /** the window the last paste or typing went to, where the desktop says (X11) */
  private lastWindow: number | undefined;
  private noting: Promise<void> | undefined;
  /** what the clipboard held before our first paste, while a restore is pending */
  private saved: { text: string | undefined; timer: unknown; ours: string } | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  /** restores done and skipped (the user had copied something), for tests and status */
  readonly restores = { done: 0, skipped: 0 };
  /** a paste served the text as PRIMARY: given up with the restore */
  private primaryHeld = false;
  private readonly terminalPasteKeys: KeyCombo;
  /** the chord of the last paste where the focused window's class chose one other than pasteKeys (for the history's window) */
  lastChosen: string | undefined;

  constructor(
    private readonly o: Omit<Config['output'], 'terminalPasteKeys'> & { terminalPasteKeys?: string },
    private readonly pasteKeys: KeyCombo,
    private readonly clipboard: Clipboard | undefined,
    private readonly keys: KeySender | undefined,
    private readonly stdout: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
    private readonly clock: Clock = systemClock,
    /** the focused window's WM_CLASS, where the desktop tells (X11): the chord follows it unless output.pasteKeys is set */
    private readonly windowClass?: () => Promise<WindowClass | undefined>,
  ) {
    const t = parseCombo(o.terminalPasteKeys ?? 'ctrl+shift+v');
    this.terminalPasteKeys = typeof t === 'string' ? { modifiers: ['ctrl', 'shift'], key: 'v' } : t;
  }

  /** Whether the chord follows the focused window (X11, output.pasteKeys not set). */
  get choosesByWindow(): boolean {
    return this.o.pasteKeys === undefined && this.windowClass !== undefined;
  }

  /** The chords as people write them, for the start message: "Ctrl+V", or the ones chosen by window class. */
  get pasteChords(): string {
    if (!this.choosesByWindow) return this.pasteLabel;
    return `${this.pasteLabel}, ${comboLabel(this.terminalPasteKeys)} in terminals, ${comboLabel(SHIFT_INSERT)} in xterm/urxvt: by the focused window's class`;
  }

  /** The chord for this paste, and the class that chose it (undefined when fixed or not known). */
  private async chord(): Promise<{ combo: KeyCombo; klass?: string }> {
    if (!this.choosesByWindow || !this.windowClass) return { combo: this.pasteKeys };
    const w = await this.windowClass().catch(() => undefined);
    const combo = pasteChordFor(w, { set: false, pasteKeys: this.pasteKeys, terminalPasteKeys: this.terminalPasteKeys });
    return { combo, ...(w ? { klass: w.klass || w.instance } : {}) };
  }

  /** the paste chord as people write it (Ctrl+V), for "copied: press Ctrl+V" */
  get pasteLabel(): string {
    return comboLabel(this.pasteKeys);
  }

  private prepared: Promise<string | undefined> | undefined;

  /**
   * Reads the user's clipboard ahead of a paste (called while the text is still being transcribed),
   * so the paste itself only writes and presses.
   */
  prepare(): void {
    if (this.o.method !== 'paste' || !this.o.restoreClipboard || !this.clipboard || this.saved || this.prepared) return;
    this.prepared = this.clipboard.read().catch(() => undefined);
  }

  /** Deliveries run one after another, in the order they were asked for. */
  deliver(text: string, o: DeliverOptions = {}): Promise<Delivery> {
    const next = this.chain.then(async () => {
      if (o.into === 'last') await this.refocus();
      return this.deliverNow(text, o.before ?? '');
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Gives the window of the last paste the focus back (a no-op for outputs that use no window). */
  private async refocus(): Promise<void> {
    if (this.o.method !== 'paste' && this.o.method !== 'type') return;
    if (!this.keys?.focusWindow) return; // no way to tell windows apart here: the focused one it is
    await this.noting;
    if (this.lastWindow === undefined) throw new WhisperError('PASTE_FAILED', 'no dictation has been pasted into a window yet');
    if (!(await this.keys.focusWindow(this.lastWindow).catch(() => false))) {
      throw new WhisperError('PASTE_FAILED', 'the window the last dictation went to is gone (or the desktop would not focus it); copy the text from the list instead');
    }
  }

  /** Notes where the keystrokes just went, after they were sent (it never delays them; a re-paste waits for it). */
  private noteWindow(): void {
    this.noting = this.keys
      ?.focusedWindow?.()
      .then((w) => {
        this.lastWindow = w;
      })
      .catch(() => undefined);
  }

  /**
   * Puts `before` + `text` on the clipboard, to stay there (a pending restore is dropped: it would take
   * the text away). `why`: the keystrokes that could not be sent; without a clipboard that is the error.
   */
  private async copy(text: string, before: string, t0: number, why?: Error): Promise<Delivery> {
    if (!this.clipboard) {
      const message = why ? `${why.message}, and there is no clipboard to copy the text to` : 'no clipboard here';
      throw new WhisperError('PASTE_FAILED', message, why ? { cause: why } : undefined);
    }
    if (this.saved) this.clock.clearTimeout(this.saved.timer);
    this.saved = undefined;
    this.prepared = undefined;
    const whole = before ? before + text : text.trimStart();
    try {
      await this.clipboard.write(whole);
    } catch (e) {
      const message = `could not copy the text (${this.clipboard.name ?? 'clipboard'}): ${(e as Error).message}${why ? `; and ${why.message}` : ''}`;
      throw new WhisperError('PASTE_FAILED', message, { cause: e });
    }
    return { method: 'clipboard', ms: this.clock.now() - t0, copied: true, ...(why ? { fellBack: why.message } : {}) };
  }

  private async deliverNow(text: string, before: string): Promise<Delivery> {
    const t0 = this.clock.now();
    const method = this.o.method;
    if (method === 'stdout') {
      this.stdout(text);
      return { method, ms: this.clock.now() - t0 };
    }
    if (method === 'type') {
      if (!this.keys) return this.copy(text, before, t0, new WhisperError('PASTE_FAILED', 'no way to send keystrokes here'));
      try {
        await this.keys.type(text);
      } catch (e) {
        return this.copy(text, before, t0, e as Error);
      }
      this.noteWindow();
      return { method, ms: this.clock.now() - t0 };
    }
    const clipboard = this.clipboard;
    if (!clipboard) throw new WhisperError('PASTE_FAILED', 'no clipboard here');
    if (method === 'clipboard') return this.copy(text, before, t0);
    if (!this.keys) return this.copy(text, before, t0, new WhisperError('PASTE_FAILED', 'no way to send the paste keystroke here'));
    // the focused window's class, asked while the clipboard is read and written (same X connection, pipelined)
    const chosen = this.chord();
    // paste: keep what the user had (unless an earlier paste's restore is still pending: that one saved it)
    let previous: string | undefined;
    if (this.saved) {
      this.clock.clearTimeout(this.saved.timer);
      previous = this.saved.text;
    } else if (this.o.restoreClipboard) {
      previous = await (this.prepared ?? clipboard.read().catch(() => undefined));
    }
    this.prepared = undefined;
    await clipboard.write(text);
    const { combo, klass } = await chosen;
    try {
      if (isShiftInsert(combo) && clipboard.writePrimary) {
        await clipboard.writePrimary(text);
        this.primaryHeld = true;
      }
      await this.keys.press(combo);
    } catch (e) {
      return this.copy(text, before, t0, e as Error); // the previous clipboard is not put back: the text stays there
    }
    const ms = this.clock.now() - t0;
    const keys = comboLabel(combo);
    this.lastChosen = combo === this.pasteKeys ? undefined : keys;
    this.noteWindow();
    if (this.o.restoreClipboard) {
      // The restore runs in the same chain as deliveries, so the two never interleave.
      const timer = this.clock.setTimeout(
        () => {
          this.chain = this.chain.then(() => this.restore()).catch(() => undefined);
        },
        this.o.restoreDelayMs,
        { unref: true },
      );
      this.saved = { text: previous, timer, ours: text };
    }
    return { method, ms, keys, ...(klass ? { windowClass: klass } : {}) };
  }

  private async restore(): Promise<void> {
    const saved = this.saved;
    this.saved = undefined;
    if (!saved || !this.clipboard) return;
    if (this.primaryHeld) {
      this.primaryHeld = false;
      await this.clipboard.releasePrimary?.().catch(() => undefined);
    }
    const now = await this.clipboard.read().catch(() => undefined);
    if (now !== saved.ours || saved.text === undefined) {
      this.restores.skipped++; // the user copied something after our paste: theirs wins
      return;
    }
    await this.clipboard.write(saved.text).catch(() => undefined);
    this.restores.done++;
  }

  /** Resolves once every delivery, and every restore whose delay has passed, is done. */
  async settled(): Promise<void> {
    await this.chain;
  }

  /** Puts a pending restore through now (at shutdown). */
  async flush(): Promise<void> {
    await this.chain;
    if (this.saved) {
      this.clock.clearTimeout(this.saved.timer);
      await this.restore();
    }
  }
}
