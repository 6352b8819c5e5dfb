/**
 * Push-to-talk through the xdg-desktop-portal GlobalShortcuts interface (version 1; GNOME 48+, KDE
 * Plasma 5.27+, Hyprland's portal; not xdg-desktop-portal-wlr): the desktop owns the key, asks the user
 * once to accept (or change) it, and tells us of each press (Activated) and release (Deactivated).
 *
 * The exchange, as data/org.freedesktop.portal.{GlobalShortcuts,Request,Session}.xml of
 * flatpak/xdg-desktop-portal define it, on org.freedesktop.portal.Desktop /org/freedesktop/portal/desktop:
 *   CreateSession(a{sv} options: handle_token s, session_handle_token s) → o request
 *     Request.Response(u code, a{sv} results: session_handle s)
 *   BindShortcuts(o session, a(sa{sv}) [(id, {description s, preferred_trigger s})], s parent_window, a{sv} options: handle_token s) → o request
 *     Request.Response(u code, a{sv} results: shortcuts a(sa{sv}) [(id, {description, trigger_description})], may be absent)
 *   signals Activated / Deactivated(o session_handle, s shortcut_id, t timestamp, a{sv} options)
 *   Session.Close() ends it (and a session ends when our connection does).
 * Response codes: 0 success, 1 the user cancelled, 2 ended some other way. Each request's path is
 * /org/freedesktop/portal/desktop/request/SENDER/TOKEN (SENDER: our unique name without ':' and with '.'
 * → '_'): we subscribe to its Response before the call, so an answer cannot come before we listen.
 *
 * Bounds: each method call 10 s; CreateSession's answer 30 s (no dialog; the portal may still be starting);
 * BindShortcuts' answer 60 s, because the first bind shows a dialog where the user reads the request and
 * may pick another key — long enough for a person at the screen, short enough that a dialog nobody sees
 * (the daemon autostarted at login, a locked screen) does not hold the daemon's start. When it passes we
 * close the request (the dialog goes away) and the session, and say how to get the dialog back.
 */
import type { KeyCombo, Modifier } from '../../../config/keys.js';
import { WhisperError } from '../../../errors.js';
import { keysymName } from '../../keys.js';
import type { HotkeyHandle } from '../contract.js';
import { BusError, readVarDict, readVariant, SessionBus, type VarDictIn } from '../dbus.js';
import { type Answer, DESKTOP, NoAnswer, portalRequest, token } from './portalRequest.js';

const GLOBAL_SHORTCUTS = 'org.freedesktop.portal.GlobalShortcuts';
const SESSION = 'org.freedesktop.portal.Session';
const SHORTCUT_ID = 'dictate';

/** Modifier names of the shortcuts spec (XKB_MOD_NAME_*), in the order we write them. */
const MODIFIER_NAMES: Record<Modifier, string> = { ctrl: 'CTRL', alt: 'ALT', shift: 'SHIFT', meta: 'LOGO' };
/**
 * The combination as the shortcuts spec writes a trigger (specifications.freedesktop.org/shortcuts-spec):
 * modifiers CTRL, ALT, SHIFT, LOGO and an xkbcommon keysym name, joined by '+': Meta+Alt+V → "ALT+LOGO+v",
 * F9 → "F9", Ctrl+Enter → "CTRL+Return".
 */
export function portalTrigger(combo: KeyCombo): string {
  const order: Modifier[] = ['ctrl', 'alt', 'shift', 'meta'];
  const mods = order.filter((m) => combo.modifiers.includes(m)).map((m) => MODIFIER_NAMES[m]);
  const key = keysymName(combo.key);
  return [...mods, key].join('+');
}

export interface PortalHotkeyOptions {
  log: (line: string) => void;
  /** the bus (default DBUS_SESSION_BUS_ADDRESS) */
  address?: string;
  /**
   * Registers this application id with the portal first (org.freedesktop.host.portal.Registry, portal
   * 1.19+): the desktop then names the app in its dialog and remembers the binding. It must match the
   * basename of an installed .desktop file. Without it the portal sees an unnamed host application.
   */
  appId?: string;
  /** what the desktop's dialog shows for the shortcut (default: "Dictate (hold to talk)") */
  description?: string;
  callTimeoutMs?: number;
  sessionTimeoutMs?: number;
  bindTimeoutMs?: number;
}

const unavailable = (label: string, why: string, cause?: unknown) =>
  new WhisperError('HOTKEY_UNAVAILABLE', `${label} through the desktop portal: ${why}`, cause ? { cause } : undefined);

export class PortalHotkey implements HotkeyHandle {
  readonly releases = true;
  private down = false;
  private stopping: Promise<void> | undefined;
  private readonly unsubscribe: Array<() => void> = [];

