/**
 * The visible state as one desktop notification replaced in place (org.freedesktop.Notifications over
 * the session bus): listening → transcribing → pasted / copied / no speech / error. Each change is a
 * Notify with the previous id as replaces_id (and the 'synchronous' hints some servers use to replace
 * in place), so the user sees one notification change, never a stack. The active states stay until the
 * next change; a final state expires after a few seconds. At most one Notify is in flight: changes that
 * come while one is on its way are coalesced and the latest wins. Nothing here throws into the host:
 * a failure is a log line. Urgency is normal, not low: GNOME Shell (41 and later) shows no banner at all
 * for low-urgency notifications, which would make the state invisible there.
 *
 * With the live preview, the body of the listening (and transcribing) notification is the end of what is
 * being said, updated in place at most every liveIntervalMs (default 500), the unstable tail after '…'
 * marks nothing more than that it may still change: notification servers draw plain text.
 *
 * `notificationSender` is the same path for one-off messages (lib/host/notify.ts).
 */
import type { StateView, VisibleState } from './contract.js';
import { SessionBus, type Variant } from './dbus.js';

const APP = 'prism-dictate';
const SERVER = { destination: 'org.freedesktop.Notifications', path: '/org/freedesktop/Notifications', interface: 'org.freedesktop.Notifications' };
const NOTIFY_SIGNATURE = 'susssasa{sv}i';
const URGENCY_NORMAL = 1;

export interface NotificationViewOptions {
  log: (line: string) => void;
  /** the bus to use (default DBUS_SESSION_BUS_ADDRESS) */
  address?: string;
  /** how long a final state (pasted, copied, no speech, error) stays, in ms (default 4000) */
  finalExpireMs?: number;
  /** the bound on each call to the notification server (default 5000 ms) */
  callTimeoutMs?: number;
  /** the paste chord as people write it, for "Copied — press Ctrl+V" (default Ctrl+V) */
  pasteLabel?: string;
  /** the least time between two updates of the live text (default 500 ms) */
  liveIntervalMs?: number;
}

interface Shown {
  state: VisibleState;
  label: string | undefined;
  /** the live text, as the body shows it */
  live?: string;
}

/** the characters of live text a body shows: its end */
const LIVE_CHARS = 160;

/** The live text as a body line: its end, settled words, then the tail. */
export function liveBody(committed: string, tail: string): string {
  const full = [committed.trim(), tail.trim()].filter(Boolean).join(' ');
  if (full.length <= LIVE_CHARS) return full;
  const cut = full.slice(-LIVE_CHARS);
  const space = cut.indexOf(' ');
  return `…${space >= 0 && space < 20 ? cut.slice(space + 1) : cut}`;
}

/** What one state looks like: summary, body, icon, and whether it stays in the server's history. */
function look(s: Shown, pasteLabel = 'Ctrl+V'): { summary: string; body: string; icon: string; transient: boolean; final: boolean } {
  const label = s.label ?? '';
  switch (s.state) {
    case 'listening':
      return { summary: 'Listening…', body: s.live || (label === 'listening' ? '' : label), icon: 'audio-input-microphone', transient: true, final: false };
    case 'transcribing':
      return { summary: 'Transcribing…', body: s.live ?? '', icon: 'audio-input-microphone', transient: true, final: false };
    case 'pasted':
      // a copied dictation asks the user to act: keep it in the server's history
      if (label.startsWith('copied')) return { summary: `Copied — press ${pasteLabel}`, body: label, icon: 'edit-paste', transient: false, final: true };
      return { summary: 'Pasted', body: label, icon: 'edit-paste', transient: true, final: true };
    case 'no-speech':
      return { summary: 'No speech heard', body: label === 'no speech' ? '' : label, icon: 'audio-input-microphone', transient: true, final: true };
    case 'error':
      return { summary: 'Dictation failed', body: label, icon: 'dialog-error', transient: false, final: true };
  }
}

function hints(transient: boolean): [string, Variant][] {
  return [
    ['urgency', ['y', URGENCY_NORMAL]],
    ['transient', ['b', transient]],
    // in-place replacement on servers that group by these (NotifyOSD, dunst and others)
    ['x-canonical-private-synchronous', ['s', APP]],
    ['synchronous', ['s', APP]],
  ];
}

