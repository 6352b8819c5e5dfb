/**
 * One connection to the D-Bus session bus (npm `@homebridge/dbus-native`, pure JavaScript), for the
 * portal hotkey and the notification view: the bus from DBUS_SESSION_BUS_ADDRESS (unix path or abstract
 * socket), a bounded connect, promise method calls that each end (reply, error, timeout or the connection
 * closing: never a callback that stays pending), signal subscriptions filtered by sender, and a close
 * that releases the socket so the process can exit. Every failure is a BusError with a `kind`; nothing is
 * thrown into the event loop.
 */
import { createRequire } from 'node:module';
import { connect as netConnect, type Socket } from 'node:net';

const require = createRequire(import.meta.url);

/** 'no-bus': no usable address; 'connect': the socket or the handshake failed; 'timeout': no answer in time; 'call': the peer answered with an error (`dbusName`); 'closed': the connection is gone. */
export type BusErrorKind = 'no-bus' | 'connect' | 'timeout' | 'call' | 'closed';

export class BusError extends Error {
  override readonly name = 'BusError';
  constructor(
    readonly kind: BusErrorKind,
    message: string,
    /** the D-Bus error name of a 'call' error, e.g. org.freedesktop.DBus.Error.ServiceUnknown */
    readonly dbusName?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A D-Bus variant as the library writes it: [signature, value]. */
export type Variant = [signature: string, value: unknown];
/** An `a{sv}` to send. */
export type VarDictIn = [string, Variant][];

interface RawMessage {
  type?: number;
  serial?: number;
  path?: string;
  interface?: string;
  member?: string;
  destination?: string;
  sender?: string;
  signature?: string;
  body?: unknown[];
}
interface RawConnection {
  on(event: 'connect' | 'end', fn: () => void): unknown;
  on(event: 'error', fn: (e: Error) => void): unknown;
  on(event: 'message', fn: (m: RawMessage) => void): unknown;
  removeListener(event: 'message', fn: (m: RawMessage) => void): unknown;
}
type ReplyCallback = (err: { name?: string; message?: string } | null | undefined, ...values: unknown[]) => void;
/** The part of the library's MessageBus this file uses (its index.d.ts types little of it). */
export interface RawBus {
  connection: RawConnection;
  name?: string;
  cookies: Record<number, unknown>;
  invoke(msg: RawMessage, cb: ReplyCallback): void;
  invokeDbus(msg: RawMessage, cb: ReplyCallback): void;
  exportInterface(
    obj: object,
    path: string,
    iface: { name: string; methods: Record<string, [string, string, ...unknown[]]>; signals: Record<string, [string, ...unknown[]]>; properties?: Record<string, string> },
  ): void;
  requestName(name: string, flags: number, cb: (err: unknown, code?: number) => void): void;
  sendSignal(path: string, iface: string, name: string, signature: string, args: unknown[]): void;
}
interface DbusModule {
  createClient(opts: { stream: Socket; authMethods?: string[] }): RawBus;
}

const SIGNAL = 4;
const DBUS = { destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus' };

/** Whether this Node's libuv connects to Linux abstract sockets by their exact name (1.48 fixed the length; Node 20 has 1.46). */
export function abstractSocketsWork(uv = process.versions.uv ?? '0'): boolean {
  const [major = 0, minor = 0] = uv.split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 48);
}

/** Where the session bus listens: the first unix address (path, or abstract where this Node can reach one) in a D-Bus address list. */
export function parseBusAddress(address: string | undefined, uv = process.versions.uv): { path: string } | string {
  if (!address) return 'DBUS_SESSION_BUS_ADDRESS is not set (no session bus: start the daemon from the desktop session)';
  // values escape bytes as %xx (UTF-8); the spec's "optionally escaped" characters pass as they are
  const unquote = (v: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  };
  let abstractOnly: string | undefined;
  for (const entry of address.split(';')) {
    const colon = entry.indexOf(':');
    if (colon < 0 || entry.slice(0, colon) !== 'unix') continue;
    const params = new Map(
      entry
        .slice(colon + 1)
        .split(',')
        .map((kv) => {
          const eq = kv.indexOf('=');
          return [kv.slice(0, eq), unquote(kv.slice(eq + 1))] as const;
        }),
    );
    const path = params.get('path');
    if (path) return { path };
    const abstract = params.get('abstract');
    if (abstract && abstractSocketsWork(uv)) return { path: `\0${abstract}` }; // Node connects to Linux abstract sockets by a leading NUL
    if (abstract) abstractOnly ??= abstract;
  }
  if (abstractOnly)
    return `the session bus is on an abstract socket (DBUS_SESSION_BUS_ADDRESS=unix:abstract=${abstractOnly.slice(0, 100)}, as dbus-launch gives), which Node ${process.versions.node} (libuv ${uv}) cannot reach; Node 22 can, and so can a systemd user session's bus (unix:path=/run/user/UID/bus)`;
  return `no unix socket in DBUS_SESSION_BUS_ADDRESS "${address.slice(0, 200)}"`;
}

export interface ConnectOptions {
  /** default: DBUS_SESSION_BUS_ADDRESS */
  address?: string;
  /** connect + authenticate + Hello (default 5 s: a local socket answers in milliseconds) */
  timeoutMs?: number;
  /** don't let this connection alone keep the process alive */
  unref?: boolean;
}

export interface CallOptions {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
  /** default 10 s (a D-Bus-activated service may need a few seconds to start) */
  timeoutMs?: number;
}

export interface SignalMatch {
  path: string;
  interface: string;
  member: string;
  /** the unique name (":1.42") the signal must come from; other senders are ignored */
  sender?: string;
}

export class SessionBus {
  private readonly pending = new Set<(e: BusError) => void>();
  private readonly closeListeners = new Set<(why: string) => void>();
  private closedWhy: string | undefined;

  private constructor(
    /** the library's bus (tests export fake services through it) */
    readonly raw: RawBus,
    private readonly socket: Socket,
    /** our unique name on the bus (":1.42") */
    readonly uniqueName: string,
  ) {
    raw.connection.on('error', (e) => this.lost(`the session bus connection failed: ${e.message}`));
    raw.connection.on('end', () => this.lost('the session bus closed the connection'));
    socket.on('close', () => this.lost('the session bus connection closed'));
  }

  /** Connects to the session bus; rejects with a BusError saying why (no address, refused, no answer in time). */
  static connect(o: ConnectOptions = {}): Promise<SessionBus> {
    const where = parseBusAddress(o.address ?? process.env.DBUS_SESSION_BUS_ADDRESS);
    if (typeof where === 'string') return Promise.reject(new BusError('no-bus', where));
    const dbus = require('@homebridge/dbus-native') as DbusModule;
    const timeoutMs = o.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = netConnect(where.path);
      let settled = false;
      const fail = (e: BusError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(new BusError('timeout', `the session bus did not answer within ${timeoutMs} ms`)), timeoutMs);
      socket.on('error', (e) => fail(new BusError('connect', `cannot connect to the session bus: ${e.message}`, undefined, { cause: e })));
      socket.on('close', () => fail(new BusError('connect', 'the session bus closed the connection during the handshake')));
      const raw = dbus.createClient({ stream: socket });
      raw.connection.on('error', (e) => fail(new BusError('connect', `session bus handshake failed: ${e.message}`, undefined, { cause: e })));
      // Hello went out first (the library sends it on creation); a GetId answered after it means our unique name is known.
      raw.invokeDbus({ member: 'GetId' }, (err) => {
        if (settled) return;
        if (err || !raw.name) return fail(new BusError('connect', `the session bus refused us: ${err?.message ?? 'no unique name'}`));
        settled = true;
        clearTimeout(timer);
        if (o.unref) socket.unref();
        resolve(new SessionBus(raw, socket, raw.name));
      });
    });
  }

