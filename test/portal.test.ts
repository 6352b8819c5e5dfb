/**
 * Push-to-talk through the GlobalShortcuts portal, against a fake org.freedesktop.portal.Desktop on a
 * private session bus: it records what the hotkey sends (CreateSession, BindShortcuts, Session.Close,
 * Request.Close) and answers as a desktop would (Response signals, Activated/Deactivated).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseCombo } from '../lib/config/keys.js';
import { WhisperError } from '../lib/errors.js';
import { readVarDict, SessionBus } from '../lib/host/desktop/dbus.js';
import { PortalHotkey, type PortalHotkeyOptions, portalShortcutsAvailable, portalTrigger } from '../lib/host/desktop/wayland/portal.js';
import { dbusDaemonInstalled, type PrivateBus, Recorder, serviceOn, startPrivateBus } from './dbusBus.js';

const DESKTOP_PATH = '/org/freedesktop/portal/desktop';
const GS = 'org.freedesktop.portal.GlobalShortcuts';
const combo = (text: string) => {
  const c = parseCombo(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
};

describe('portalTrigger (the shortcuts spec: CTRL ALT SHIFT LOGO + an xkbcommon keysym name)', () => {
  it('writes our combinations as the portal expects them', () => {
    expect(portalTrigger(combo('Meta+Alt+V'))).toBe('ALT+LOGO+v');
    expect(portalTrigger(combo('ctrl+shift+f9'))).toBe('CTRL+SHIFT+F9');
    expect(portalTrigger(combo('Ctrl+Enter'))).toBe('CTRL+Return');
    expect(portalTrigger(combo('super+pagedown'))).toBe('LOGO+Next'); // xkbcommon reads Next and Page_Down alike (one keysym)
    expect(portalTrigger(combo('F12'))).toBe('F12');
    expect(portalTrigger(combo('alt+7'))).toBe('ALT+7');
  });
});

type Recorded =
  | { member: 'CreateSession'; options: Map<string, unknown>; sender: string }
  | { member: 'BindShortcuts'; session: string; shortcuts: Array<[string, Map<string, unknown>]>; parent: string; options: Map<string, unknown> }
  | { member: 'Session.Close'; path: string }
  | { member: 'Request.Close'; path: string };

interface FakeBehaviour {
  /** Response code to BindShortcuts, or 'never' (no Response at all) */
  bind: number | 'never';
  /** whether the Response lists the bound shortcuts (KDE leaves them out) */
  listBound: boolean;
  /** bind answers with an empty list (the user unbound everything) */
  bindNothing?: boolean;
}

