/**
 * The CLIPBOARD selection (and, for a paste into xterm, PRIMARY) through the daemon's own X connection
 * (no xsel/xclip processes): writing takes ownership and answers other clients' SelectionRequests (TARGETS, UTF8_STRING, TEXT, STRING,
 * TIMESTAMP; large texts in INCR chunks), reading converts the current owner's selection into a
 * property of our window (INCR transfers included). ICCCM §2 is the protocol.
 *
 * X keeps no copy of a selection: what we own is gone when the daemon exits, so `release()` hands it to
 * the caller at shutdown (start.ts gives it to xsel, which keeps serving it).
 *
 * The owner we read from is another program, maybe a hostile one: a read has an overall deadline and a
 * size cap (an endless INCR transfer, or one dripping a chunk a second, forever), past which it is given
 * up (the paste goes on; the clipboard is not restored) and said once, through `log`.
 */
import { WhisperError } from '../../../errors.js';
import type { Clipboard } from '../../output.js';
import type { XDisplay } from './display.js';
import type { XEvent, XPropertyReply } from './types.js';

/** Above this many bytes a text is served in INCR chunks of this size (core requests max out at 256 KiB). */
const CHUNK = 128 * 1024;
const XA_PRIMARY = 1;
const XA_ATOM = 4;
const XA_INTEGER = 19;
const XA_STRING = 31;
const PROPERTY_CHANGE_MASK = 0x400000;
const NO_EVENT_MASK = 0;
const PROPERTY_DELETE = 1;
/** how long an owner gets to answer a conversion, or to send the next INCR chunk (a hung owner must not hold up a paste) */
const CONVERT_TIMEOUT_MS = 1000;
/** the most a whole read may take, waiting for an earlier one included */
const READ_DEADLINE_MS = 2000;
/** the most text a read takes in (the clipboard restored after a paste is text; 16 MiB is a long book) */
const READ_MAX_BYTES = 16 * 1024 * 1024;

export interface ClipboardLimits {
  /** default 2000 ms */
  readDeadlineMs?: number;
  /** default 16 MiB */
  readMaxBytes?: number;
  /** where a read given up is said (default: a process warning) */
  log?: (line: string) => void;
}

/** A read that went past its deadline or its size cap. */
class ReadGivenUp extends WhisperError {
  constructor(message: string) {
    super('PASTE_FAILED', message);
  }
}

interface Atoms {
  CLIPBOARD: number;
  TARGETS: number;
  UTF8_STRING: number;
  TEXT: number;
  TIMESTAMP: number;
  INCR: number;
  MULTIPLE: number;
  PROP: number;
}

/** An INCR transfer to one requestor, advanced by PropertyNotify(Deleted) on its property. */
interface Outgoing {
  requestor: number;
  property: number;
  data: Buffer;
  offset: number;
  type: number;
}

export class X11Clipboard implements Clipboard {
  readonly name = 'the X connection (X11 CLIPBOARD)';
  /** the text we serve while we own CLIPBOARD */
  private text: string | undefined;
  private ownedSince = 0;
  /** the text we serve as PRIMARY, while we own it (a paste with Shift+Insert into xterm) */
  private primary: { text: string; since: number } | undefined;
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly off: () => void;
  /** conversions run one at a time: they share one property of our window */
  private reading: Promise<unknown> = Promise.resolve();
  /** SelectionRequests answered, for tests and status */
  readonly served = { requests: 0, incr: 0 };
  /** reads given up (past the deadline or the size cap), for tests and status */
  readonly givenUp = { deadline: 0, size: 0 };
  private readonly deadlineMs: number;
  private readonly maxBytes: number;
  private readonly log: (line: string) => void;

  private constructor(
    private readonly d: XDisplay,
    private readonly a: Atoms,
    limits: ClipboardLimits,
  ) {
    this.deadlineMs = limits.readDeadlineMs ?? READ_DEADLINE_MS;
    this.maxBytes = limits.readMaxBytes ?? READ_MAX_BYTES;
    this.log = limits.log ?? ((line) => process.emitWarning(line));
    this.off = d.onEvent((ev) => this.handle(ev));
  }

