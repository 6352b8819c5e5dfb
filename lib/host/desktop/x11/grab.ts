/**
 * The push-to-talk hotkey through a passive key grab (XGrabKey on the root window) over the daemon's
 * own X connection: the focused application never sees the combination, and no other program can take
 * it while we hold it (nor we while another does: BadAccess → HOTKEY_UNAVAILABLE).
 *
 * One onDown per physical press, one onUp when the key or any of the combination's modifiers is
 * released (between press and release of the key the keyboard is actively grabbed by us, so modifier
 * releases reach us as well). Auto-repeat: XKB's detectable auto-repeat (a per-client flag) turns the
 * repeats into presses only; without it, a release followed by a press with the same server time is a
 * repeat, and a release is only taken as real once a round trip showed no such press behind it.
 */
import { comboLabel, type KeyCombo } from '../../../config/keys.js';
import { WhisperError } from '../../../errors.js';
import { keysymOf } from '../keysyms.js';
import { BAD_ACCESS, type XDisplay, XRequestError } from './display.js';
import type { XEvent, XkbExt } from './types.js';

export interface HotkeyOptions {
  /** The combination as the user wrote it, for messages (default: built from the combo, e.g. "Meta+Alt+V"). */
  label?: string;
  /** Ask the server for detectable auto-repeat (default true); false exercises the fallback. */
  detectableAutoRepeat?: boolean;
}

const GRAB_MODE_ASYNC = 1;
const XKB_PER_CLIENT_FLAGS = 21;
const XKB_DETECTABLE_AUTO_REPEAT = 1;
const XKB_USE_CORE_KBD = 0x100;

export class X11Hotkey {
  private state: 'idle' | 'down' | 'ended' = 'idle';
  /** a release waiting for its round trip (only without detectable auto-repeat) */
  private pendingRelease: { time: number } | undefined;
  private off: (() => void) | undefined;

  private constructor(
    private readonly d: XDisplay,
    readonly label: string,
    private readonly keycode: number,
    private readonly mods: number,
    private readonly variants: number[],
    /** the modifier bits that count: everything but the lock bits */
    private readonly relevant: number,
    /** keycodes whose release ends the hold: those of the combination's modifiers */
    private readonly modifierKeycodes: Set<number>,
    /** whether the server gives detectable auto-repeat (repeats come as presses only) */
    readonly detectableAutoRepeat: boolean,
    private readonly onDown: () => void,
    private readonly onUp: () => void,
  ) {}