async function fakePortal(address: string) {
  const bus = await serviceOn(address, 'org.freedesktop.portal.Desktop');
  const calls = new Recorder<Recorded>();
  const behaviour: FakeBehaviour = { bind: 0, listBound: true };
  const sessions: string[] = [];
  const senderPart = (unique: string) => unique.replace(/^:/, '').replace(/\./g, '_');
  const respond = (path: string, code: number, results: unknown[]) => bus.raw.sendSignal(path, 'org.freedesktop.portal.Request', 'Response', 'ua{sv}', [code, results]);
  const exportRequest = (path: string) =>
    bus.raw.exportInterface({ Close: () => calls.push({ member: 'Request.Close', path }) }, path, {
      name: 'org.freedesktop.portal.Request',
      methods: { Close: ['', ''] },
      signals: { Response: ['ua{sv}'] },
    });
  const impl = {
    version: 1,
    CreateSession(options: unknown, msg: { sender: string }) {
      const o = readVarDict(options);
      calls.push({ member: 'CreateSession', options: o, sender: msg.sender });
      const request = `${DESKTOP_PATH}/request/${senderPart(msg.sender)}/${String(o.get('handle_token'))}`;
      const session = `${DESKTOP_PATH}/session/${senderPart(msg.sender)}/${String(o.get('session_handle_token'))}`;
      sessions.push(session);
      bus.raw.exportInterface({ Close: () => calls.push({ member: 'Session.Close', path: session }) }, session, {
        name: 'org.freedesktop.portal.Session',
        methods: { Close: ['', ''] },
        signals: { Closed: ['a{sv}'] },
      });
      // the Response goes out before the reply: a client that subscribed only after the call would miss it
      respond(request, 0, [['session_handle', ['s', session]]]);
      return request;
    },
    BindShortcuts(session: string, shortcuts: unknown, parent: string, options: unknown, msg: { sender: string }) {
      const o = readVarDict(options);
      const list = (shortcuts as Array<[string, unknown]>).map(([id, props]) => [id, readVarDict(props)] as [string, Map<string, unknown>]);
      calls.push({ member: 'BindShortcuts', session, shortcuts: list, parent, options: o });
      const request = `${DESKTOP_PATH}/request/${senderPart(msg.sender)}/${String(o.get('handle_token'))}`;
      exportRequest(request);
      if (behaviour.bind !== 'never') {
        const bound = behaviour.bindNothing
          ? []
          : list.map(([id, p]) => [
              id,
              [
                ['description', ['s', String(p.get('description'))]],
                ['trigger_description', ['s', 'Alt+Meta+V']],
              ],
            ]);
        const code = behaviour.bind;
        setImmediate(() => respond(request, code, code === 0 && behaviour.listBound ? [['shortcuts', ['a(sa{sv})', bound]]] : []));
      }
      return request;
    },
  };
  bus.raw.exportInterface(impl, DESKTOP_PATH, {
    name: GS,
    methods: { CreateSession: ['a{sv}', 'o'], BindShortcuts: ['oa(sa{sv})sa{sv}', 'o'] },
    signals: { Activated: ['osta{sv}'], Deactivated: ['osta{sv}'] },
    properties: { version: 'u' },
  });
  const signal = (member: 'Activated' | 'Deactivated', session: string, id = 'dictate', from = bus) =>
    from.raw.sendSignal(DESKTOP_PATH, GS, member, 'osta{sv}', [session, id, 1000, []]);
  return { bus, calls, behaviour, sessions, signal, closeSession: (s: string) => bus.raw.sendSignal(s, 'org.freedesktop.portal.Session', 'Closed', 'a{sv}', [[]]) };
}

/** Resolves once everything `from` sent before has been routed by the bus (a round trip through the daemon). */
const flushed = (from: SessionBus) => from.nameOwner('org.freedesktop.DBus');

const pipes = () => process.getActiveResourcesInfo().filter((r) => r === 'PipeWrap').length;

