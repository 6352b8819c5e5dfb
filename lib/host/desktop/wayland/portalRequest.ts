/**
 * The xdg-desktop-portal request pattern both portal clients use (GlobalShortcuts, RemoteDesktop): a
 * method that answers later with a Response signal on a Request object.
 */
import { randomBytes } from 'node:crypto';
import { BusError, readVarDict, type SessionBus, type VarDictIn } from '../dbus.js';

export const DESKTOP = { destination: 'org.freedesktop.portal.Desktop', path: '/org/freedesktop/portal/desktop' };
export const REQUEST = 'org.freedesktop.portal.Request';

export type Answer = { code: number; results: Map<string, unknown> };

/** a handle or session token: unique, and only characters a D-Bus path element may hold */
export const token = () => `prism_${randomBytes(8).toString('hex')}`;

/** The portal took a request but sent no Response in time. */
export class NoAnswer extends Error {
  override readonly name = 'NoAnswer';
}

/**
 * One portal request: subscribe to the Response of the path the portal will use, call, and wait for the
 * answer (bounded; on timeout the request is closed, which dismisses its dialog).
 */
export async function portalRequest(
  bus: SessionBus,
  r: { interface: string; owner: string; sender: string; method: string; signature: string; args: unknown[]; options: VarDictIn; callTimeoutMs: number; timeoutMs: number },
): Promise<Answer> {
  const handleToken = token();
  const expected = `${DESKTOP.path}/request/${r.sender}/${handleToken}`;
  let answer: (body: unknown[]) => void = () => undefined;
  const answered = new Promise<unknown[]>((resolve) => (answer = resolve));
  const unsubscribe = [await bus.subscribe({ path: expected, interface: REQUEST, member: 'Response', sender: r.owner }, answer)];
  let handle = expected;
  let timer: NodeJS.Timeout | undefined;
  try {
    const [h] = await bus.call({
      ...DESKTOP,
      interface: r.interface,
      member: r.method,
      signature: r.signature,
      body: [...r.args, [['handle_token', ['s', handleToken]], ...r.options]],
      timeoutMs: r.callTimeoutMs,
    });
    if (typeof h === 'string' && h !== expected) {
      // a portal older than 0.9 chose its own path: follow it, as the Request documentation advises
      handle = h;
      unsubscribe.push(await bus.subscribe({ path: h, interface: REQUEST, member: 'Response', sender: r.owner }, answer));
    }
    const ended = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NoAnswer(`the portal did not answer ${r.method} within ${Math.round(r.timeoutMs / 1000)} s`)), r.timeoutMs);
      unsubscribe.push(bus.onClose((why) => reject(new BusError('closed', why))));
    });
    const body = await Promise.race([answered, ended]);
    return { code: typeof body[0] === 'number' ? body[0] : 2, results: readVarDict(body[1]) };
  } catch (e) {
    if (e instanceof NoAnswer) await bus.call({ ...DESKTOP, path: handle, interface: REQUEST, member: 'Close', timeoutMs: 2000 }).catch(() => undefined);
    throw e;
  } finally {
    clearTimeout(timer);
    for (const u of unsubscribe) u();
  }
}
