/**
 * Who may talk to a local server that has no token. A web page can make a browser send requests
 * to 127.0.0.1 (a cross-site form POST), and through DNS rebinding it can even read the answers:
 * its own name (evil.example) then resolves to 127.0.0.1, and the browser sends
 * `Host: evil.example:PORT`, with an Origin of evil.example. So a token-less server answers only
 * requests that name it by a loopback name and port, come from a loopback peer, and carry no
 * foreign Origin. With a token the token is the guard (a page cannot add the header), and LAN
 * clients reach the server under whatever name they know it by.
 */
import type { IncomingMessage } from 'node:http';

/** localhost, 127.0.0.0/8 and ::1 (with or without brackets): names that never leave this machine. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** A socket peer on this machine (IPv4-mapped IPv6 included). */
export function isLoopbackPeer(address: string | undefined): boolean {
  return address !== undefined && isLoopback(address.replace(/^::ffff:/i, ''));
}

/** `name[:port]` of a Host header (or an Origin's authority); undefined when malformed. */
function authority(value: string): { name: string; port: number } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[^[\]:/@\s]+)(?::(\d{1,5}))?$/i.exec(value);
  if (!m) return undefined;
  return { name: m[1] as string, port: m[2] === undefined ? 80 : Number(m[2]) };
}

/** Whether a Host header names this server on loopback: a loopback name and the port it was reached on. */
export function isLocalHost(host: string | undefined, port: number): boolean {
  const a = host === undefined ? undefined : authority(host);
  return a !== undefined && isLoopback(a.name) && a.port === port;
}

/**
 * Whether an Origin header is a page served from this machine: http(s) on a loopback name; with
 * `samePort`, only this server's own pages (http on its port). Absent is fine (curl, SDKs, a
 * same-origin GET); "null" (a sandboxed frame, a file:// page) is not.
 */
export function isLocalOrigin(origin: string | undefined, port: number, samePort = false): boolean {
  if (origin === undefined) return true;
  const m = /^(https?):\/\/([^/]+)$/i.exec(origin);
  const a = m ? authority((m[2] as string).replace(/:$/, '')) : undefined;
  if (!m || !a) return false;
  const scheme = (m[1] as string).toLowerCase();
  const p = /:\d+$/.test(m[2] as string) ? a.port : scheme === 'https' ? 443 : 80;
  return isLoopback(a.name) && (!samePort || (scheme === 'http' && p === port));
}

/**
 * Why a request to a token-less local server is refused, or undefined when it may pass: a peer
 * not on this machine, a Host that is not a loopback name with the port the connection came in
 * on, or a foreign Origin. The port is the socket's own, so it is right whatever was asked for.
 */
export function foreignRequest(req: IncomingMessage, o: { samePortOrigin?: boolean } = {}): string | undefined {
  const port = req.socket.localPort ?? 0;
  if (!isLoopbackPeer(req.socket.remoteAddress)) return `a client on another machine (${req.socket.remoteAddress})`;
  const host = req.headers.host;
  if (!isLocalHost(host, port)) return `Host '${host ?? ''}' is not localhost:${port}, 127.0.0.1:${port} or [::1]:${port}`;
  const origin = req.headers.origin;
  if (!isLocalOrigin(origin, port, o.samePortOrigin)) return `Origin '${origin}' is a page from another site`;
  return undefined;
}