describe.skipIf(!dbusDaemonInstalled())('PortalHotkey (org.freedesktop.portal.GlobalShortcuts on a private bus)', () => {
  let dbus: PrivateBus;
  let portal: Awaited<ReturnType<typeof fakePortal>>;
  const lines: string[] = [];
  const events = new Recorder<'down' | 'up'>();
  const started: PortalHotkey[] = [];
  const opts = (o: Partial<PortalHotkeyOptions> = {}): PortalHotkeyOptions => ({ log: (l) => lines.push(l), address: dbus.address, ...o });
  const start = async (o: Partial<PortalHotkeyOptions> = {}, keys = 'Meta+Alt+V') => {
    const h = await PortalHotkey.start(
      combo(keys),
      keys,
      () => events.push('down'),
      () => events.push('up'),
      opts(o),
    );
    started.push(h);
    return h;
  };

  beforeAll(async () => {
    dbus = await startPrivateBus();
    portal = await fakePortal(dbus.address);
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((h) => h.stop()));
    portal.calls.items.length = 0;
    events.items.length = 0;
    lines.length = 0;
    Object.assign(portal.behaviour, { bind: 0, listBound: true, bindNothing: false });
  });
  afterAll(async () => {
    await portal?.bus.close();
    await dbus?.stop();
  });

  it('creates a session, binds "dictate" with our preferred trigger, and turns Activated/Deactivated into down/up', async () => {
    const h = await start();
    expect(h.releases).toBe(true);
    const [create, bind] = portal.calls.items;
    expect(create?.member).toBe('CreateSession');
    if (create?.member !== 'CreateSession' || bind?.member !== 'BindShortcuts') throw new Error('unexpected exchange');
    expect(create.options.get('handle_token')).toMatch(/^prism_[0-9a-f]{16}$/);
    expect(create.options.get('session_handle_token')).toMatch(/^prism_[0-9a-f]{16}$/);
    expect(bind.session).toBe(h.session);
    expect(bind.session).toBe(portal.sessions.at(-1));
    expect(bind.parent).toBe('');
    expect(bind.shortcuts).toHaveLength(1);
    const [id, props] = bind.shortcuts[0] as [string, Map<string, unknown>];
    expect(id).toBe('dictate');
    expect(props.get('preferred_trigger')).toBe('ALT+LOGO+v');
    expect(props.get('description')).toMatch(/dictat/i);
    expect(bind.options.get('handle_token')).toMatch(/^prism_/);
    expect(bind.options.get('handle_token')).not.toBe(create.options.get('handle_token'));
    expect(h.trigger).toBe('Alt+Meta+V'); // as the desktop describes it
    expect(h.via).toContain('GlobalShortcuts');

    portal.signal('Activated', h.session);
    await events.when((e) => e.length === 1);
    portal.signal('Activated', h.session); // a repeat is not a second press
    portal.signal('Deactivated', h.session);
    await events.when((e) => e.length === 2);
    portal.signal('Activated', h.session);
    portal.signal('Deactivated', h.session);
    await events.when((e) => e.length === 4);
    expect(events.items).toEqual(['down', 'up', 'down', 'up']);
  });

  it('ignores other sessions, other shortcut ids and other senders', async () => {
    const h = await start();
    const impostor = await SessionBus.connect({ address: dbus.address });
    try {
      portal.signal('Activated', '/org/freedesktop/portal/desktop/session/1_99/other');
      portal.signal('Activated', h.session, 'something-else');
      portal.signal('Activated', h.session, 'dictate', impostor);
      await flushed(impostor);
      portal.signal('Activated', h.session);
      await events.when((e) => e.length === 1);
      portal.signal('Deactivated', h.session, 'dictate', impostor);
      await flushed(impostor);
      portal.signal('Deactivated', h.session);
      await events.when((e) => e.length === 2);
      expect(events.items).toEqual(['down', 'up']);
    } finally {
      await impostor.close();
    }
  });

  it('doctor can ask whether the portal offers GlobalShortcuts without creating a session (no dialog)', async () => {
    expect(await portalShortcutsAvailable({ address: dbus.address })).toEqual({ ok: true, version: 1 });
    expect(portal.calls.items).toEqual([]);
  });

  it('a desktop that leaves the bound list out of its answer (KDE) still binds', async () => {
    portal.behaviour.listBound = false;
    const h = await start({}, 'ctrl+shift+f9');
    const bind = portal.calls.items.find((c) => c.member === 'BindShortcuts');
    expect(bind?.member === 'BindShortcuts' && bind.shortcuts[0]?.[1].get('preferred_trigger')).toBe('CTRL+SHIFT+F9');
    expect(h.trigger).toBe('CTRL+SHIFT+F9');
  });

  it.each([
    [1, /declined/],
    [2, /did not bind .*ended by the desktop/],
  ])('a BindShortcuts answer %i is HOTKEY_UNAVAILABLE, and the session is closed', async (code, why) => {
    portal.behaviour.bind = code;
    const e = await start().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WhisperError);
    expect((e as WhisperError).code).toBe('HOTKEY_UNAVAILABLE');
    expect((e as Error).message).toMatch(why);
    expect(portal.calls.items.filter((c) => c.member === 'Session.Close').map((c) => c.member === 'Session.Close' && c.path)).toEqual([portal.sessions.at(-1)]);
  });

  it('a bind that leaves our shortcut out is HOTKEY_UNAVAILABLE', async () => {
    portal.behaviour.bindNothing = true;
    await expect(start()).rejects.toMatchObject({ code: 'HOTKEY_UNAVAILABLE', message: expect.stringMatching(/bound no key/) });
  });

  it('a dialog nobody answers: the bound passes, the request is closed (the dialog goes away) and the session too', async () => {
    portal.behaviour.bind = 'never';
    const e = (await start({ bindTimeoutMs: 300 }).catch((x: unknown) => x)) as WhisperError;
    expect(e.code).toBe('HOTKEY_UNAVAILABLE');
    expect(e.message).toMatch(/did not answer within 0 s .*restart the daemon/);
    const members = portal.calls.items.map((c) => c.member);
    expect(members).toEqual(['CreateSession', 'BindShortcuts', 'Request.Close', 'Session.Close']);
  });

  it('stop() closes the session and the bus connection: no socket is left to keep the process alive', async () => {
    const before = pipes();
    const h = await PortalHotkey.start(
      combo('Meta+Alt+V'),
      'Meta+Alt+V',
      () => events.push('down'),
      () => events.push('up'),
      opts(),
    );
    expect(pipes()).toBe(before + 1);
    portal.signal('Activated', h.session);
    await events.when((e) => e.length === 1);
    await h.stop();
    expect(events.items).toEqual(['down', 'up']); // a key held at stop counts as released
    expect(portal.calls.items.filter((c) => c.member === 'Session.Close').map((c) => c.member === 'Session.Close' && c.path)).toEqual([h.session]);
    expect(pipes()).toBe(before);
    await h.stop(); // idempotent
  });

  it('the desktop closing the session releases a held key and says so', async () => {
    const h = await start();
    portal.signal('Activated', h.session);
    await events.when((e) => e.length === 1);
    portal.closeSession(h.session);
    await events.when((e) => e.length === 2);
    expect(events.items).toEqual(['down', 'up']);
    expect(lines.join('\n')).toMatch(/closed the portal shortcut session/);
  });

  it('a portal without GlobalShortcuts, no portal, no bus: HOTKEY_UNAVAILABLE naming which', async () => {
    await portal.bus.close();
    try {
      const other = await serviceOn(dbus.address, 'org.freedesktop.portal.Desktop');
      other.raw.exportInterface({ version: 2 }, DESKTOP_PATH, { name: 'org.freedesktop.portal.Settings', methods: {}, signals: {}, properties: { version: 'u' } });
      await expect(start()).rejects.toMatchObject({ code: 'HOTKEY_UNAVAILABLE', message: expect.stringMatching(/no GlobalShortcuts interface/) });
      expect(await portalShortcutsAvailable({ address: dbus.address })).toEqual({ ok: false, why: expect.stringMatching(/no GlobalShortcuts interface/) });
      await other.close();
      await expect(start()).rejects.toMatchObject({ code: 'HOTKEY_UNAVAILABLE', message: expect.stringMatching(/no xdg-desktop-portal/) });
      expect(await portalShortcutsAvailable({ address: dbus.address })).toEqual({ ok: false, why: expect.stringMatching(/no xdg-desktop-portal/) });
      await expect(start({ address: 'unix:path=/nonexistent/prism-bus' })).rejects.toMatchObject({
        code: 'HOTKEY_UNAVAILABLE',
        message: expect.stringMatching(/cannot connect to the session bus/),
      });
      await expect(start({ address: '' })).rejects.toMatchObject({ code: 'HOTKEY_UNAVAILABLE' });
    } finally {
      portal = await fakePortal(dbus.address);
    }
  });
});
