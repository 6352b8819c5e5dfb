/**
 * Keystrokes through the RemoteDesktop portal, against a fake org.freedesktop.portal.Desktop on a
 * private session bus: it records what the sender asks (CreateSession, SelectDevices, Start, each
 * NotifyKeyboardKeysym, Session.Close, Request.Close) and answers as GNOME's or KDE's portal would
 * (Response signals, a restore token, a declined dialog).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCombo } from '../lib/config/keys.js';
import { WhisperError } from '../lib/errors.js';
import { readVarDict } from '../lib/host/desktop/dbus.js';
import {
  keysymOfKey,
  REMOTE_DESKTOP_MAX_CHARS,
  RemoteDesktopKeys,
  type RemoteDesktopOptions,
  remoteDesktopAvailable,
  textKeysyms,
} from '../lib/host/desktop/wayland/remoteDesktop.js';
import { dbusDaemonInstalled, type PrivateBus, Recorder, serviceOn, startPrivateBus } from './dbusBus.js';

const DESKTOP_PATH = '/org/freedesktop/portal/desktop';
const RD = 'org.freedesktop.portal.RemoteDesktop';
const combo = (text: string) => {
  const c = parseCombo(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
};

describe('keysyms (X11 keysymdef.h; Unicode keysyms 0x01000000 + code point)', () => {
  it('our keys and the characters of a text', () => {
    expect(keysymOfKey('v')).toBe(0x76);
    expect(keysymOfKey('7')).toBe(0x37);
    expect(keysymOfKey('enter')).toBe(0xff0d);
    expect(keysymOfKey('pagedown')).toBe(0xff56);
    expect(keysymOfKey('f1')).toBe(0xffbe);
    expect(keysymOfKey('f24')).toBe(0xffd5);
    // Latin-1 is its own code, the rest Unicode keysyms; newline Return, tab Tab, "\r\n" one Return
    expect(textKeysyms('hé ✓\n')).toEqual([0x68, 0xe9, 0x20, 0x01002713, 0xff0d]);
    expect(textKeysyms('a\tb\r\nc\u0007')).toEqual([0x61, 0xff09, 0x62, 0xff0d, 0x63]);
    expect(textKeysyms('😀')).toEqual([0x0101f600]);
  });
});

type Recorded =
  | { member: 'CreateSession'; options: Map<string, unknown> }
  | { member: 'SelectDevices'; session: string; options: Map<string, unknown> }
  | { member: 'Start'; session: string; parent: string; options: Map<string, unknown> }
  | { member: 'Key'; session: string; keysym: number; state: number }
  | { member: 'Session.Close'; path: string }
  | { member: 'Request.Close'; path: string };

interface FakeBehaviour {
  /** Response code to Start, or 'never' */
  start: number | 'never';
  /** the restore token Start hands back (undefined: none) */
  nextToken: string | undefined;
  types: number;
  /** NotifyKeyboardKeysym answers an error to this call (counted from 1) */
  failKeyAt?: number;
}