  private constructor(
    private readonly bus: SessionBus,
    /** the session's object path */
    readonly session: string,
    /** how the desktop describes the bound key ("Meta+Alt+V"), or the trigger we asked for */
    readonly trigger: string,
    private readonly log: (line: string) => void,
    private readonly callTimeoutMs: number,
  ) {}

  get via(): string {
    return `xdg-desktop-portal GlobalShortcuts (${this.trigger})`;
  }

  /**
   * Binds `combo` as the portal shortcut 'dictate'; onDown/onUp follow Activated/Deactivated. Rejects
   * with HOTKEY_UNAVAILABLE saying why: no session bus, no portal, no GlobalShortcuts in this desktop's
   * portal, the user declined, or no answer in time.
   */
  static async start(combo: KeyCombo, label: string, onDown: () => void, onUp: () => void, o: PortalHotkeyOptions): Promise<PortalHotkey> {
    const callTimeoutMs = o.callTimeoutMs ?? 10_000;
    let bus: SessionBus;
    try {
      bus = await SessionBus.connect({ address: o.address });
    } catch (e) {
      throw unavailable(label, (e as Error).message, e);
    }
    let session: string | undefined;
    try {
      if (o.appId) {
        await bus
          .call({ ...DESKTOP, interface: 'org.freedesktop.host.portal.Registry', member: 'Register', signature: 'sa{sv}', body: [o.appId, []], timeoutMs: callTimeoutMs })
          .catch((e: Error) => o.log(`portal: could not register as ${o.appId} (${e.message}); going on unnamed`));
      }
      const version = await portalVersion(bus, label, callTimeoutMs);
      const owner = await bus.nameOwner(DESKTOP.destination);
      if (!owner) throw unavailable(label, 'the portal went away while starting');
      const sender = bus.uniqueName.replace(/^:/, '').replace(/\./g, '_');
      const request = (method: string, signature: string, args: unknown[], options: VarDictIn, timeoutMs: number) =>
        portalRequest(bus, { interface: GLOBAL_SHORTCUTS, owner, sender, method, signature, args, options, callTimeoutMs, timeoutMs });

      const created = await request('CreateSession', 'a{sv}', [], [['session_handle_token', ['s', token()]]], o.sessionTimeoutMs ?? 30_000);
      if (created.code !== 0) throw unavailable(label, `the portal refused a shortcuts session (${responseMeaning(created.code)})`);
      const handle = created.results.get('session_handle');
      if (typeof handle !== 'string' || !handle.startsWith('/')) throw unavailable(label, 'the portal created a session without a handle');
      session = handle;

      const hotkey = new PortalHotkey(bus, handle, portalTrigger(combo), o.log, callTimeoutMs);
      // listen before binding: a press right after the dialog closes is not lost
      await hotkey.listen(owner, onDown, onUp);

      const bindMs = o.bindTimeoutMs ?? 60_000;
      const shortcut: [string, VarDictIn] = [
        SHORTCUT_ID,
        [
          ['description', ['s', o.description ?? 'Dictate (hold to talk)']],
          ['preferred_trigger', ['s', portalTrigger(combo)]],
        ],
      ];
      let bound: Answer;
      try {
        bound = await request('BindShortcuts', 'oa(sa{sv})sa{sv}', [handle, [shortcut], ''], [], bindMs);
      } catch (e) {
        if (e instanceof NoAnswer)
          throw unavailable(
            label,
            `the desktop did not answer within ${Math.round(bindMs / 1000)} s (a shortcut dialog left unanswered?); restart the daemon to see the dialog again`,
            e,
          );
        throw e;
      }
      if (bound.code === 1)
        throw unavailable(
          label,
          'the shortcut was declined in the desktop’s dialog; restart the daemon to be asked again, or bind prism-dictate toggle in the desktop’s keyboard settings',
        );
      if (bound.code !== 0) throw unavailable(label, `the desktop did not bind the shortcut (${responseMeaning(bound.code)})`);
      const shortcuts = bound.results.get('shortcuts');
      if (Array.isArray(shortcuts)) {
        // the answer lists what was bound (KDE may leave it out; then we trust the success code)
        const ours = shortcuts.find((s) => Array.isArray(s) && s[0] === SHORTCUT_ID) as [string, unknown] | undefined;
        if (!ours) throw unavailable(label, 'the desktop bound no key for dictation; set one in its keyboard settings (Global Shortcuts) and restart the daemon');
        const described = readVarDict(ours[1]).get('trigger_description');
        if (typeof described === 'string' && described) hotkey.setTrigger(described.slice(0, 80));
      }
      o.log(`hotkey: the desktop portal (GlobalShortcuts v${version}) bound ${hotkey.trigger}`);
      return hotkey;
    } catch (e) {
      if (session) await bus.call({ ...DESKTOP, path: session, interface: SESSION, member: 'Close', timeoutMs: 2000 }).catch(() => undefined);
      await bus.close();
      if (e instanceof WhisperError) throw e;
      throw unavailable(label, (e as Error).message, e);
    }
  }

