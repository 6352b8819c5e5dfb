/**
 * Keystrokes on GNOME and KDE through the xdg-desktop-portal RemoteDesktop interface: their compositors
 * offer ordinary clients no virtual-keyboard protocol, but their portals let an application send key
 * events once the user has allowed it in a dialog. With persist_mode 2 the portal hands back a restore
 * token; kept in a file of the daemon's (0600) and sent back on the next start, the dialog appears once,
 * not at every start.
 *
 * The exchange, as data/org.freedesktop.portal.{RemoteDesktop,Request,Session}.xml of
 * flatpak/xdg-desktop-portal define it (interface version 2), on org.freedesktop.portal.Desktop
 * /org/freedesktop/portal/desktop:
 *   properties AvailableDeviceTypes u (1 KEYBOARD, 2 POINTER, 4 TOUCHSCREEN), version u
 *   CreateSession(a{sv} options: handle_token s, session_handle_token s) → o request
 *     Request.Response(u code, a{sv} results: session_handle s)
 *   SelectDevices(o session, a{sv} options: handle_token s, types u, restore_token s, persist_mode u) → o request
 *     (restore_token and persist_mode since version 2; persist_mode 2: until the user revokes it)
 *   Start(o session, s parent_window, a{sv} options: handle_token s) → o request
 *     Request.Response(u code, a{sv} results: devices u, restore_token s) — the dialog is here
 *   NotifyKeyboardKeysym(o session, a{sv} options, i keysym, u state: 1 pressed, 0 released)
 *   Session.Close(); Session.Closed(a{sv}) when the desktop ends it
 * Response codes: 0 success, 1 the user cancelled, 2 ended some other way.
 *
 * Bounds: each method call 5 s (a key event is a local round trip of milliseconds); CreateSession's and
 * SelectDevices' answers 30 s (no dialog; the portal may still be starting); Start's answer 60 s, because
 * the first Start shows a dialog the user reads — long enough for a person at the screen, short enough that
 * a dialog nobody sees (the daemon autostarted at login, a locked screen) does not hold the daemon's start.
 * When it passes, the request is closed (the dialog goes away) and the session too.
 *
 * What it cannot do: GNOME's Mutter and KDE's KWin turn a keysym into a key of the *current keyboard
 * layout* and drop, silently (the call still succeeds), a keysym the layout lacks ("No keycode found for
 * keyval" in Mutter's log). So type() sends only printable ASCII, newline and tab unless told otherwise
 * (`anyCharacter`), and refuses a text with anything else before sending a key — the caller pastes or
 * copies it instead, so nothing is lost half-typed. On a layout without Latin letters (Russian, Greek)
 * even the paste chord's "v" has no key there.
 */