export class NotificationView implements StateView {
  /** it is a desktop notification itself: a one-off "copied" message would be a second bubble */
  readonly notifies = true;
  /** the id of our notification on the server (0: none yet) */
  private id = 0;
  private want: Shown | undefined;
  private last: Shown | undefined;
  private busy = false;
  private failing = false;
  private closing: Promise<void> | undefined;
  private idle: (() => void) | undefined;
  private readonly finalExpireMs: number;
  private readonly callTimeoutMs: number;
  private readonly pasteLabel: string | undefined;
  private readonly liveIntervalMs: number;
  /** the state last asked for, and the live text with it */
  private current: Shown | undefined;
  private liveText = '';
  private liveAt = Number.NEGATIVE_INFINITY;
  private liveTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly bus: SessionBus,
    private readonly log: (line: string) => void,
    /** the server's name and version, for doctor: "mako 1.8", "gnome-shell 46.0" */
    readonly server: string,
    o: NotificationViewOptions,
  ) {
    this.finalExpireMs = o.finalExpireMs ?? 4000;
    this.callTimeoutMs = o.callTimeoutMs ?? 5000;
    this.pasteLabel = o.pasteLabel;
    this.liveIntervalMs = o.liveIntervalMs ?? 500;
    bus.onClose((why) => log(`notifications: ${why}; the dictation state is no longer shown`));
  }

  /** The view, or undefined (with the reason in the log) when there is no session bus or no notification server on it. */
  static async open(o: NotificationViewOptions): Promise<NotificationView | undefined> {
    let bus: SessionBus;
    try {
      bus = await SessionBus.connect({ address: o.address, unref: true });
    } catch (e) {
      o.log(`notifications: ${(e as Error).message}`);
      return undefined;
    }
    try {
      const [name, , version] = await bus.call({ ...SERVER, member: 'GetServerInformation', timeoutMs: o.callTimeoutMs ?? 5000 });
      return new NotificationView(bus, o.log, `${String(name)} ${String(version)}`.slice(0, 120), o);
    } catch (e) {
      o.log(`notifications: no notification server on the session bus (${(e as Error).message})`);
      await bus.close();
      return undefined;
    }
  }

  show(state: VisibleState, label?: string): void {
    if (this.closing) return;
    const was = this.current?.state;
    // a new dictation, or a final state: the live text of the last one goes
    if ((state === 'listening' && was !== 'listening') || (state !== 'listening' && state !== 'transcribing')) this.liveText = '';
    this.current = { state, label };
    this.want = { state, label, ...(this.liveText ? { live: this.liveText } : {}) };
    this.pump();
  }

  /** The live text in the body, replaced in place, at most every liveIntervalMs. */
  live(committed: string, tail: string): void {
    this.liveText = liveBody(committed, tail);
    const c = this.current;
    if (this.closing || !c || (c.state !== 'listening' && c.state !== 'transcribing') || this.liveTimer) return;
    const wait = this.liveAt + this.liveIntervalMs - performance.now();
    const send = (): void => {
      this.liveTimer = undefined;
      const now = this.current;
      if (this.closing || !now || (now.state !== 'listening' && now.state !== 'transcribing')) return;
      this.liveAt = performance.now();
      this.want = { ...now, ...(this.liveText ? { live: this.liveText } : {}) };
      this.pump();
    };
    if (wait <= 0) send();
    else this.liveTimer = setTimeout(send, wait).unref();
  }

  level(_rms: number): void {}

  /** Stops showing: waits for the Notify in flight, closes an active notification (a final one expires by itself), closes the bus. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.want = undefined;
      clearTimeout(this.liveTimer);
      this.liveTimer = undefined;
      if (this.busy) await new Promise<void>((resolve) => (this.idle = resolve));
      if (this.id && this.last && !look(this.last).final && !this.bus.closed) {
        await this.bus
          .call({ ...SERVER, member: 'CloseNotification', signature: 'u', body: [this.id], timeoutMs: this.callTimeoutMs })
          .catch((e: Error) => this.log(`notifications: ${e.message}`));
      }
      await this.bus.close();
    })();
    return this.closing;
  }

  private pump(): void {
    const next = this.want;
    if (this.busy || !next) return;
    this.want = undefined;
    if (this.last && this.last.state === next.state && this.last.label === next.label && this.last.live === next.live) return;
    if (this.bus.closed) return;
    this.busy = true;
    this.notify(next).finally(() => {
      this.busy = false;
      if (this.idle) {
        this.idle();
        this.idle = undefined;
      } else this.pump();
    });
  }

  private async notify(s: Shown): Promise<void> {
    const l = look(s, this.pasteLabel);
    try {
      const [id] = await this.bus.call({
        ...SERVER,
        member: 'Notify',
        signature: NOTIFY_SIGNATURE,
        body: [APP, this.id, l.icon, l.summary, l.body, [], hints(l.transient), l.final ? this.finalExpireMs : 0],
        timeoutMs: this.callTimeoutMs,
      });
      if (typeof id === 'number' && id > 0) this.id = id;
      this.last = s;
      this.failing = false;
    } catch (e) {
      // one line per run of failures, not one per state change
      if (!this.failing && !this.bus.closed) this.log(`notifications: ${(e as Error).message}`);
      this.failing = true;
    }
  }
}

/**
 * One-off desktop notifications over the session bus: resolves true when the server took the message,
 * false when it cannot be shown this way (no bus, no server) — the caller falls back to notify-send.
 * The connection is made on the first message, kept for the next ones, and never keeps the process alive.
 */
export function notificationSender(o: { address?: string; timeoutMs?: number } = {}): (message: string) => Promise<boolean> {
  let bus: Promise<SessionBus | undefined> | undefined;
  const connect = () =>
    SessionBus.connect({ address: o.address, unref: true, timeoutMs: o.timeoutMs ?? 3000 }).then(
      (b) => b,
      () => undefined,
    );
  return async (message: string) => {
    bus ??= connect();
    let b = await bus;
    if (b?.closed) {
      bus = connect();
      b = await bus;
    }
    if (!b) return false;
    try {
      await b.call({
        ...SERVER,
        member: 'Notify',
        signature: NOTIFY_SIGNATURE,
        body: [APP, 0, 'audio-input-microphone', APP, message.slice(0, 1000), [], [['urgency', ['y', URGENCY_NORMAL]]], -1],
        timeoutMs: o.timeoutMs ?? 3000,
      });
      return true;
    } catch {
      return false;
    }
  };
}