async function fakePortal(address: string) {
  const bus = await serviceOn(address, 'org.freedesktop.portal.Desktop');
  const calls = new Recorder<Recorded>();
  const behaviour: FakeBehaviour = { start: 0, nextToken: 'token-1', types: 7 };
  const sessions: string[] = [];
  let keyCalls = 0;
  const senderPart = (unique: string) => unique.replace(/^:/, '').replace(/\./g, '_');
  const requestPath = (sender: string, options: Map<string, unknown>) => `${DESKTOP_PATH}/request/${senderPart(sender)}/${String(options.get('handle_token'))}`;
  const respond = (path: string, code: number, results: unknown[]) => bus.raw.sendSignal(path, 'org.freedesktop.portal.Request', 'Response', 'ua{sv}', [code, results]);
  const exportRequest = (path: string) =>
    bus.raw.exportInterface({ Close: () => calls.push({ member: 'Request.Close', path }) }, path, {
      name: 'org.freedesktop.portal.Request',
      methods: { Close: ['', ''] },
      signals: { Response: ['ua{sv}'] },
    });
  const impl = {
    version: 2,
    get AvailableDeviceTypes() {
      return behaviour.types;
    },
    CreateSession(options: unknown, msg: { sender: string }) {
      const o = readVarDict(options);
      calls.push({ member: 'CreateSession', options: o });
      const session = `${DESKTOP_PATH}/session/${senderPart(msg.sender)}/${String(o.get('session_handle_token'))}`;
      sessions.push(session);
      bus.raw.exportInterface({ Close: () => calls.push({ member: 'Session.Close', path: session }) }, session, {
        name: 'org.freedesktop.portal.Session',
        methods: { Close: ['', ''] },
        signals: { Closed: ['a{sv}'] },
      });
      // the Response goes out before the reply: a client that subscribed only after the call would miss it
      respond(requestPath(msg.sender, o), 0, [['session_handle', ['s', session]]]);
      return requestPath(msg.sender, o);
    },
    SelectDevices(session: string, options: unknown, msg: { sender: string }) {
      const o = readVarDict(options);
      calls.push({ member: 'SelectDevices', session, options: o });
      respond(requestPath(msg.sender, o), 0, []);
      return requestPath(msg.sender, o);
    },
    Start(session: string, parent: string, options: unknown, msg: { sender: string }) {
      const o = readVarDict(options);
      calls.push({ member: 'Start', session, parent, options: o });
      const request = requestPath(msg.sender, o);
      exportRequest(request);
      const code = behaviour.start;
      if (code !== 'never') {
        const results: unknown[] = code === 0 ? [['devices', ['u', 1]]] : [];
        if (code === 0 && behaviour.nextToken) results.push(['restore_token', ['s', behaviour.nextToken]]);
        setImmediate(() => respond(request, code, results));
      }
      return request;
    },
    NotifyKeyboardKeysym(session: string, _options: unknown, keysym: number, state: number) {
      keyCalls++;
      if (behaviour.failKeyAt !== undefined && keyCalls === behaviour.failKeyAt) throw new Error('the session is gone');
      calls.push({ member: 'Key', session, keysym, state });
    },
    resetKeys: () => {
      keyCalls = 0;
    },
  };
  bus.raw.exportInterface(impl, DESKTOP_PATH, {
    name: RD,
    methods: { CreateSession: ['a{sv}', 'o'], SelectDevices: ['oa{sv}', 'o'], Start: ['osa{sv}', 'o'], NotifyKeyboardKeysym: ['oa{sv}iu', ''] },
    signals: {},
    properties: { version: 'u', AvailableDeviceTypes: 'u' },
  });
  return { bus, calls, behaviour, sessions, reset: impl.resetKeys };
}

const pipes = () => process.getActiveResourcesInfo().filter((r) => r === 'PipeWrap').length;
const keys = (items: Recorded[]) => items.flatMap((c) => (c.member === 'Key' ? [[c.keysym, c.state]] : []));

