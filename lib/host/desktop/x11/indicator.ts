/**
 * The recording indicator on X11: a small always-on-top strip (220×28 px, top or bottom centre of the
 * root window) that shows the dictation state — a coloured dot, a short text and, while listening, the
 * input level as a bar. It is an override-redirect window, so no window manager decorates, moves or
 * focuses it, and it never asks for focus itself: the text is pasted into whatever had focus before.
 * It speaks core X11 through the pure-JS `x11` client on a connection the caller owns (`{ X, display }`
 * from `createClient`), draws only while mapped (level updates are coalesced to ~15/s), and every X
 * error from its requests goes to `log`, never into the event loop. Colours are 0xRRGGBB pixels, right
 * for the TrueColor visuals of current X servers; the text is Latin-1 in the core font 'fixed'.
 *
 * With the live preview (live()), the strip widens (480 px, centred) and grows a second row: the last
 * line of what is being said, settled words in the light text colour, the unstable tail dimmed, cut
 * at the left so that the newest words are always visible; the next final state shrinks it back.
 */

import type { VisibleState } from '../contract.js';

export type IndicatorState = VisibleState;

/** Timers, injectable so tests need not sleep. */
export interface IndicatorClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface IndicatorOptions {
  position?: 'top' | 'bottom';
  clock?: IndicatorClock;
  log?: (message: string) => void;
}

type XError = Error & { error?: number; badParam?: number; majorOpcode?: number };
type Done = (err?: XError | null) => boolean;
type XEvent = { type: number; wid?: number; count?: number };
type VoidRequest =
  | 'CreateWindow'
  | 'ChangeProperty'
  | 'OpenFont'
  | 'CreateGC'
  | 'ChangeGC'
  | 'MapWindow'
  | 'UnmapWindow'
  | 'ConfigureWindow'
  | 'PolyFillRectangle'
  | 'PolyFillArc'
  | 'ImageText8'
  | 'FreeGC'
  | 'CloseFont'
  | 'DestroyWindow';
/** The part of x11's client this file uses. */
type XClient = Record<VoidRequest, (...args: unknown[]) => unknown> & {
  AllocID(): number;
  InternAtom(onlyIfExists: boolean, name: string, cb: (err: XError | null | undefined, atom: number) => boolean): unknown;
  QueryFont(font: number, cb: (err: XError | null | undefined, info: FontInfo) => boolean): unknown;
  on(event: 'event', fn: (ev: XEvent) => void): unknown;
  removeListener(event: 'event', fn: (ev: XEvent) => void): unknown;
};
type FontInfo = { maxBounds: { characterWidth: number }; fontAscent: number; fontDescent: number };
type XDisplay = { screen: { root: number; pixel_width: number; pixel_height: number }[] };

const W = 220;
const H = 28;
const MARGIN = 8;
const LEVEL_MS = 66; // at most ~15 level redraws a second
const AUTOHIDE_MS = 800;
/** an error stays longer (it may need reading), then goes too: the strip must not stay on screen for good */
const ERROR_AUTOHIDE_MS = 4000;
/** the width of the strip while it shows live text (at most the screen's, less the margins) */
const LIVE_W = 480;
const BG = 0x202124;
const TEXT = 0xf1f3f4;
/** the unstable tail of the live text */
const DIM = 0x8a8f94;
const LOOK: Record<IndicatorState, { dot: number; bg: number; text: string }> = {
  listening: { dot: 0xe53935, bg: BG, text: 'listening' },
  transcribing: { dot: 0xffb300, bg: BG, text: 'transcribing...' },
  pasted: { dot: 0x43a047, bg: BG, text: 'pasted' },
  'no-speech': { dot: 0x9e9e9e, bg: BG, text: 'no speech' },
  error: { dot: 0xff5252, bg: 0x5f1a1a, text: 'error' },
};
// Events: Exposure (1 << 15).
const EXPOSURE = 0x8000;
const EXPOSE = 12;
const XA_ATOM = 4;
const XA_STRING = 31;
const XA_WM_NAME = 39;
const XA_WM_CLASS = 67;