  /** Grabs `combo` on the root window of `d`; rejects with HOTKEY_UNAVAILABLE when it cannot. */
  static async start(d: XDisplay, combo: KeyCombo, onDown: () => void, onUp: () => void, opts: HotkeyOptions = {}): Promise<X11Hotkey> {
    const label = opts.label ?? comboLabel(combo);
    const sym = keysymOf(combo.key);
    const keycode = sym === undefined ? undefined : d.keycodeOf(sym);
    if (keycode === undefined) {
      throw new WhisperError('HOTKEY_UNAVAILABLE', `${label}: the keyboard layout on ${d.name} has no "${combo.key}" key; choose another hotkey.keys`);
    }
    const mods = combo.modifiers.reduce((m, x) => m | d.modifierMask(x), 0);
    const locks = d.lockMasks().filter((l) => (l & mods) === 0);
    // every combination of the lock bits, so CapsLock or NumLock being on does not break the hotkey
    const variants: number[] = [];
    for (let i = 0; i < 1 << locks.length; i++) variants.push(locks.reduce((m, l, j) => (i & (1 << j) ? m | l : m), mods));
    const relevant = 0xff & ~locks.reduce((m, l) => m | l, 0);
    const modCodes = d.modifierKeycodes().flatMap((codes, bit) => (mods & (1 << bit) ? codes : []));

    const dar = opts.detectableAutoRepeat === false ? false : await enableDetectableAutoRepeat(d);
    const hotkey = new X11Hotkey(d, label, keycode, mods, variants, relevant, new Set(modCodes), dar, onDown, onUp);
    hotkey.off = d.onEvent((ev) => hotkey.handle(ev));
    const results = await Promise.allSettled(variants.map((v) => d.req<void>('GrabKey', (cb) => d.X.GrabKey(d.root, 1, v, keycode, GRAB_MODE_ASYNC, GRAB_MODE_ASYNC, cb))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await hotkey.stop();
      const e = failed.reason as Error;
      if (e instanceof XRequestError && e.xError === BAD_ACCESS) {
        throw new WhisperError(
          'HOTKEY_UNAVAILABLE',
          `${label} is already taken by another program on ${d.name} (it grabbed the key): free it there or choose another hotkey.keys`,
          { cause: e },
        );
      }
      throw new WhisperError('HOTKEY_UNAVAILABLE', `cannot grab ${label} on ${d.name}: ${e.message}`, { cause: e });
    }
    return hotkey;
  }

  /** Whether the key is held now (between onDown and onUp). */
  get held(): boolean {
    return this.state === 'down';
  }

  private handle(ev: XEvent): void {
    if (ev.name === 'KeyPress' && ev.keycode === this.keycode) {
      const pending = this.pendingRelease;
      if (pending) {
        this.pendingRelease = undefined;
        if (ev.time === pending.time) return; // release + press at one instant: auto-repeat
        this.released(); // a real release, then a new press before the round trip came back
      }
      if (this.state !== 'idle') return; // auto-repeat (detectable: presses only)
      if (((ev.buttons ?? 0) & this.relevant) !== this.mods) return;
      this.state = 'down';
      this.onDown();
    } else if (ev.name === 'KeyRelease' && ev.keycode === this.keycode) {
      if (this.state === 'idle') return;
      if (this.detectableAutoRepeat) {
        this.released();
        return;
      }
      const pending = { time: ev.time ?? 0 };
      this.pendingRelease = pending;
      // a repeat's press was queued for us together with its release: after one round trip it has arrived
      this.d.sync().then(
        () => {
          if (this.pendingRelease !== pending) return;
          this.pendingRelease = undefined;
          this.released();
        },
        () => undefined,
      );
    } else if (ev.name === 'KeyRelease' && this.state === 'down' && ev.keycode !== undefined && this.modifierKeycodes.has(ev.keycode)) {
      this.state = 'ended'; // the key is still down: its own release (or repeats) must not start a new hold
      this.onUp();
    }
  }

  private released(): void {
    const was = this.state;
    this.state = 'idle';
    if (was === 'down') this.onUp();
  }

  /** Ungrabs the combination (all lock variants); safe to call twice and after the display closed. */
  async stop(): Promise<void> {
    this.off?.();
    this.off = undefined;
    this.state = 'idle';
    this.pendingRelease = undefined;
    if (this.d.closed) return;
    const { X, root } = this.d;
    await Promise.allSettled(this.variants.map((v) => this.d.req<void>('UngrabKey', (cb) => X.UngrabKey(root, this.keycode, v, cb))));
  }
}

/** XkbPerClientFlags(DetectableAutoRepeat) on this connection; false when the server has no XKB or refuses. */
async function enableDetectableAutoRepeat(d: XDisplay): Promise<boolean> {
  try {
    const xkb = await new Promise<XkbExt>((resolve, reject) => d.X.require('xkb', (e, ext) => (e ? reject(e) : resolve(ext))));
    await d.req('XkbUseExtension', (cb) => xkb.UseExtension(1, 0, cb));
    const b = Buffer.alloc(28); // xkbPerClientFlagsReq
    b.writeUInt8(xkb.majorOpcode, 0);
    b.writeUInt8(XKB_PER_CLIENT_FLAGS, 1);
    b.writeUInt16LE(b.length / 4, 2);
    b.writeUInt16LE(XKB_USE_CORE_KBD, 4);
    b.writeUInt32LE(XKB_DETECTABLE_AUTO_REPEAT, 8); // change
    b.writeUInt32LE(XKB_DETECTABLE_AUTO_REPEAT, 12); // value; ctrlsToChange, autoCtrls, autoCtrlValues: 0
    const value = await d.rawRequest('XkbPerClientFlags', b, (body) => body.readUInt32LE(4)); // reply: supported, value, …
    return (value & XKB_DETECTABLE_AUTO_REPEAT) !== 0;
  } catch {
    return false;
  }
}