describe.skipIf(!dbusDaemonInstalled())('RemoteDesktopKeys (org.freedesktop.portal.RemoteDesktop on a private bus)', () => {
  let dbus: PrivateBus;
  let portal: Awaited<ReturnType<typeof fakePortal>>;
  let dir: string;
  const lines: string[] = [];
  const opened: RemoteDesktopKeys[] = [];
  const opts = (o: Partial<RemoteDesktopOptions> = {}): RemoteDesktopOptions => ({
    log: (l) => lines.push(l),
    tokenFile: join(dir, 'remote-desktop.token'),
    address: dbus.address,
    ...o,
  });
  const open = async (o: Partial<RemoteDesktopOptions> = {}) => {
    const k = await RemoteDesktopKeys.open(opts(o));
    opened.push(k);
    return k;
  };

  beforeAll(async () => {
    dbus = await startPrivateBus();
    portal = await fakePortal(dbus.address);
    dir = mkdtempSync(join(tmpdir(), 'prism-rd-'));
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((k) => k.close()));
    portal.calls.items.length = 0;
    portal.reset();
    lines.length = 0;
    Object.assign(portal.behaviour, { start: 0, nextToken: 'token-1', types: 7, failKeyAt: undefined });
    rmSync(join(dir, 'remote-desktop.token'), { force: true });
  });
  afterAll(async () => {
    await portal?.bus.close();
    await dbus?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('asks for the keyboard to persist until revoked, keeps the token (0600) and sends it back on the next open', async () => {
    const first = await open();
    expect(first.name).toBe('the RemoteDesktop portal (the desktop asked once)');
    const [create, select, start] = portal.calls.items;
    if (create?.member !== 'CreateSession' || select?.member !== 'SelectDevices' || start?.member !== 'Start') throw new Error('unexpected exchange');
    expect(create.options.get('handle_token')).toMatch(/^prism_[0-9a-f]{16}$/);
    expect(create.options.get('session_handle_token')).toMatch(/^prism_[0-9a-f]{16}$/);
    expect(select.session).toBe(portal.sessions.at(-1));
    expect(select.session).toBe(first.session);
    expect(select.options.get('types')).toBe(1);
    expect(select.options.get('persist_mode')).toBe(2);
    expect(select.options.has('restore_token')).toBe(false); // nothing saved yet: the dialog
    expect(start.session).toBe(first.session);
    expect(start.parent).toBe('');
    const file = join(dir, 'remote-desktop.token');
    expect(readFileSync(file, 'utf8').trim()).toBe('token-1');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await first.close();

    portal.calls.items.length = 0;
    portal.behaviour.nextToken = 'token-2';
    await open();
    const again = portal.calls.items.find((c) => c.member === 'SelectDevices');
    expect(again?.member === 'SelectDevices' && again.options.get('restore_token')).toBe('token-1');
    expect(again?.member === 'SelectDevices' && again.options.get('persist_mode')).toBe(2);
    expect(readFileSync(file, 'utf8').trim()).toBe('token-2'); // a token is good once: the new one is kept
    expect(lines.join('\n')).toMatch(/restored the permission/);
  });

  it('a saved token that is not ours (too long, several lines) is not sent', async () => {
    writeFileSync(join(dir, 'remote-desktop.token'), 'x'.repeat(600));
    await open();
    const select = portal.calls.items.find((c) => c.member === 'SelectDevices');
    expect(select?.member === 'SelectDevices' && select.options.has('restore_token')).toBe(false);
  });

  it('press(Ctrl+Shift+V): modifiers down, the key down and up, modifiers up in reverse', async () => {
    const k = await open();
    await k.press(combo('ctrl+shift+v'));
    expect(keys(portal.calls.items)).toEqual([
      [0xffe3, 1],
      [0xffe1, 1],
      [0x76, 1],
      [0x76, 0],
      [0xffe1, 0],
      [0xffe3, 0],
    ]);
    expect(portal.calls.items.every((c) => c.member !== 'Key' || c.session === k.session)).toBe(true);
  });

  it("type('hé ✓\\n') with anyCharacter: each character's keysym down then up, in order", async () => {
    const k = await open({ anyCharacter: true });
    await k.type('hé ✓\n');
    expect(keys(portal.calls.items)).toEqual(
      [0x68, 0xe9, 0x20, 0x01002713, 0xff0d].flatMap((s) => [
        [s, 1],
        [s, 0],
      ]),
    );
    await k.type('');
    expect(keys(portal.calls.items)).toHaveLength(10);
  });

  it('by default only printable ASCII, newline and tab are typed: anything else is refused before a key is sent (the desktop would drop it)', async () => {
    const k = await open();
    const e = (await k.type('ok hé ✓').catch((x: unknown) => x)) as WhisperError;
    expect(e).toBeInstanceOf(WhisperError);
    expect(e.code).toBe('PASTE_FAILED');
    expect(e.reason).toBe('not-typable');
    expect(e.message).toMatch(/"é" \(U\+00E9\)/);
    expect(keys(portal.calls.items)).toEqual([]);
    await k.type('Hi!\tx\r\n');
    expect(keys(portal.calls.items).map(([s]) => s)).toEqual([0x48, 0x48, 0x69, 0x69, 0x21, 0x21, 0xff09, 0xff09, 0x78, 0x78, 0xff0d, 0xff0d]);
  });

  it('a failure mid-way is PASTE_FAILED saying how much was typed; a failed chord lets its modifiers go', async () => {
    const k = await open();
    portal.behaviour.failKeyAt = 5; // the 3rd character's down
    const e = (await k.type('abcdef').catch((x: unknown) => x)) as WhisperError;
    expect(e).toBeInstanceOf(WhisperError);
    expect(e.code).toBe('PASTE_FAILED');
    expect(e.message).toMatch(/after 2 of 6 characters/);

    portal.reset();
    portal.calls.items.length = 0;
    portal.behaviour.failKeyAt = 3; // the key's down, after two modifiers
    await expect(k.press(combo('ctrl+shift+v'))).rejects.toMatchObject({ code: 'PASTE_FAILED', message: expect.stringMatching(/could not press ctrl\+shift\+v/) });
    expect(keys(portal.calls.items)).toEqual([
      [0xffe3, 1],
      [0xffe1, 1],
      [0xffe1, 0],
      [0xffe3, 0],
    ]); // no modifier stays held in the desktop
    await expect(k.type('x'.repeat(REMOTE_DESKTOP_MAX_CHARS + 1))).rejects.toMatchObject({ code: 'PASTE_FAILED', message: expect.stringMatching(/too long/) });
  });

  it('declined in the dialog (response 1): PASTE_FAILED "declined", the session closed, the spent token forgotten', async () => {
    writeFileSync(join(dir, 'remote-desktop.token'), 'old-token\n');
    portal.behaviour.start = 1;
    const e = (await open().catch((x: unknown) => x)) as WhisperError;
    expect(e).toBeInstanceOf(WhisperError);
    expect(e.code).toBe('PASTE_FAILED');
    expect(e.reason).toBe('declined');
    expect(e.message).toMatch(/declined/);
    expect(portal.calls.items.filter((c) => c.member === 'Session.Close').map((c) => c.member === 'Session.Close' && c.path)).toEqual([portal.sessions.at(-1)]);
    expect(() => statSync(join(dir, 'remote-desktop.token'))).toThrow();
  });

  it('a dialog nobody answers: the bound passes, the request and the session are closed', async () => {
    portal.behaviour.start = 'never';
    const e = (await open({ startTimeoutMs: 300 }).catch((x: unknown) => x)) as WhisperError;
    expect(e.reason).toBe('timeout');
    expect(e.message).toMatch(/did not answer within 0 s/);
    expect(portal.calls.items.map((c) => c.member)).toEqual(['CreateSession', 'SelectDevices', 'Start', 'Request.Close', 'Session.Close']);
  });

  it('a portal without the keyboard device type: "no-keyboard", and no session is created', async () => {
    portal.behaviour.types = 2;
    await expect(open()).rejects.toMatchObject({ code: 'PASTE_FAILED', reason: 'no-keyboard' });
    expect(await remoteDesktopAvailable({ address: dbus.address })).toEqual({ ok: false, why: expect.stringMatching(/no keyboard/) });
    expect(portal.calls.items).toEqual([]);
  });

  it('the availability probe asks no session (no dialog)', async () => {
    expect(await remoteDesktopAvailable({ address: dbus.address })).toEqual({ ok: true, version: 2 });
    expect(portal.calls.items).toEqual([]);
  });

  it('close() closes the session and the bus connection: no socket is left to keep the process alive', async () => {
    const before = pipes();
    const k = await RemoteDesktopKeys.open(opts());
    expect(pipes()).toBe(before + 1);
    await k.close();
    expect(portal.calls.items.filter((c) => c.member === 'Session.Close').map((c) => c.member === 'Session.Close' && c.path)).toEqual([k.session]);
    expect(pipes()).toBe(before);
    await k.close(); // idempotent
    await expect(k.type('a')).rejects.toMatchObject({ code: 'PASTE_FAILED' });
  });

  it('no RemoteDesktop interface, no portal, no bus: PASTE_FAILED naming which', async () => {
    await portal.bus.close();
    try {
      const other = await serviceOn(dbus.address, 'org.freedesktop.portal.Desktop');
      other.raw.exportInterface({ version: 2 }, DESKTOP_PATH, { name: 'org.freedesktop.portal.Settings', methods: {}, signals: {}, properties: { version: 'u' } });
      await expect(open()).rejects.toMatchObject({ code: 'PASTE_FAILED', reason: 'no-remote-desktop', message: expect.stringMatching(/no RemoteDesktop interface/) });
      await other.close();
      await expect(open()).rejects.toMatchObject({ code: 'PASTE_FAILED', reason: 'no-portal', message: expect.stringMatching(/no xdg-desktop-portal/) });
      expect(await remoteDesktopAvailable({ address: dbus.address })).toEqual({ ok: false, why: expect.stringMatching(/no xdg-desktop-portal/) });
      await expect(open({ address: 'unix:path=/nonexistent/prism-bus' })).rejects.toMatchObject({ code: 'PASTE_FAILED', reason: 'no-bus' });
    } finally {
      portal = await fakePortal(dbus.address);
    }
  });
});