import { chmodSync, lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { KeyCombo } from '../../../config/keys.js';
import { WhisperError } from '../../../errors.js';
import { type KeySender, xdotoolCombo } from '../../keys.js';
import { BusError, readVariant, SessionBus, type VarDictIn } from '../dbus.js';
import { keysymOf, MODIFIER_KEYSYMS } from '../keysyms.js';
import { type Answer, DESKTOP, NoAnswer, portalRequest, token } from './portalRequest.js';

const REMOTE_DESKTOP = 'org.freedesktop.portal.RemoteDesktop';
const SESSION = 'org.freedesktop.portal.Session';
const KEYBOARD = 1;
/** persist_mode 2: the permission lasts until the user revokes it */
const PERSIST_UNTIL_REVOKED = 2;

/** Each character is two D-Bus calls (down, up): longer texts are pasted or copied instead. */
export const REMOTE_DESKTOP_MAX_CHARS = 10_000;
/** A restore token longer than this is not ours (GNOME's and KDE's are UUIDs). */
const TOKEN_MAX = 512;

/** Why the portal cannot send keys: a stable reason on the PASTE_FAILED error. */
export type RemoteDesktopProblem = 'no-bus' | 'no-portal' | 'no-remote-desktop' | 'no-keyboard' | 'declined' | 'timeout' | 'failed' | 'not-typable';

const RETURN = keysymOf('enter') as number;
const TAB = keysymOf('tab') as number;

/** The keysym of one of our main keys (lib/config/keys.ts), from the one keysym table. */
export function keysymOfKey(key: string): number {
  const k = keysymOf(key);
  if (k === undefined) throw new WhisperError('PASTE_FAILED', `no keysym for the key "${key}"`);
  return k;
}

/**
 * The keysym that types one character: Latin-1 characters are their own code, the rest 0x01000000 + the
 * code point (the Unicode keysyms); newline is Return, tab is Tab. Undefined for control characters.
 */
export function keysymOfChar(ch: string): number | undefined {
  const cp = ch.codePointAt(0) ?? 0;
  if (ch === '\n' || ch === '\r') return RETURN;
  if (ch === '\t') return TAB;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return undefined;
  if (cp <= 0xff) return cp;
  return 0x01000000 + cp;
}

/** The keysyms that type `text`, in order ("\r\n" is one Return; other control characters are left out). */
export function textKeysyms(text: string): number[] {
  const out: number[] = [];
  for (const ch of text.replace(/\r\n/g, '\n')) {
    const k = keysymOfChar(ch);
    if (k !== undefined) out.push(k);
  }
  return out;
}

export interface RemoteDesktopOptions {
  log: (line: string) => void;
  /** where the restore token is kept (the daemon's home; written 0600) */
  tokenFile: string;
  /** the bus (default DBUS_SESSION_BUS_ADDRESS) */
  address?: string;
  /**
   * type() sends every character's keysym, not only printable ASCII: for a keyboard layout that holds
   * them all (the desktop drops the others without a word)
   */
  anyCharacter?: boolean;
  callTimeoutMs?: number;
  sessionTimeoutMs?: number;
  startTimeoutMs?: number;
  /** what a typing may take per character on top of a base of 3 s (default 20 ms: two local calls) */
  perCharMs?: number;
}

const failure = (reason: RemoteDesktopProblem, why: string, cause?: unknown) =>
  new WhisperError('PASTE_FAILED', `the RemoteDesktop portal cannot send keys: ${why}`, { reason, ...(cause ? { cause } : {}) });

function responseMeaning(code: number): string {
  return code === 1 ? 'cancelled by the user' : code === 2 ? 'ended by the desktop' : `response ${code}`;
}

export class RemoteDesktopKeys implements KeySender {
  readonly name = 'the RemoteDesktop portal (the desktop asked once)';
  private closing: Promise<void> | undefined;
  private ended: string | undefined;
  private readonly unsubscribe: Array<() => void> = [];
  /** one key event at a time: a press and a typing never interleave */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly bus: SessionBus,
    /** the session's object path */
    readonly session: string,
    private readonly log: (line: string) => void,
    private readonly callTimeoutMs: number,
    private readonly o: Pick<RemoteDesktopOptions, 'anyCharacter' | 'perCharMs'> = {},
  ) {}

  /**
   * Opens a RemoteDesktop session with the keyboard: the dialog the first time, the restore token from
   * `tokenFile` after that. Rejects with PASTE_FAILED (reason: RemoteDesktopProblem) saying why.
   */
  static async open(o: RemoteDesktopOptions): Promise<RemoteDesktopKeys> {
    const callTimeoutMs = o.callTimeoutMs ?? 5000;
    let bus: SessionBus;
    try {
      bus = await SessionBus.connect({ address: o.address });
    } catch (e) {
      throw failure('no-bus', (e as Error).message, e);
    }
    let session: string | undefined;
    try {
      const { version, types } = await remoteDesktopProperties(bus, callTimeoutMs);
      if (!(types & KEYBOARD)) throw failure('no-keyboard', `this desktop’s portal offers no keyboard for remote control (AvailableDeviceTypes ${types})`);
      const owner = await bus.nameOwner(DESKTOP.destination);
      if (!owner) throw failure('no-portal', 'the portal went away while starting');
      const sender = bus.uniqueName.replace(/^:/, '').replace(/\./g, '_');
      const request = (method: string, signature: string, args: unknown[], options: VarDictIn, timeoutMs: number) =>
        portalRequest(bus, { interface: REMOTE_DESKTOP, owner, sender, method, signature, args, options, callTimeoutMs, timeoutMs });
      const sessionMs = o.sessionTimeoutMs ?? 30_000;

      const created = await request('CreateSession', 'a{sv}', [], [['session_handle_token', ['s', token()]]], sessionMs);
      if (created.code !== 0) throw failure('failed', `the portal refused a remote desktop session (${responseMeaning(created.code)})`);
      const handle = created.results.get('session_handle');
      if (typeof handle !== 'string' || !handle.startsWith('/')) throw failure('failed', 'the portal created a session without a handle');
      session = handle;

      const select: VarDictIn = [['types', ['u', KEYBOARD]]];
      const saved = version >= 2 ? readToken(o.tokenFile, o.log) : undefined;
      if (version >= 2) select.push(['persist_mode', ['u', PERSIST_UNTIL_REVOKED]]);
      if (saved) select.push(['restore_token', ['s', saved]]);
      const selected = await request('SelectDevices', 'oa{sv}', [handle], select, sessionMs);
      if (selected.code !== 0) throw failure(selected.code === 1 ? 'declined' : 'failed', `the portal did not select the keyboard (${responseMeaning(selected.code)})`);

      const startMs = o.startTimeoutMs ?? 60_000;
      let started: Answer;
      try {
        started = await request('Start', 'osa{sv}', [handle, ''], [], startMs);
      } catch (e) {
        if (e instanceof NoAnswer)
          throw failure(
            'timeout',
            `the desktop did not answer within ${Math.round(startMs / 1000)} s (a remote control dialog left unanswered?); restart the daemon to see it again`,
            e,
          );
        throw e;
      }
      if (started.code === 1) {
        if (saved) forgetToken(o.tokenFile);
        throw failure(
          'declined',
          'remote control was declined in the desktop’s dialog; restart the daemon to be asked again, or set desktop.keys to "none" (each dictation is copied)',
        );
      }
      if (started.code !== 0) throw failure('failed', `the desktop did not start remote control (${responseMeaning(started.code)})`);
      const devices = started.results.get('devices');
      if (typeof devices === 'number' && !(devices & KEYBOARD)) throw failure('no-keyboard', 'the desktop allowed remote control without the keyboard');
      const next = started.results.get('restore_token');
      if (typeof next === 'string' && next) saveToken(o.tokenFile, next, o.log);
      else if (saved) forgetToken(o.tokenFile); // a token is good for one use: the old one is spent

      const keys = new RemoteDesktopKeys(bus, handle, o.log, callTimeoutMs, o);
      await keys.watch(owner);
      o.log(
        `keys: the RemoteDesktop portal (v${version}) ${saved && typeof next === 'string' && next ? 'restored the permission given before' : 'was allowed'}${version >= 2 ? '' : ' (portal version 1: no restore token, the desktop asks at each start)'}`,
      );
      return keys;
    } catch (e) {
      if (session) await bus.call({ ...DESKTOP, path: session, interface: SESSION, member: 'Close', timeoutMs: 2000 }).catch(() => undefined);
      await bus.close();
      if (e instanceof WhisperError) throw e;
      if (e instanceof BusError && e.kind === 'timeout') throw failure('timeout', e.message, e);
      throw failure('failed', (e as Error).message, e);
    }
  }

  /** The chord: modifier keysyms down, the key down and up, the modifiers up in reverse order. */
  press(combo: KeyCombo): Promise<void> {
    const key = keysymOfKey(combo.key);
    const mods = combo.modifiers.map((m) => MODIFIER_KEYSYMS[m][0] as number); // the left-hand key
    return this.serial(async () => {
      const held: number[] = [];
      try {
        for (const m of mods) {
          await this.key(m, 1);
          held.push(m);
        }
        await this.key(key, 1);
        held.push(key);
        await this.key(key, 0);
        held.pop();
        for (const m of [...mods].reverse()) {
          await this.key(m, 0);
          held.pop();
        }
      } catch (e) {
        await this.releaseAll(held);
        throw new WhisperError('PASTE_FAILED', `the RemoteDesktop portal could not press ${xdotoolCombo(combo)}: ${(e as Error).message}`, { cause: e });
      }
    });
  }

  /** Each character as its keysym, down then up, in order; a failure mid-way says how much was typed. */
  type(text: string): Promise<void> {
    const syms = textKeysyms(text);
    if (syms.length === 0) return Promise.resolve();
    if (syms.length > REMOTE_DESKTOP_MAX_CHARS)
      return Promise.reject(new WhisperError('PASTE_FAILED', `the text is too long to type (${syms.length} characters, at most ${REMOTE_DESKTOP_MAX_CHARS})`));
    const odd = this.o.anyCharacter ? undefined : [...text].find((ch) => !/^[\x20-\x7e\n\r\t]$/.test(ch));
    if (odd !== undefined)
      return Promise.reject(
        new WhisperError(
          'PASTE_FAILED',
          `the RemoteDesktop portal types only characters of the keyboard layout, and the desktop drops the others without a word: "${odd}" (U+${(odd.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}) is not sent; paste the text instead`,
          { reason: 'not-typable' },
        ),
      );
    const allowedMs = 3000 + syms.length * (this.o.perCharMs ?? 20);
    const deadline = Date.now() + allowedMs;
    return this.serial(async () => {
      let typed = 0;
      for (const k of syms) {
        if (Date.now() > deadline)
          throw new WhisperError(
            'PASTE_FAILED',
            `the RemoteDesktop portal stopped typing after ${typed} of ${syms.length} characters: the desktop took longer than ${Math.round(allowedMs / 1000)} s`,
          );
        try {
          await this.key(k, 1);
        } catch (e) {
          throw new WhisperError('PASTE_FAILED', `the RemoteDesktop portal stopped typing after ${typed} of ${syms.length} characters: ${(e as Error).message}`, { cause: e });
        }
        try {
          await this.key(k, 0);
        } catch (e) {
          await this.releaseAll([k]);
          throw new WhisperError('PASTE_FAILED', `the RemoteDesktop portal stopped typing after ${typed + 1} of ${syms.length} characters: ${(e as Error).message}`, { cause: e });
        }
        typed++;
      }
    });
  }

  /** Closes the portal session and the bus connection (idempotent). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.ended ??= 'the sender was closed';
      for (const u of this.unsubscribe.splice(0)) u();
      if (!this.bus.closed) {
        await this.bus
          .call({ ...DESKTOP, path: this.session, interface: SESSION, member: 'Close', timeoutMs: Math.min(this.callTimeoutMs, 2000) })
          .catch((e: Error) => this.log(`keys: ${e.message}`));
      }
      await this.bus.close();
    })();
    return this.closing;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async key(keysym: number, state: 0 | 1): Promise<void> {
    if (this.ended) throw new Error(this.ended);
    await this.bus.call({
      ...DESKTOP,
      interface: REMOTE_DESKTOP,
      member: 'NotifyKeyboardKeysym',
      signature: 'oa{sv}iu',
      body: [this.session, [], keysym, state],
      timeoutMs: this.callTimeoutMs,
    });
  }

  /** Best effort: keys left down by a failure go up, so no modifier stays held in the desktop. */
  private async releaseAll(held: number[]): Promise<void> {
    if (this.ended) return;
    for (const k of [...held].reverse()) await this.key(k, 0).catch(() => undefined);
  }

  private async watch(owner: string): Promise<void> {
    this.unsubscribe.push(
      await this.bus.subscribe({ path: this.session, interface: SESSION, member: 'Closed', sender: owner }, () => {
        this.ended = 'the desktop ended the remote control session (restart the daemon to be asked again)';
        this.log(`keys: ${this.ended}`);
      }),
      this.bus.onClose((why) => {
        this.ended = why;
        this.log(`keys: ${why}; the RemoteDesktop portal no longer sends keys`);
      }),
    );
  }
}