  static async create(d: XDisplay, limits: ClipboardLimits = {}): Promise<X11Clipboard> {
    const names = ['CLIPBOARD', 'TARGETS', 'UTF8_STRING', 'TEXT', 'TIMESTAMP', 'INCR', 'MULTIPLE', '_PRISM_SELECTION'] as const;
    const values = await Promise.all(names.map((n) => d.atom(n)));
    const a = Object.fromEntries(names.map((n, i) => [n === '_PRISM_SELECTION' ? 'PROP' : n, values[i]])) as unknown as Atoms;
    return new X11Clipboard(d, a, limits);
  }

  /** Whether we own CLIPBOARD now (a copy in another program takes it away). */
  get ownsClipboard(): boolean {
    return this.text !== undefined;
  }

  /** The text we serve, while we own CLIPBOARD. */
  get ownedText(): string | undefined {
    return this.text;
  }

  async write(text: string): Promise<void> {
    const d = this.d;
    const time = await d.serverTime();
    await d.req<void>('SetSelectionOwner', (cb) => d.X.SetSelectionOwner(d.window, this.a.CLIPBOARD, time, cb));
    const owner = await d.req<number>('GetSelectionOwner', (cb) => d.X.GetSelectionOwner(this.a.CLIPBOARD, cb));
    if (owner !== d.window) throw new WhisperError('PASTE_FAILED', `the X server did not give us the clipboard (owner is 0x${owner.toString(16)})`);
    this.text = text;
    this.ownedSince = time;
  }

  /**
   * The clipboard's text. Rejects (PASTE_FAILED) when the owner has not handed it over within the
   * deadline (counted from this call, a wait behind an earlier read included) or sends more than the
   * cap: the transfer is dropped at once, so the next read (and the paste waiting on it) never waits
   * behind a hostile owner.
   */
  read(): Promise<string> {
    if (this.text !== undefined) return Promise.resolve(this.text);
    const ac = new AbortController();
    const timer = setTimeout(
      () => ac.abort(new ReadGivenUp(`the clipboard owner did not hand over its text within ${this.deadlineMs} ms: given up (the clipboard is not restored)`)),
      this.deadlineMs,
    );
    const next = this.reading
      .then(() => this.convert(ac.signal))
      .catch((e: unknown) => {
        const reason = ac.signal.aborted ? ac.signal.reason : e;
        if (reason instanceof ReadGivenUp) {
          if (ac.signal.aborted) this.givenUp.deadline++;
          else this.givenUp.size++;
          this.log(reason.message);
        }
        throw reason;
      })
      .finally(() => {
        clearTimeout(timer);
        ac.abort(); // ends the transfer's waits, if something else ended it
      });
    this.reading = next.catch(() => undefined);
    return next;
  }

  /** Whether we own PRIMARY now (selecting text anywhere takes it away). */
  get ownsPrimary(): boolean {
    return this.primary !== undefined;
  }

  /**
   * Serves `text` as PRIMARY too: what a stock xterm (and urxvt) pastes on Shift+Insert. Whoever had a
   * selection loses it (its highlight goes), as when the person selects something else.
   */
  async writePrimary(text: string): Promise<void> {
    const d = this.d;
    const time = await d.serverTime();
    await d.req<void>('SetSelectionOwner', (cb) => d.X.SetSelectionOwner(d.window, XA_PRIMARY, time, cb));
    const owner = await d.req<number>('GetSelectionOwner', (cb) => d.X.GetSelectionOwner(XA_PRIMARY, cb));
    if (owner !== d.window) throw new WhisperError('PASTE_FAILED', `the X server did not give us the PRIMARY selection (owner is 0x${owner.toString(16)})`);
    this.primary = { text, since: time };
  }

  /** Gives PRIMARY up (no selection then, as after a deselect), unless someone selected something since. */
  async releasePrimary(): Promise<void> {
    const p = this.primary;
    this.primary = undefined;
    if (p && !this.d.closed) {
      await this.d.req<void>('SetSelectionOwner', (cb) => this.d.X.SetSelectionOwner(0, XA_PRIMARY, p.since, cb)).catch(() => undefined);
    }
  }

  /** Gives up ownership and returns the text we were serving (undefined when someone else owns it). */
  async release(): Promise<string | undefined> {
    const text = this.text;
    this.text = undefined;
    await this.releasePrimary();
    this.off();
    this.outgoing.clear();
    if (text !== undefined && !this.d.closed) {
      await this.d.req<void>('SetSelectionOwner', (cb) => this.d.X.SetSelectionOwner(0, this.a.CLIPBOARD, this.ownedSince, cb)).catch(() => undefined);
    }
    return text;
  }