const realClock: IndicatorClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class Indicator {
  private mapped = false;
  private state: IndicatorState = 'listening';
  private text = '';
  /** the live text (Latin-1): settled words, the unstable tail */
  private committed = '';
  private tail = '';
  private wide = false;
  private rms = 0;
  private lastLevel = -Infinity;
  private levelTimer: unknown;
  private hideTimer: unknown;
  private closed = false;
  private readonly done: Done;
  private readonly onEvent = (ev: XEvent): void => {
    if (ev.type === EXPOSE && ev.wid === this.wid && ev.count === 0 && this.mapped) this.draw();
  };

  /** the font's cell: the widest character, ascent + descent */
  private cell = { w: 6, ascent: 11, descent: 2 };

  private constructor(
    private readonly X: XClient,
    readonly wid: number,
    private readonly gc: number,
    private readonly font: number,
    private readonly clock: IndicatorClock,
    log: (message: string) => void,
    private readonly screenW: number,
    private readonly screenH: number,
    private readonly position: 'top' | 'bottom',
  ) {
    this.done = (err) => {
      if (err) log(`indicator: X error ${err.error ?? '?'} (${err.message}) in request ${err.majorOpcode ?? '?'}, value ${err.badParam ?? '?'}`);
      return true; // handled: never re-emitted as the client's 'error'
    };
    X.on('event', this.onEvent);
  }

  static async create(x: { X: unknown; display: unknown }, o: IndicatorOptions = {}): Promise<Indicator> {
    const X = x.X as XClient;
    const screen = (x.display as XDisplay).screen[0];
    if (!screen) throw new Error('indicator: the X display has no screen');
    const log = o.log ?? (() => {});
    const atom = (name: string) =>
      new Promise<number>((resolve, reject) =>
        X.InternAtom(false, name, (err, a) => {
          if (err) reject(err);
          else resolve(a);
          return true;
        }),
      );
    const [netName, utf8, type, notification] = await Promise.all(['_NET_WM_NAME', 'UTF8_STRING', '_NET_WM_WINDOW_TYPE', '_NET_WM_WINDOW_TYPE_NOTIFICATION'].map(atom));
    const wid = X.AllocID();
    const gc = X.AllocID();
    const font = X.AllocID();
    const me = new Indicator(X, wid, gc, font, o.clock ?? realClock, log, screen.pixel_width, screen.pixel_height, o.position ?? 'top');
    const { left, top } = me.place(W, H);
    me.send('CreateWindow', wid, screen.root, left, top, W, H, 0, 0, 0, 0, { backgroundPixel: BG, overrideRedirect: 1, eventMask: EXPOSURE });
    me.send('ChangeProperty', 0, wid, XA_WM_NAME, XA_STRING, 8, 'prism-dictate');
    me.send('ChangeProperty', 0, wid, netName, utf8, 8, 'prism-dictate');
    me.send('ChangeProperty', 0, wid, XA_WM_CLASS, XA_STRING, 8, 'prism-dictate\0prism-dictate\0');
    me.send('ChangeProperty', 0, wid, type, XA_ATOM, 32, [notification]);
    me.send('OpenFont', font, 'fixed');
    me.send('CreateGC', gc, wid, { foreground: TEXT, background: BG, font, graphicsExposures: 0 });
    // the live text is fitted to the strip by the font's widest character ('fixed' is monospaced)
    await new Promise<void>((resolve) => {
      try {
        X.QueryFont(font, (err, info) => {
          const w = info?.maxBounds?.characterWidth;
          if (!err && w && w > 0 && w < 64) me.cell = { w, ascent: info.fontAscent, descent: info.fontDescent };
          resolve();
          return true;
        });
      } catch {
        resolve();
      }
    });
    return me;
  }

  /** Maps the window on top (without focusing it) and draws `state`; 'pasted' and 'no-speech' hide after ~800 ms, 'error' after 4 s. */
  show(state: IndicatorState, label?: string): void {
    if (this.closed) return;
    this.clock.clearTimeout(this.hideTimer);
    this.hideTimer = undefined;
    if (state === 'listening' && this.state !== 'listening') this.rms = 0;
    // a new dictation, or a final state: the live text of the last one goes
    if ((state === 'listening' && this.state !== 'listening') || state === 'pasted' || state === 'no-speech' || state === 'error') {
      this.committed = '';
      this.tail = '';
    }
    this.state = state;
    this.text = latin1(label ?? LOOK[state].text);
    this.resize();
    if (!this.mapped) {
      this.mapped = true;
      this.send('MapWindow', this.wid);
    }
    this.send('ConfigureWindow', this.wid, { stackMode: 0 }); // Above
    this.draw();
    if (state === 'pasted' || state === 'no-speech') this.hideTimer = this.clock.setTimeout(() => this.hide(), AUTOHIDE_MS);
    if (state === 'error') this.hideTimer = this.clock.setTimeout(() => this.hide(), ERROR_AUTOHIDE_MS);
  }

  /** The input level (RMS of samples in −1..1) as a bar while listening; at most ~15 redraws a second, none while hidden. */
  level(rms: number): void {
    if (!this.mapped || this.state !== 'listening' || this.closed) return;
    this.rms = rms;
    if (this.levelTimer !== undefined) return;
    const wait = this.lastLevel + LEVEL_MS - this.clock.now();
    if (wait <= 0) {
      this.drawLevel();
      return;
    }
    this.levelTimer = this.clock.setTimeout(() => {
      this.levelTimer = undefined;
      if (this.mapped && this.state === 'listening' && !this.closed) this.drawLevel();
    }, wait);
  }

  /**
   * The live text: settled words (drawn solid) and the unstable tail (dimmed), its last line shown,
   * cut at the left so the newest words stay visible; both empty: none. Drawn while listening or
   * transcribing; the next final state, or the next dictation, clears it.
   */
  live(committed: string, tail: string): void {
    if (this.closed) return;
    this.committed = latin1(committed, Infinity).trim().slice(-1000); // a long hold: only its end can show
    this.tail = latin1(tail, 1000).trim();
    if (!this.mapped || (this.state !== 'listening' && this.state !== 'transcribing')) return;
    this.resize();
    this.draw();
  }

  /** The live text as drawn now (the fitted line), or undefined with none: for tests and doctor. */
  get liveLine(): { committed: string; tail: string } | undefined {
    if (!this.wide) return undefined;
    const f = this.fit();
    return { committed: f.solid, tail: f.prefix + f.tail };
  }

  hide(): void {
    this.clock.clearTimeout(this.hideTimer);
    this.hideTimer = undefined;
    if (!this.mapped || this.closed) return;
    this.mapped = false;
    this.send('UnmapWindow', this.wid);
  }

  /** Destroys the window and frees the GC and font; the connection stays the caller's. */
  close(): void {
    if (this.closed) return;
    this.hide();
    this.clock.clearTimeout(this.levelTimer);
    this.closed = true;
    this.X.removeListener('event', this.onEvent);
    this.send('FreeGC', this.gc);
    this.send('CloseFont', this.font);
    this.send('DestroyWindow', this.wid);
  }

  get visible(): boolean {
    return this.mapped;
  }

  /** Where a strip of w×h stands: centred, at the top or the bottom of the screen. */
  private place(w: number, h: number): { left: number; top: number } {
    return { left: Math.max(0, Math.round((this.screenW - w) / 2)), top: this.position === 'bottom' ? this.screenH - h - MARGIN : MARGIN };
  }

  private get size(): { w: number; h: number } {
    if (!this.wide) return { w: W, h: H };
    return { w: Math.max(W, Math.min(LIVE_W, this.screenW - 2 * MARGIN)), h: H + this.cell.ascent + this.cell.descent + 6 };
  }

  /** Widens the strip for live text, or narrows it back without. */
  private resize(): void {
    const wide = this.committed !== '' || this.tail !== '';
    if (wide === this.wide) return;
    this.wide = wide;
    const { w, h } = this.size;
    const { left, top } = this.place(w, h);
    this.send('ConfigureWindow', this.wid, { x: left, y: top, width: w, height: h });
  }

  /** The last line of the live text that fits: a '...' when cut, the settled part, the tail. */
  private fit(): { prefix: string; solid: string; tail: string } {
    const room = Math.max(8, Math.floor((this.size.w - 20) / this.cell.w));
    const gap = this.committed && this.tail ? ' ' : '';
    const full = this.committed + gap + this.tail;
    const boundary = this.committed.length + gap.length;
    if (full.length <= room) return { prefix: '', solid: this.committed + gap, tail: this.tail };
    let from = full.length - (room - 3);
    const space = full.indexOf(' ', from);
    if (space >= 0 && space - from < 12) from = space + 1; // at a word's start where one is near
    return { prefix: '...', solid: full.slice(from, Math.max(from, boundary)), tail: full.slice(Math.max(from, boundary)) };
  }

  private draw(): void {
    const look = LOOK[this.state];
    const size = this.size;
    this.fill(look.bg, [0, 0, size.w, size.h]);
    this.send('ChangeGC', this.gc, { foreground: look.dot });
    this.send('PolyFillArc', this.wid, this.gc, [10, 8, 12, 12, 0, 360 * 64]);
    this.send('ChangeGC', this.gc, { foreground: TEXT, background: look.bg });
    this.send('ImageText8', this.wid, this.gc, 30, 18, this.state === 'listening' ? this.text.slice(0, 13) : this.text); // the bar starts at 110
    if (this.state === 'listening') this.drawLevel();
    if (this.wide) this.drawLive(look.bg);
  }

  private drawLive(bg: number): void {
    const f = this.fit();
    let x = 10;
    const y = H + 2 + this.cell.ascent;
    for (const [text, colour] of [
      [f.prefix, DIM],
      [f.solid, TEXT],
      [f.tail, DIM],
    ] as const) {
      if (!text) continue;
      this.send('ChangeGC', this.gc, { foreground: colour, background: bg });
      this.send('ImageText8', this.wid, this.gc, x, y, text);
      x += text.length * this.cell.w;
    }
  }

  /** −60..0 dBFS over the right part of the strip. */
  private drawLevel(): void {
    this.lastLevel = this.clock.now();
    const x = 110;
    const w = W - x - 12; // the same bar in the wide strip
    const db = 20 * Math.log10(Math.max(this.rms, 1e-6));
    const n = Math.round(Math.min(1, Math.max(0, (db + 60) / 60)) * w);
    this.fill(0x3c4043, [x, 11, w, 6]);
    if (n > 0) this.fill(db > -6 ? 0xffb300 : 0x43a047, [x, 11, n, 6]);
  }

  private fill(colour: number, rect: number[]): void {
    this.send('ChangeGC', this.gc, { foreground: colour });
    this.send('PolyFillRectangle', this.wid, this.gc, rect);
  }

  private send(request: VoidRequest, ...args: unknown[]): void {
    try {
      this.X[request](...args, this.done);
    } catch (err) {
      this.done(err as XError); // e.g. the connection is closing
    }
  }
}

/** The core font speaks Latin-1: anything else becomes '?', and the text is cut to what fits beside the dot. */
function latin1(s: string, max = 30): string {
  return s.replace(/[^\x20-\x7e\xa0-\xff]/g, '?').slice(0, max);
}
