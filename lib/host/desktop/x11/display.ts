/**
 * One in-process connection to the X server (npm `x11`, pure JavaScript: no child processes), held by
 * the daemon for the hotkey grab, the clipboard and XTest. It adds what those need on top of the raw
 * client: promise requests whose X errors reject that call (instead of an 'error' event that would
 * crash the process), an atom cache, real server timestamps (ICCCM wants one for SetSelectionOwner),
 * the keyboard and modifier mappings, and event subscriptions.
 */
import { createRequire } from 'node:module';
import type { Modifier } from '../../../config/keys.js';
import { WhisperError } from '../../../errors.js';
import { MODIFIER_KEYSYMS, NUM_LOCK } from '../keysyms.js';
import type { X11Module, XCallback, XClient, XDisplayInfo, XEvent, XProtocolError } from './types.js';

/** An X error that answered one of our requests (`xError`: the X error code, 10 = BadAccess). */
export class XRequestError extends Error {
  override readonly name = 'XRequestError';
  constructor(
    readonly request: string,
    readonly xError: number,
    message: string,
  ) {
    super(`${request}: ${message}`);
  }
}

export const BAD_ACCESS = 10;
/** Core modifier bits: Shift, Lock, Control, Mod1…Mod5 */
export const MOD_BITS = ['Shift', 'Lock', 'Control', 'Mod1', 'Mod2', 'Mod3', 'Mod4', 'Mod5'] as const;
const DEFAULT_MASK: Record<Modifier, number> = { shift: 1, ctrl: 4, alt: 8, meta: 64 };

export type EventListener = (ev: XEvent) => void;

export class XDisplay {
  /** The raw client and display of the package (for code that draws its own windows). */
  readonly X: XClient;
  readonly display: XDisplayInfo;
  readonly root: number;
  /** A small unmapped window of ours: PropertyNotify source for server timestamps. */
  readonly window: number;
  /** X errors no request callback took (requests sent without a callback, e.g. XTest FakeInput). */
  readonly strayErrors: XProtocolError[] = [];
  private readonly atoms = new Map<string, number>();
  private readonly listeners = new Set<EventListener>();
  private readonly pending = new Set<(e: Error) => void>();
  private closedWith: Error | undefined;
  private keymap: { first: number; rows: number[][] } = { first: 0, rows: [] };
  private modmap: number[][] = [];

  private constructor(
    readonly name: string,
    X: XClient,
    display: XDisplayInfo,
  ) {
    this.X = X;
    this.display = display;
    const screen = display.screen[0];
    if (!screen) throw new Error(`the X display ${name} has no screen`);
    this.root = screen.root;
    this.window = X.AllocID();
    X.on('event', (ev: XEvent) => {
      if (ev.name === 'MappingNotify' && ev.request !== 2) void this.loadKeyboard().catch(() => undefined);
      for (const l of [...this.listeners]) {
        try {
          l(ev);
        } catch (e) {
          // one listener's bug must not starve the others (or the package's parser): report it
          process.emitWarning(`an X event listener threw: ${(e as Error)?.stack ?? e}`);
        }
      }
    });
  }

  /** Connects to `name` (default $DISPLAY) and reads the keyboard mapping. */
  static async open(name = process.env.DISPLAY): Promise<XDisplay> {
    if (!name) throw new WhisperError('HOTKEY_UNAVAILABLE', 'no X display to connect to (DISPLAY is not set)');
    const x11 = createRequire(import.meta.url)('x11') as X11Module;
    let client: XClient | undefined;
    const display = await new Promise<XDisplayInfo>((resolve, reject) => {
      client = x11.createClient({ display: name }, (err, d) => (err ? reject(err) : resolve(d)));
      // the package emits handshake and socket errors on the client: without a listener they would be thrown
      client.on('error', (e: Error) => reject(e));
    }).catch((e: Error) => {
      client?.terminate?.();
      throw new WhisperError('HOTKEY_UNAVAILABLE', `cannot connect to the X display ${name}: ${e.message}`, { cause: e });
    });
    const d = new XDisplay(name, display.client, display);
    try {
      await d.init();
      return d;
    } catch (e) {
      await d.close();
      throw e;
    }
  }

  private async init(): Promise<void> {
    const X = this.X;
    X.on('error', (e: XProtocolError | Error) => {
      if (typeof (e as XProtocolError).error === 'number') {
        this.strayErrors.push(e as XProtocolError);
        if (this.strayErrors.length > 20) this.strayErrors.shift();
      } else this.fail(e);
    });
    X.on('end', () => this.fail(new Error(`the X display ${this.name} closed the connection`)));
    // InputOnly, never mapped: PropertyChange is all it listens to
    await this.req<void>('CreateWindow', (cb) => X.CreateWindow(this.window, this.root, -10, -10, 1, 1, 0, 0, 2, 0, { eventMask: 0x400000 }, cb));
    await this.loadKeyboard();
  }