  // ---- reading someone else's selection

  private async convert(signal: AbortSignal): Promise<string> {
    const d = this.d;
    const owner = await this.until(
      d.req<number>('GetSelectionOwner', (cb) => d.X.GetSelectionOwner(this.a.CLIPBOARD, cb)),
      signal,
    );
    if (owner === 0) return '';
    const utf8 = await this.convertTo(this.a.UTF8_STRING, signal);
    if (utf8 !== undefined) return utf8.toString('utf8');
    const latin1 = await this.convertTo(XA_STRING, signal);
    return latin1 === undefined ? '' : latin1.toString('latin1');
  }

  /** `p`, unless `signal` aborts first (then its reason); what `p` does later is ignored. */
  private until<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const stop = (): void => reject(signal.reason);
      signal.addEventListener('abort', stop, { once: true });
      p.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
    });
  }

  private tooBig(bytes: number): ReadGivenUp {
    return new ReadGivenUp(`the clipboard owner sent more than ${this.maxBytes} bytes (${bytes} so far): given up (the clipboard is not restored)`);
  }

  /** The selection as `target`, or undefined when the owner refuses that target. */
  private async convertTo(target: number, signal: AbortSignal): Promise<Buffer | undefined> {
    const d = this.d;
    const { CLIPBOARD, PROP, INCR } = this.a;
    await this.until(
      d.req<void>('DeleteProperty', (cb) => d.X.DeleteProperty(d.window, PROP, cb)),
      signal,
    );
    const notified = d.waitEvent(
      (ev) => ev.name === 'SelectionNotify' && ev.requestor === d.window && ev.selection === CLIPBOARD,
      CONVERT_TIMEOUT_MS,
      'answer from the clipboard owner',
    );
    notified.catch(() => undefined); // awaited below; a request failing first must not leave it unhandled
    const time = await this.until(d.serverTime(), signal);
    await this.until(
      d.req<void>('ConvertSelection', (cb) => d.X.ConvertSelection(d.window, CLIPBOARD, target, PROP, time, cb)),
      signal,
    );
    const ev = await this.until(notified, signal);
    if (!ev.property) return undefined;
    const first = await this.takeProperty(false, signal);
    if (first.type !== INCR) return first.data;
    const announced = first.data.length >= 4 ? first.data.readUInt32LE(0) : 0;
    if (announced > this.maxBytes) throw this.tooBig(announced);
    // INCR: each chunk arrives as a new value of the property (after we delete the last); a zero-length one ends it
    const chunks: Buffer[] = [];
    let received = 0;
    let next = first.next;
    for (;;) {
      await this.until(next ?? Promise.resolve(), signal);
      const chunk = await this.takeProperty(true, signal, received);
      next = chunk.next;
      if (chunk.data.length === 0) return Buffer.concat(chunks);
      received += chunk.data.length;
      if (received > this.maxBytes) throw this.tooBig(received);
      chunks.push(chunk.data);
    }
  }

  /**
   * Reads our property whole and deletes it (the delete is what asks an INCR sender for more). In an
   * INCR transfer (`incr`, or the INCR announcement itself) it also returns the wait for the next
   * chunk, subscribed before the delete so that a quick sender's chunk cannot slip past.
   */
  private async takeProperty(incr: boolean, signal: AbortSignal, before = 0): Promise<{ type: number; data: Buffer; next?: Promise<unknown> }> {
    const d = this.d;
    const { PROP } = this.a;
    const parts: Buffer[] = [];
    let offset = 0;
    let bytes = before;
    for (;;) {
      const p = await this.until(
        d.req<XPropertyReply>('GetProperty', (cb) => d.X.GetProperty(0, d.window, PROP, 0, offset, CHUNK / 4, cb)),
        signal,
      );
      parts.push(p.data);
      offset += p.data.length / 4;
      bytes += p.data.length;
      if (bytes > this.maxBytes || bytes + p.bytesAfter > this.maxBytes) throw this.tooBig(bytes + p.bytesAfter);
      if (p.bytesAfter !== 0) continue;
      const more = (incr || p.type === this.a.INCR) && !(incr && p.data.length === 0);
      const next = more ? d.waitEvent((e) => e.name === 'PropertyNotify' && e.wid === d.window && e.atom === PROP && e.state === 0, CONVERT_TIMEOUT_MS, 'INCR chunk') : undefined;
      next?.catch(() => undefined);
      await this.until(
        d.req<void>('DeleteProperty', (cb) => d.X.DeleteProperty(d.window, PROP, cb)),
        signal,
      );
      return { type: p.type, data: Buffer.concat(parts), next };
    }
  }

  // ---- serving ours

  private handle(ev: XEvent): void {
    const d = this.d;
    if (ev.name === 'SelectionClear' && ev.owner === d.window && ev.selection === this.a.CLIPBOARD) {
      this.text = undefined; // someone copied: theirs now
    } else if (ev.name === 'SelectionClear' && ev.owner === d.window && ev.selection === XA_PRIMARY) {
      this.primary = undefined; // someone selected: theirs now
    } else if (ev.name === 'SelectionRequest' && ev.owner === d.window) {
      this.answer(ev);
    } else if (ev.name === 'PropertyNotify' && ev.state === PROPERTY_DELETE && ev.wid !== undefined) {
      const t = this.outgoing.get(`${ev.wid}:${ev.atom}`);
      if (t) this.sendChunk(t);
    }
  }

  /** Answers one SelectionRequest: the property filled (or None for a refusal), then SelectionNotify. */
  private answer(ev: XEvent): void {
    const d = this.d;
    const { CLIPBOARD, TARGETS, UTF8_STRING, TEXT, TIMESTAMP, INCR } = this.a;
    const requestor = ev.requestor ?? 0;
    const target = ev.target ?? 0;
    // ICCCM: an obsolete client may ask with property None; then the target names the property
    const property = ev.property || target;
    const time = ev.time ?? 0;
    const notify = (prop: number) =>
      d.X.SendEvent(requestor, 0, NO_EVENT_MASK, { name: 'SelectionNotify', time, requestor, selection: ev.selection, target, property: prop }, () => true);
    const own =
      ev.selection === CLIPBOARD ? (this.text === undefined ? undefined : { text: this.text, since: this.ownedSince }) : ev.selection === XA_PRIMARY ? this.primary : undefined;
    const text = own?.text;
    const since = own?.since ?? 0;
    const tooOld = time !== 0 && time < since; // a request for a selection we owned before this one
    if (text === undefined || tooOld) {
      notify(0);
      return;
    }
    this.served.requests++;
    const put = (type: number, format: number, data: Buffer | number[]) => d.X.ChangeProperty(0, requestor, property, type, format, data, () => true);
    if (target === TARGETS) {
      put(XA_ATOM, 32, [TARGETS, TIMESTAMP, UTF8_STRING, TEXT, XA_STRING]);
    } else if (target === TIMESTAMP) {
      put(XA_INTEGER, 32, [since]);
    } else if (target === UTF8_STRING || target === TEXT || target === XA_STRING) {
      const type = target === XA_STRING ? XA_STRING : UTF8_STRING;
      const data = Buffer.from(text, type === XA_STRING ? 'latin1' : 'utf8');
      if (data.length > CHUNK) {
        // INCR: announce the size, then a chunk each time the requestor deletes the property
        this.served.incr++;
        d.X.ChangeWindowAttributes(requestor, { eventMask: PROPERTY_CHANGE_MASK }, () => true);
        this.outgoing.set(`${requestor}:${property}`, { requestor, property, data, offset: 0, type });
        put(INCR, 32, [data.length]);
      } else put(type, 8, data);
    } else {
      notify(0); // MULTIPLE and the rest: refused
      return;
    }
    notify(property);
  }

  private sendChunk(t: Outgoing): void {
    const chunk = t.data.subarray(t.offset, t.offset + CHUNK);
    t.offset += chunk.length;
    this.d.X.ChangeProperty(0, t.requestor, t.property, t.type, 8, chunk, () => true);
    if (chunk.length > 0) return;
    // the zero-length end marker went out: stop listening to that window unless another transfer goes on
    this.outgoing.delete(`${t.requestor}:${t.property}`);
    if (![...this.outgoing.values()].some((o) => o.requestor === t.requestor)) {
      this.d.X.ChangeWindowAttributes(t.requestor, { eventMask: 0 }, () => true);
    }
  }
}
