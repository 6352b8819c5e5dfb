/**
 * Delivering the text: clipboard + paste keystroke (then the previous clipboard put back, unless the
 * user copied something meanwhile), typed keystrokes, the clipboard only, or standard output.
 */

import { type Clock, systemClock } from '../clock.js';
import type { KeyCombo } from '../config/keys.js';
import type { Config } from '../config/schema.js';
import { WhisperError } from '../errors.js';
import type { KeySender } from './keys.js';

export interface Clipboard {
  read(): Promise<string>;
  write(text: string): Promise<void>;
}

export async function systemClipboard(): Promise<Clipboard> {
  const { default: clipboardy } = await import('clipboardy');
  return { read: () => clipboardy.read(), write: (t) => clipboardy.write(t) };
}

export interface Delivery {
  method: Config['output']['method'];
  /** ms from the call to the keystroke sent (or the text written) */
  ms: number;
}

export interface DeliverOptions {
  /** 'last': into the window the previous paste or typing went to (a re-paste from the dashboard) */
  into?: 'focused' | 'last';
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

  constructor(
    private readonly o: Config['output'],
    private readonly pasteKeys: KeyCombo,
    private readonly clipboard: Clipboard | undefined,
    private readonly keys: KeySender | undefined,
    private readonly stdout: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
    private readonly clock: Clock = systemClock,
  ) {}

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
      return this.deliverNow(text);
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

  private async deliverNow(text: string): Promise<Delivery> {
    const t0 = this.clock.now();
    const method = this.o.method;
    if (method === 'stdout') {
      this.stdout(text);
      return { method, ms: this.clock.now() - t0 };
    }
    if (method === 'type') {
      if (!this.keys) throw new WhisperError('PASTE_FAILED', 'no way to send keystrokes here');
      await this.keys.type(text);
      this.noteWindow();
      return { method, ms: this.clock.now() - t0 };
    }
    const clipboard = this.clipboard;
    if (!clipboard) throw new WhisperError('PASTE_FAILED', 'no clipboard here');
    if (method === 'clipboard') {
      await clipboard.write(text);
      return { method, ms: this.clock.now() - t0 };
    }
    if (!this.keys) throw new WhisperError('PASTE_FAILED', 'no way to send the paste keystroke here');
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
    await this.keys.press(this.pasteKeys);
    const ms = this.clock.now() - t0;
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
    return { method, ms };
  }

  private async restore(): Promise<void> {
    const saved = this.saved;
    this.saved = undefined;
    if (!saved || !this.clipboard) return;
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
