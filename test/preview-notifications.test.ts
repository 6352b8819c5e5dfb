/**
 * The live preview on Wayland (issue 28, item 2): the listening notification's body follows the live
 * text, replaced in place and throttled, against a fake notification server on a private session bus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVarDict } from '../lib/host/desktop/dbus.js';
import { liveBody, NotificationView } from '../lib/host/desktop/notifications.js';
import { dbusDaemonInstalled, type PrivateBus, Recorder, serviceOn, startPrivateBus } from './dbusBus.js';

interface Notified {
  replaces: number;
  summary: string;
  body: string;
  id: number;
}

async function fakeServer(address: string) {
  const bus = await serviceOn(address, 'org.freedesktop.Notifications');
  const calls = new Recorder<Notified>();
  let nextId = 40;
  bus.raw.exportInterface(
    {
      GetServerInformation: () => ['fake-notifyd', 'prism tests', '1.0', '1.2'],
      GetCapabilities: () => ['body'],
      Notify: (_app: string, replaces: number, _icon: string, summary: string, body: string, _a: unknown, hints: unknown) => {
        readVarDict(hints);
        const id = replaces || ++nextId;
        calls.push({ replaces, summary, body, id });
        return id;
      },
      CloseNotification: () => undefined,
    },
    '/org/freedesktop/Notifications',
    {
      name: 'org.freedesktop.Notifications',
      methods: { GetServerInformation: ['', 'ssss'], GetCapabilities: ['', 'as'], Notify: ['susssasa{sv}i', 'u'], CloseNotification: ['u', ''] },
      signals: {},
    },
  );
  return { bus, calls };
}

describe.skipIf(!dbusDaemonInstalled())('the live text in the Wayland notification', () => {
  let dbus: PrivateBus;
  let server: Awaited<ReturnType<typeof fakeServer>>;
  beforeAll(async () => {
    dbus = await startPrivateBus();
    server = await fakeServer(dbus.address);
  });
  afterAll(async () => {
    await server?.bus.close();
    await dbus?.stop();
  });

  it('the body follows the live text in place, at most every liveIntervalMs (the newest text wins); transcribing keeps it, a final state and the next dictation drop it', async () => {
    const v = await NotificationView.open({ log: () => {}, address: dbus.address, liveIntervalMs: 300 });
    if (!v) throw new Error('no view');
    const n = () => server.calls.items.length;
    const last = () => server.calls.items.at(-1) as Notified;
    v.show('listening', 'listening');
    await server.calls.when((c) => c.length === 1);
    const id = last().id;
    expect(last().body).toBe('');
    v.live('Please call', 'me');
    await server.calls.when((c) => c.length === 2);
    expect(last()).toMatchObject({ replaces: id, summary: 'Listening…', body: 'Please call me' });
    // a burst of updates inside the interval: one more notification, with the newest text
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) v.live('Please call me back', `after lunch ${i}`);
    await server.calls.when((c) => c.length === 3);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect(last()).toMatchObject({ replaces: id, body: 'Please call me back after lunch 19' });
    await new Promise((r) => setTimeout(r, 400));
    expect(n()).toBe(3); // nothing more came
    v.show('transcribing', 'transcribing...');
    await server.calls.when((c) => c.length === 4);
    expect(last()).toMatchObject({ summary: 'Transcribing…', body: 'Please call me back after lunch 19' });
    v.show('pasted', 'pasted 35 characters');
    await server.calls.when((c) => c.length === 5);
    expect(last()).toMatchObject({ summary: 'Pasted', body: 'pasted 35 characters' });
    v.show('listening', 'listening');
    await server.calls.when((c) => c.length === 6);
    expect(last()).toMatchObject({ replaces: id, body: '' });
    await v.close();
  });

  it('a long dictation: the body is the end of it, newest words last', () => {
    const long = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
    const body = liveBody(long, 'the tail');
    expect(body.startsWith('…')).toBe(true);
    expect(body.endsWith('word79 the tail')).toBe(true);
    expect(body.length).toBeLessThanOrEqual(161);
    expect(liveBody('', '')).toBe('');
  });
});