  /** Rejects everything pending and every later call: the connection is gone. */
  private fail(e: Error): void {
    if (this.closedWith) return;
    this.closedWith = e;
    for (const reject of [...this.pending]) reject(e);
    this.pending.clear();
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /**
   * Sends one request through `send` (which passes our callback to the package) and settles with its
   * reply; an X error rejects with XRequestError and is marked handled, so it is not emitted as 'error'.
   */
  req<T>(what: string, send: (cb: XCallback<T>) => void): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      try {
        send((err, reply) => {
          this.pending.delete(reject);
          if (err) reject(new XRequestError(what, err.error, err.message || `X error ${err.error}`));
          else resolve(reply);
          return true;
        });
      } catch (e) {
        this.pending.delete(reject);
        reject(e);
      }
    });
  }

  /**
   * A request the package has no helper for, with a reply (`unpack` reads the reply body after its
   * 8-byte header; `opt` is the header's second byte). Sent the way the package's extensions send theirs.
   */
  rawRequest<T>(what: string, packet: Buffer, unpack: (body: Buffer, opt: number) => T): Promise<T> {
    return this.req<T>(what, (cb) => {
      const X = this.X;
      X.seq_num++;
      X.pack_stream.put(packet);
      X.replies[X.seq_num] = [unpack, cb as XCallback<unknown>];
      X.pack_stream.submit(true);
    });
  }

  /** A round trip: resolves once the server has processed every request sent before. */
  sync(): Promise<void> {
    return this.req<unknown>('GetInputFocus', (cb) => this.X.GetInputFocus(cb)).then(() => undefined);
  }

  async atom(name: string): Promise<number> {
    const known = this.atoms.get(name);
    if (known !== undefined) return known;
    const a = await this.req<number>(`InternAtom ${name}`, (cb) => this.X.InternAtom(false, name, cb));
    this.atoms.set(name, a);
    return a;
  }

  /** Calls `listener` for every event from the server; returns the unsubscribe function. */
  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The first event matching `match` (subscribe before sending the request that causes it). */
  waitEvent(match: (ev: XEvent) => boolean, timeoutMs: number, what: string): Promise<XEvent> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<XEvent>((resolve, reject) => {
      const done = (f: () => void) => {
        clearTimeout(timer);
        off();
        this.pending.delete(fail);
        f();
      };
      const fail = (e: Error) => done(() => reject(e));
      const timer = setTimeout(() => fail(new Error(`no ${what} from the X server within ${timeoutMs} ms`)), timeoutMs);
      const off = this.onEvent((ev) => {
        if (match(ev)) done(() => resolve(ev));
      });
      this.pending.add(fail);
    });
  }

  /**
   * A real server time (not CurrentTime): a zero-length append to a property of our window makes the
   * server send a PropertyNotify stamped with its clock, as ICCCM §2.1 recommends.
   */
  async serverTime(): Promise<number> {
    const atom = await this.atom('_PRISM_TIMESTAMP');
    const notified = this.waitEvent((ev) => ev.name === 'PropertyNotify' && ev.wid === this.window && ev.atom === atom, 2000, 'PropertyNotify');
    const changed = this.req<void>('ChangeProperty', (cb) => this.X.ChangeProperty(2, this.window, atom, 19 /* INTEGER */, 8, Buffer.alloc(0), cb));
    const [ev] = await Promise.all([notified, changed]);
    return ev.time ?? 0;
  }

  /** Reads the keycode → keysym table and the modifier map again (after a MappingNotify, at start). */
  async loadKeyboard(): Promise<void> {
    const first = this.display.min_keycode;
    const count = this.display.max_keycode - first + 1;
    const [rows, modmap] = await Promise.all([
      this.req<number[][]>('GetKeyboardMapping', (cb) => this.X.GetKeyboardMapping(first, count, cb)),
      this.req<number[][]>('GetModifierMapping', (cb) => this.X.GetModifierMapping(cb)),
    ]);
    this.keymap = { first, rows };
    this.modmap = modmap;
  }

  /** The keysyms of a keycode (index 0: unshifted, 1: with Shift, …). */
  keysymsOf(keycode: number): number[] {
    return this.keymap.rows[keycode - this.keymap.first] ?? [];
  }

  /** The keycode that produces `keysym`, preferring one where it is the unshifted symbol. */
  keycodeOf(keysym: number): number | undefined {
    let shifted: number | undefined;
    for (const [i, row] of this.keymap.rows.entries()) {
      if (row[0] === keysym) return this.keymap.first + i;
      if (shifted === undefined && row.includes(keysym)) shifted = this.keymap.first + i;
    }
    return shifted;
  }

  /** Keycodes bound to each modifier bit (index 0 Shift, 1 Lock, 2 Control, 3 Mod1, …). */
  modifierKeycodes(): number[][] {
    return this.modmap.map((row) => row.filter((k) => k !== 0));
  }

  /** The modifier bit a keysym is bound to, 0 when none. */
  private maskOfKeysym(keysym: number): number {
    for (const [bit, row] of this.modmap.entries()) {
      if (row.some((k) => k !== 0 && this.keysymsOf(k).includes(keysym))) return 1 << bit;
    }
    return 0;
  }

  /** The modifier bit of ctrl/shift/alt/meta on this keyboard (alt: usually Mod1, meta = Super: usually Mod4). */
  modifierMask(m: Modifier): number {
    for (const sym of MODIFIER_KEYSYMS[m]) {
      const mask = this.maskOfKeysym(sym);
      if (mask) return mask;
    }
    return DEFAULT_MASK[m];
  }

  /** The bits that only toggle a lock and must not change what a hotkey means: Lock and NumLock (usually Mod2). */
  lockMasks(): number[] {
    const num = this.maskOfKeysym(NUM_LOCK);
    return num && num !== 2 ? [2, num] : [2];
  }

  /** Frees our window and closes the connection; resolves once the socket is closed. */
  async close(): Promise<void> {
    if (this.closedWith) return;
    const X = this.X;
    try {
      X.DestroyWindow(this.window, () => true);
    } catch {}
    this.fail(new Error(`the X display ${this.name} is closed`));
    this.listeners.clear();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        try {
          X.terminate();
        } catch {}
        resolve();
      }, 1000);
      try {
        X.close(() => {
          clearTimeout(timer);
          resolve();
        });
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}

/** Connects to the X display `name` (default $DISPLAY): the one connection the daemon holds. */
export function openDisplay(name = process.env.DISPLAY): Promise<XDisplay> {
  return XDisplay.open(name);
}