  get closed(): boolean {
    return this.closedWhy !== undefined;
  }

  /** `fn` is called once when the connection goes away for any reason but close(); returns the function that removes it. */
  onClose(fn: (why: string) => void): () => void {
    this.closeListeners.add(fn);
    return () => this.closeListeners.delete(fn);
  }

  /** A method call; resolves with the reply's values, rejects with a BusError. */
  call(o: CallOptions): Promise<unknown[]> {
    if (this.closedWhy) return Promise.reject(new BusError('closed', `${o.member}: ${this.closedWhy}`));
    const timeoutMs = o.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const msg: RawMessage = { destination: o.destination, path: o.path, interface: o.interface, member: o.member };
      if (o.signature) {
        msg.signature = o.signature;
        msg.body = o.body ?? [];
      }
      const end = (e: BusError) => {
        clearTimeout(timer);
        this.pending.delete(end);
        if (msg.serial !== undefined) delete this.raw.cookies[msg.serial];
        reject(e);
      };
      const timer = setTimeout(() => end(new BusError('timeout', `${o.destination} did not answer ${o.member} within ${timeoutMs} ms`)), timeoutMs);
      this.pending.add(end);
      try {
        this.raw.invoke(msg, (err, ...values) => {
          clearTimeout(timer);
          this.pending.delete(end);
          if (err) reject(new BusError('call', `${o.member}: ${err.name ?? 'error'}: ${err.message ?? ''}`, err.name));
          else resolve(values);
        });
      } catch (e) {
        // the library marshals synchronously: a value that does not fit the signature throws here
        end(new BusError('call', `${o.member}: cannot send: ${(e as Error).message}`));
      }
    });
  }

  /** Subscribes to a signal (AddMatch on the bus, and a filter here); resolves with the unsubscribe function. */
  async subscribe(m: SignalMatch, fn: (body: unknown[]) => void): Promise<() => void> {
    const rule = `type='signal',interface='${m.interface}',member='${m.member}',path='${m.path}'${m.sender ? `,sender='${m.sender}'` : ''}`;
    const listener = (msg: RawMessage) => {
      if (msg.type !== SIGNAL || msg.path !== m.path || msg.interface !== m.interface || msg.member !== m.member) return;
      if (m.sender && msg.sender !== m.sender) return;
      fn(msg.body ?? []);
    };
    this.raw.connection.on('message', listener);
    try {
      await this.call({ ...DBUS, member: 'AddMatch', signature: 's', body: [rule] });
    } catch (e) {
      this.raw.connection.removeListener('message', listener);
      throw e;
    }
    return () => {
      this.raw.connection.removeListener('message', listener);
      if (!this.closed) this.call({ ...DBUS, member: 'RemoveMatch', signature: 's', body: [rule] }).catch(() => undefined);
    };
  }

  /** The unique name that owns `name` now, or undefined when nobody does. */
  async nameOwner(name: string): Promise<string | undefined> {
    try {
      const [owner] = await this.call({ ...DBUS, member: 'GetNameOwner', signature: 's', body: [name], timeoutMs: 5000 });
      return typeof owner === 'string' ? owner : undefined;
    } catch (e) {
      if (e instanceof BusError && e.kind === 'call') return undefined;
      throw e;
    }
  }

  /** Closes the connection (what was written is flushed first) and resolves when the socket is closed. */
  async close(): Promise<void> {
    this.lost('closed', false);
    if (this.socket.closed) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => this.socket.destroy(), 1000);
      force.unref();
      this.socket.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      this.socket.end();
    });
  }

  private lost(why: string, tell = true): void {
    if (this.closedWhy) return;
    this.closedWhy = why;
    for (const end of [...this.pending]) end(new BusError('closed', why));
    if (tell) for (const fn of this.closeListeners) fn(why);
  }
}

/** The values of an `a{sv}` as the library reads it ([key, [signatureTree, [value]]] pairs). */
export function readVarDict(raw: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (!Array.isArray(raw)) return out;
  for (const entry of raw) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') continue;
    out.set(entry[0], readVariant(entry[1]));
  }
  return out;
}

/** The value of a variant as the library reads it ([signatureTree, [value]]). */
export function readVariant(v: unknown): unknown {
  return Array.isArray(v) && Array.isArray(v[1]) ? v[1][0] : undefined;
}
