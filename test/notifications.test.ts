/**
 * The visible state as one notification replaced in place, against a fake notification server exported
 * on a private session bus: the exchanges it records are the assertions.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { abstractSocketsWork, parseBusAddress, readVarDict, SessionBus } from '../lib/host/desktop/dbus.js';
import { NotificationView, notificationSender } from '../lib/host/desktop/notifications.js';
import { notifier } from '../lib/host/notify.js';
import { dbusDaemonInstalled, type PrivateBus, Recorder, serviceOn, startPrivateBus } from './dbusBus.js';

interface Notified {
  member: 'Notify';
  app: string;
  replaces: number;
  icon: string;
  summary: string;
  body: string;
  hints: Map<string, unknown>;
  expire: number;
  /** the id the server answered */
  id: number;
}
type Call = Notified | { member: 'CloseNotification'; id: number } | { member: 'GetServerInformation' };

/** A notification server: ids from 41, replaces_id honoured; `hold` makes Notify answer only when released. */
async function fakeServer(address: string) {
  const bus = await serviceOn(address, 'org.freedesktop.Notifications');
  const calls = new Recorder<Call>();
  let nextId = 40;
  let gate: Promise<void> | undefined;
  let open: () => void = () => undefined;
  let failNotify = false;
  const impl = {
    GetServerInformation: () => {
      calls.push({ member: 'GetServerInformation' });
      return ['fake-notifyd', 'prism tests', '1.0', '1.2'];
    },
    GetCapabilities: () => ['body'],
    Notify: async (app: string, replaces: number, icon: string, summary: string, body: string, _actions: unknown, hints: unknown, expire: number) => {
      const fail = failNotify;
      const id = fail ? 0 : replaces || ++nextId;
      calls.push({ member: 'Notify', app, replaces, icon, summary, body, hints: readVarDict(hints), expire, id });
      if (gate) await gate;
      if (fail) return Object.assign(new Error('server is sulking'), { dbusName: 'org.freedesktop.Notifications.Error.Sulking' });
      return id;
    },
    CloseNotification: (id: number) => {
      calls.push({ member: 'CloseNotification', id });
    },
  };
  bus.raw.exportInterface(impl, '/org/freedesktop/Notifications', {
    name: 'org.freedesktop.Notifications',
    methods: { GetServerInformation: ['', 'ssss'], GetCapabilities: ['', 'as'], Notify: ['susssasa{sv}i', 'u'], CloseNotification: ['u', ''] },
    signals: {},
  });
  return {
    bus,
    calls,
    notifies: () => calls.items.filter((c): c is Notified => c.member === 'Notify'),
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      gate = undefined;
      open();
    },
    failNotify(on: boolean) {
      failNotify = on;
    },
  };
}

describe('the session bus address', () => {
  it('takes the first unix path or abstract socket, unescaped, and says why when there is none', () => {
    expect(parseBusAddress('unix:path=/run/user/1000/bus')).toEqual({ path: '/run/user/1000/bus' });
    expect(parseBusAddress('unix:abstract=/tmp/dbus-XyZ,guid=0123abcd', '1.48.0')).toEqual({ path: '\0/tmp/dbus-XyZ' });
    // libuv before 1.48 (Node 20) pads an abstract name to the whole sun_path: it cannot reach dbus-daemon's
    expect(parseBusAddress('unix:abstract=/tmp/dbus-XyZ,guid=0123abcd', '1.46.0')).toMatch(/abstract socket .*cannot reach; Node 22 can/);
    expect(parseBusAddress('unix:abstract=/tmp/dbus-XyZ;unix:path=/run/user/1000/bus', '1.46.0')).toEqual({ path: '/run/user/1000/bus' });
    expect(parseBusAddress('tcp:host=localhost,port=1;unix:path=/tmp/with%20space%c3%bc')).toEqual({ path: '/tmp/with spaceü' });
    expect(parseBusAddress(undefined)).toMatch(/not set/);
    expect(parseBusAddress('tcp:host=localhost,port=1')).toMatch(/no unix socket/);
  });

  it.skipIf(!dbusDaemonInstalled())('an abstract socket (what dbus-launch and unix:tmpdir give): connects where libuv can, else says why at once', async () => {
    const bus = await startPrivateBus({ abstract: true });
    try {
      expect(bus.address).toMatch(/^unix:abstract=/);
      if (abstractSocketsWork()) {
        const c = await SessionBus.connect({ address: bus.address });
        expect(c.uniqueName).toMatch(/^:1\.\d+$/);
        await c.close();
      } else await expect(SessionBus.connect({ address: bus.address })).rejects.toMatchObject({ kind: 'no-bus', message: expect.stringMatching(/abstract socket/) });
    } finally {
      await bus.stop();
    }
  });
});