/** The restore token saved before, or undefined (none, unreadable, not ours: too long or not one printable line). */
function readToken(file: string, log: (line: string) => void): string | undefined {
  try {
    const st = lstatSync(file);
    if (!st.isFile() || st.size > TOKEN_MAX) {
      log(`keys: ignoring ${file} (not a small regular file)`);
      return undefined;
    }
    const t = readFileSync(file, 'utf8').trim();
    return /^[\x21-\x7e]{1,512}$/.test(t) ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Written beside the file and renamed over it, 0600: a crash leaves the old token or the new one, never half. */
function saveToken(file: string, value: string, log: (line: string) => void): void {
  if (!/^[\x21-\x7e]{1,512}$/.test(value)) {
    log('keys: the portal sent a restore token that is not one printable line; not kept (the desktop will ask again next start)');
    return;
  }
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${value}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    log(`keys: could not keep the portal's restore token in ${file} (${(e as Error).message}); the desktop will ask again next start`);
  }
}

function forgetToken(file: string): void {
  rmSync(file, { force: true });
}

/**
 * For doctor and the choice of key sender: whether this session's portal offers RemoteDesktop with a
 * keyboard, without creating a session (which could show a dialog).
 */
export async function remoteDesktopAvailable(o: { address?: string; timeoutMs?: number } = {}): Promise<{ ok: true; version: number } | { ok: false; why: string }> {
  let bus: SessionBus;
  try {
    bus = await SessionBus.connect({ address: o.address, unref: true, timeoutMs: o.timeoutMs ?? 3000 });
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
  try {
    const { version, types } = await remoteDesktopProperties(bus, o.timeoutMs ?? 3000);
    if (!(types & KEYBOARD)) return { ok: false, why: `this desktop’s portal offers no keyboard for remote control (AvailableDeviceTypes ${types})` };
    return { ok: true, version };
  } catch (e) {
    return { ok: false, why: (e as Error).message.replace(/^the RemoteDesktop portal cannot send keys: /, '') };
  } finally {
    await bus.close();
  }
}

/** version and AvailableDeviceTypes, or PASTE_FAILED: no portal, or a portal without the interface. */
async function remoteDesktopProperties(bus: SessionBus, timeoutMs: number): Promise<{ version: number; types: number }> {
  const get = async (property: string) => {
    const [v] = await bus.call({ ...DESKTOP, interface: 'org.freedesktop.DBus.Properties', member: 'Get', signature: 'ss', body: [REMOTE_DESKTOP, property], timeoutMs });
    return readVariant(v);
  };
  try {
    const version = await get('version');
    if (typeof version !== 'number' || version < 1) throw failure('no-remote-desktop', 'the desktop portal reports no RemoteDesktop version');
    const types = await get('AvailableDeviceTypes');
    return { version, types: typeof types === 'number' ? types : 0 };
  } catch (e) {
    if (!(e instanceof BusError)) throw e;
    if (e.kind === 'call' && /ServiceUnknown|NameHasNoOwner|ServiceNotFound|Spawn/.test(e.dbusName ?? ''))
      throw failure('no-portal', 'no xdg-desktop-portal on the session bus (install xdg-desktop-portal and the backend of this desktop: -gnome or -kde)', e);
    if (e.kind === 'call')
      throw failure(
        'no-remote-desktop',
        'this desktop’s portal has no RemoteDesktop interface (GNOME and KDE Plasma have it; xdg-desktop-portal-wlr does not: use wtype there)',
        e,
      );
    throw failure(e.kind === 'timeout' ? 'timeout' : 'failed', e.message, e);
  }
}