  /** Closes the portal session and the bus connection (idempotent); a key held at that moment counts as released. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const u of this.unsubscribe.splice(0)) u();
      this.release();
      if (!this.bus.closed) {
        await this.bus
          .call({ ...DESKTOP, path: this.session, interface: SESSION, member: 'Close', timeoutMs: Math.min(this.callTimeoutMs, 2000) })
          .catch((e: Error) => this.log(`portal: ${e.message}`));
      }
      await this.bus.close();
    })();
    return this.stopping;
  }

  private setTrigger(t: string): void {
    (this as { trigger: string }).trigger = t;
  }

  private onUp: (() => void) | undefined;

  private release(): void {
    if (!this.down) return;
    this.down = false;
    this.safely(this.onUp);
  }

  private safely(fn: (() => void) | undefined): void {
    try {
      fn?.();
    } catch (e) {
      this.log(`hotkey: ${(e as Error).message}`);
    }
  }

  private async listen(owner: string, onDown: () => void, onUp: () => void): Promise<void> {
    this.onUp = onUp;
    const ours = (body: unknown[]) => body[0] === this.session && body[1] === SHORTCUT_ID;
    const common = { path: DESKTOP.path, interface: GLOBAL_SHORTCUTS, sender: owner };
    this.unsubscribe.push(
      await this.bus.subscribe({ ...common, member: 'Activated' }, (body) => {
        // a second Activated without a Deactivated (a repeat) is not a second press
        if (!ours(body) || this.down || this.stopping) return;
        this.down = true;
        this.safely(onDown);
      }),
      await this.bus.subscribe({ ...common, member: 'Deactivated' }, (body) => {
        if (ours(body)) this.release();
      }),
      await this.bus.subscribe({ path: this.session, interface: SESSION, member: 'Closed', sender: owner }, () => {
        this.log('hotkey: the desktop closed the portal shortcut session; the hotkey no longer works (prism-dictate toggle|begin|end still do)');
        this.release();
      }),
    );
    this.unsubscribe.push(
      this.bus.onClose((why) => {
        this.log(`hotkey: ${why}; the portal hotkey no longer works`);
        this.release();
      }),
    );
  }
}

function responseMeaning(code: number): string {
  return code === 1 ? 'cancelled by the user' : code === 2 ? 'ended by the desktop' : `response ${code}`;
}

/**
 * For doctor: whether this session's portal offers GlobalShortcuts, without creating a session (which
 * could show a dialog). `why` is the same sentence PortalHotkey.start would reject with.
 */
export async function portalShortcutsAvailable(o: { address?: string; timeoutMs?: number } = {}): Promise<{ ok: true; version: number } | { ok: false; why: string }> {
  let bus: SessionBus;
  try {
    bus = await SessionBus.connect({ address: o.address, unref: true });
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
  try {
    return { ok: true, version: await portalVersion(bus, 'the hotkey', o.timeoutMs ?? 10_000) };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  } finally {
    await bus.close();
  }
}

/** The GlobalShortcuts version, or HOTKEY_UNAVAILABLE: no portal, or a portal without the interface. */
async function portalVersion(bus: SessionBus, label: string, timeoutMs: number): Promise<number> {
  try {
    const [v] = await bus.call({ ...DESKTOP, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [GLOBAL_SHORTCUTS, 'version'], timeoutMs });
    const version = readVariant(v);
    if (typeof version !== 'number' || version < 1) throw unavailable(label, 'the desktop portal reports no GlobalShortcuts version');
    return version;
  } catch (e) {
    if (!(e instanceof BusError)) throw e;
    if (e.kind === 'call' && /ServiceUnknown|NameHasNoOwner|ServiceNotFound|Spawn/.test(e.dbusName ?? ''))
      throw unavailable(label, 'no xdg-desktop-portal on the session bus (install xdg-desktop-portal and the backend of this desktop)', e);
    if (e.kind === 'call')
      throw unavailable(
        label,
        'this desktop’s portal has no GlobalShortcuts interface (GNOME 48+, KDE Plasma 5.27+ and Hyprland have it; wlroots compositors such as sway do not: use the compositor binding or desktop.hotkey "evdev")',
        e,
      );
    throw unavailable(label, e.message, e);
  }
}