describe.skipIf(!dbusDaemonInstalled())('NotificationView (org.freedesktop.Notifications on a private bus)', () => {
  let dbus: PrivateBus;
  let server: Awaited<ReturnType<typeof fakeServer>>;
  const views: NotificationView[] = [];
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);

  beforeAll(async () => {
    dbus = await startPrivateBus();
    server = await fakeServer(dbus.address);
  });
  afterEach(async () => {
    await Promise.all(views.splice(0).map((v) => v.close()));
    server.calls.items.length = 0;
    lines.length = 0;
  });
  afterAll(async () => {
    await server?.bus.close();
    await dbus?.stop();
  });

  async function open(o: { finalExpireMs?: number; pasteLabel?: string } = {}): Promise<NotificationView> {
    const v = await NotificationView.open({ log, address: dbus.address, ...o });
    if (!v) throw new Error(`no view: ${lines.join('; ')}`);
    views.push(v);
    return v;
  }
  /** Shows a state and waits until the server has it. */
  async function step(v: NotificationView, state: Parameters<NotificationView['show']>[0], label?: string): Promise<Notified> {
    const before = server.notifies().length;
    v.show(state, label);
    await server.calls.when(() => server.notifies().length > before);
    return server.notifies()[before] as Notified;
  }

  it('replaces one notification in place: listening → transcribing → pasted, the final one expiring', async () => {
    const v = await open({ finalExpireMs: 3500 });
    expect(v.server).toBe('fake-notifyd 1.0');
    const a = await step(v, 'listening', 'hands-free');
    const b = await step(v, 'transcribing', 'transcribing...');
    const c = await step(v, 'pasted', 'pasted 42 characters');
    expect([a.replaces, b.replaces, c.replaces]).toEqual([0, a.id, a.id]);
    expect(a.id).toBeGreaterThan(0);
    expect([a.expire, b.expire, c.expire]).toEqual([0, 0, 3500]);
    expect([a.summary, b.summary, c.summary]).toEqual(['Listening…', 'Transcribing…', 'Pasted']);
    expect([a.body, c.body]).toEqual(['hands-free', 'pasted 42 characters']);
    for (const n of [a, b, c]) {
      expect(n.app).toBe('prism-dictate');
      expect(n.hints.get('urgency')).toBe(1); // normal: GNOME shows no banner for low
      expect(n.hints.get('transient')).toBeTruthy();
      expect(n.hints.get('x-canonical-private-synchronous')).toBe('prism-dictate');
      expect(n.hints.get('synchronous')).toBe('prism-dictate');
    }
    // the next dictation replaces the same notification
    expect((await step(v, 'listening', 'listening')).replaces).toBe(a.id);
  });

  it('a copied dictation says press Ctrl+V and stays in the history; no speech and errors expire too', async () => {
    const v = await open();
    await step(v, 'listening');
    const copied = await step(v, 'pasted', 'copied 17 characters');
    expect(copied.summary).toBe('Copied — press Ctrl+V');
    expect(copied.body).toBe('copied 17 characters');
    expect(copied.hints.get('transient')).toBeFalsy();
    expect(copied.expire).toBe(4000);
    const none = await step(v, 'no-speech', 'no speech');
    expect([none.summary, none.expire, none.replaces]).toEqual(['No speech heard', 4000, copied.replaces]);
    const failed = await step(v, 'error', 'not delivered');
    expect([failed.summary, failed.body, failed.expire]).toEqual(['Dictation failed', 'not delivered', 4000]);
  });

  it("a copied dictation names the daemon's paste chord (a terminal's Ctrl+Shift+V), and the view says it is a notification itself", async () => {
    const v = await open({ pasteLabel: 'Ctrl+Shift+V' });
    expect(v.notifies).toBe(true); // the host sends no second "copied" bubble beside it
    expect((await step(v, 'pasted', 'copied 17 characters')).summary).toBe('Copied — press Ctrl+Shift+V');
  });

  it('coalesces changes while a Notify is in flight: at most one at a time, the latest state wins', async () => {
    const v = await open();
    server.hold();
    v.show('listening', 'listening');
    await server.calls.when(() => server.notifies().length === 1);
    v.show('transcribing');
    v.show('pasted', 'pasted 5 characters');
    // nothing more goes out while the first is unanswered
    expect(server.notifies()).toHaveLength(1);
    server.release();
    await server.calls.when(() => server.notifies().length === 2);
    await v.close(); // waits for what is in flight
    expect(server.notifies().map((n) => n.summary)).toEqual(['Listening…', 'Pasted']);
    const [first, last] = server.notifies();
    expect(last?.replaces).toBe(first?.id);
  });

  it('close() removes an active notification and leaves a final one to expire; level() sends nothing', async () => {
    const v = await open();
    const first = await step(v, 'listening');
    v.level(0.5);
    v.level(0.9);
    await v.close();
    expect(server.calls.items.filter((c) => c.member !== 'GetServerInformation')).toEqual([first, { member: 'CloseNotification', id: first.id }]);

    server.calls.items.length = 0;
    const w = await open();
    await step(w, 'pasted', 'pasted 3 characters');
    await w.close();
    expect(server.calls.items.map((c) => c.member)).toEqual(['GetServerInformation', 'Notify']);
    w.show('listening'); // after close: ignored, no throw
    expect(server.calls.items).toHaveLength(2);
  });

  it('a server that fails Notify is a log line, never an exception, and the next state still goes out', async () => {
    const v = await open();
    server.failNotify(true);
    expect(() => v.show('listening')).not.toThrow();
    await server.calls.when(() => server.notifies().length === 1);
    v.show('transcribing');
    await server.calls.when(() => server.notifies().length === 2);
    server.failNotify(false);
    const ok = await step(v, 'pasted', 'pasted 1 characters');
    expect(ok.replaces).toBe(0); // no id was ever given: a fresh notification
    await v.close();
    expect(lines.filter((l) => l.includes('Sulking'))).toHaveLength(1); // one line per run of failures
  });

  it('open() is undefined, with the reason, when no notification server is on the bus or there is no bus', async () => {
    await server.bus.close();
    try {
      expect(await NotificationView.open({ log, address: dbus.address })).toBeUndefined();
      expect(lines.join('\n')).toMatch(/no notification server .*ServiceUnknown/);
      lines.length = 0;
      expect(await NotificationView.open({ log, address: 'unix:path=/nonexistent/prism-bus' })).toBeUndefined();
      expect(lines.join('\n')).toMatch(/cannot connect to the session bus/);
      lines.length = 0;
      expect(await NotificationView.open({ log, address: 'tcp:host=localhost,port=1' })).toBeUndefined();
      expect(lines.join('\n')).toMatch(/no unix socket/);
    } finally {
      server = await fakeServer(dbus.address);
    }
  });

  it('one-off messages go to the same server as separate notifications; false without one', async () => {
    const send = notificationSender({ address: dbus.address });
    expect(await send('copied — press Ctrl+V')).toBe(true);
    const [n] = server.notifies();
    expect([n?.app, n?.replaces, n?.body, n?.expire]).toEqual(['prism-dictate', 0, 'copied — press Ctrl+V', -1]);
    expect(await notificationSender({ address: 'unix:path=/nonexistent/prism-bus' })('hello')).toBe(false);
  });

  it("notifier() (the daemon's one-off messages) uses the session bus's notification server", async () => {
    const saved = process.env.DBUS_SESSION_BUS_ADDRESS;
    process.env.DBUS_SESSION_BUS_ADDRESS = dbus.address;
    try {
      const logged: string[] = [];
      notifier(true, (l) => logged.push(l))('the microphone went away');
      await server.calls.when(() => server.notifies().length === 1);
      expect(server.notifies()[0]?.body).toBe('the microphone went away');
      expect(logged).toEqual(['the microphone went away']);
    } finally {
      if (saved === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
      else process.env.DBUS_SESSION_BUS_ADDRESS = saved;
    }
  });
});
