/**
 * The proxy a model download goes through, read from the environment the way curl, npm and undici
 * read it. Node's own fetch (Node 20 and 22) ignores these variables; downloads use undici's fetch
 * with undici's EnvHttpProxyAgent as its dispatcher instead, fed with the settings below, so that
 * each request (each redirect too) picks its own route.
 *
 * - `https_proxy` / `HTTPS_PROXY` for https URLs; when neither is set, `http_proxy` / `HTTP_PROXY`
 *   (as undici and npm do; curl would go direct). `http_proxy` / `HTTP_PROXY` for http URLs.
 * - The lowercase name wins when both are set (as curl and undici). An empty value means no proxy.
 * - A proxy written without a scheme (`proxy.corp:3128`) is `http://proxy.corp:3128`, as curl reads
 *   it; `user:password@` in it is sent as Proxy-Authorization (Basic). Only http:// and https://
 *   proxies (no SOCKS).
 * - `no_proxy` / `NO_PROXY` (lowercase wins): names separated by commas or spaces; `*` alone: never
 *   a proxy; `example.com`, `.example.com` and `*.example.com` all match example.com and every
 *   name under it (curl's rule; undici alone would match a bare name exactly); `name:port` only on
 *   that port; IPv6 as `::1` or `[::1]`. Addresses match exactly: no CIDR ranges.
 * - Loopback (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`) is never sent to a proxy (as Go
 *   does): a mirror on this machine (PRISM_MODEL_BASE_URL=http://127.0.0.1:…) stays direct.
 * - https goes through a CONNECT tunnel (TLS end to end with the server); http as a plain
 *   forward-proxy request with the absolute URL, as curl sends it (many proxies allow CONNECT to
 *   port 443 only).
 *
 * Only model downloads use it: the dashboard, `bench` and the remote engine talk to the daemon or
 * to a server the user named with Node's fetch, directly.
 */
import { isIPv6 } from 'node:net';
import type { Dispatcher } from 'undici';
import { WhisperError } from '../errors.js';

export interface ProxySettings {
  /** for http URLs ('' = none) */
  http: string;
  /** for https URLs ('' = none) */
  https: string;
  /** the variable each came from, to name in messages */
  httpFrom?: string;
  httpsFrom?: string;
  /** NO_PROXY as undici matches it: curl's suffix rule and the loopback names added */
  noProxy: string;
}

/** The proxy a request uses, for messages: its URL without the password, and the variable that set it. */
export interface ProxyRoute {
  url: string;
  variable: string;
  /** the proxy's host name (IPv6 without brackets) and port, to tell a failure to reach it from one to reach a server directly */
  host: string;
  port: number;
}

const LOOPBACK = ['localhost', '.localhost', '127.0.0.1', '[::1]'];

function pick(env: NodeJS.ProcessEnv, name: string): { value: string; from?: string } {
  const lower = name.toLowerCase();
  if (env[lower] !== undefined) return { value: env[lower] ?? '', from: lower };
  if (env[name] !== undefined) return { value: env[name] ?? '', from: name };
  return { value: '' };
}

function proxyUrl(value: string, variable: string): string {
  const trimmed = value.trim();
  if (!trimmed) return '';
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (e) {
    throw new WhisperError('DOWNLOAD_FAILED', `${variable}=${redact(trimmed)} is not a proxy URL (expected http://host:port)`, { cause: e, reason: 'proxy' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new WhisperError(
      'DOWNLOAD_FAILED',
      `${variable}=${redact(trimmed)}: only http:// and https:// proxies are supported, not ${url.protocol.slice(0, -1)}; give an HTTP proxy, or set PRISM_MODEL_BASE_URL to a mirror you can reach`,
      { reason: 'proxy' },
    );
  return url.href;
}

/** NO_PROXY rewritten for undici's matcher so that it follows curl: a bare name matches its subdomains too, a leading dot the name itself. */
export function normalizeNoProxy(value: string): string {
  const entries = value.split(/[,\s]+/).filter(Boolean);
  if (entries.includes('*')) return '*';
  const out = new Set<string>();
  for (const raw of entries) {
    let entry = raw.toLowerCase();
    let port = '';
    if (isIPv6(entry)) entry = `[${entry}]`;
    else {
      const m = /^(.*?)(:\d+)$/.exec(entry);
      if (m && !isIPv6(entry)) {
        entry = m[1] ?? '';
        port = m[2] ?? '';
      }
    }
    const name = entry.replace(/^\*?\.?/, '');
    if (!name) continue;
    out.add(`${name}${port}`);
    if (!name.startsWith('[') && !/^[\d.]+$/.test(name)) out.add(`.${name}${port}`); // names, not addresses, have subdomains
  }
  for (const l of LOOPBACK) out.add(l);
  return [...out].join(',');
}

/** The proxy settings in `env` (default: this process's environment). Throws DOWNLOAD_FAILED (reason 'proxy') for a proxy URL that cannot be used. */
export function proxySettings(env: NodeJS.ProcessEnv = process.env): ProxySettings {
  const http = pick(env, 'HTTP_PROXY');
  const https = pick(env, 'HTTPS_PROXY');
  const httpUrl = http.from ? proxyUrl(http.value, http.from) : '';
  const httpsUrl = https.from ? proxyUrl(https.value, https.from) : '';
  return {
    http: httpUrl,
    https: httpsUrl || httpUrl,
    httpFrom: httpUrl ? http.from : undefined,
    httpsFrom: httpsUrl ? https.from : httpUrl ? http.from : undefined,
    noProxy: normalizeNoProxy(pick(env, 'NO_PROXY').value),
  };
}

/** A URL as it may be printed: the proxy's password (if any) replaced by `***`. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?([^:@/]*):([^@/]*)@/i, (_all, scheme: string | undefined, user: string) => `${scheme ?? ''}${user}:***@`);
}

/**
 * The proxy `url` is sent to under `settings`, or undefined when it goes direct: the same decision
 * as undici's EnvHttpProxyAgent makes with these settings (its matcher, restated for messages).
 */
export function proxyFor(url: string, settings: ProxySettings): ProxyRoute | undefined {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return undefined;
  }
  const https = target.protocol === 'https:';
  const proxy = https ? settings.https : settings.http;
  if (!proxy) return undefined;
  const hostname = target.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number(target.port) || (https ? 443 : 80);
  if (settings.noProxy === '*') return undefined;
  for (const raw of settings.noProxy.split(',')) {
    const m = /^(.+):(\d+)$/.exec(raw);
    const name = m ? (m[1] ?? '') : raw;
    if (m && Number(m[2]) !== port) continue;
    if (name.startsWith('.') ? hostname.endsWith(name) : hostname === name) return undefined;
  }
  const at = new URL(proxy);
  return {
    url: redact(proxy).replace(/\/$/, ''),
    variable: (https ? settings.httpsFrom : settings.httpFrom) ?? '',
    host: at.hostname.replace(/^\[|\]$/g, ''),
    port: Number(at.port) || (at.protocol === 'https:' ? 443 : 80),
  };
}

/**
 * undici (loaded on first use: it takes a quarter of a second to import) and a dispatcher for one
 * download: EnvHttpProxyAgent with `settings` when a proxy is set, else a plain Agent. Always
 * undici's own fetch with undici's own dispatcher: Node's bundled fetch is another undici version.
 */
export async function downloadClient(settings: ProxySettings): Promise<{ fetch: typeof import('undici').fetch; dispatcher: Dispatcher }> {
  const undici = await import('undici');
  if (!settings.http && !settings.https) return { fetch: undici.fetch, dispatcher: new undici.Agent() };
  // undici 6 warns once per process that EnvHttpProxyAgent is experimental: a line the user can do nothing about
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: unknown }).code : rest[1];
    if (code === 'UNDICI-EHPA') return;
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    // proxyTunnel (ProxyAgent's option, passed through): http URLs as forward-proxy requests, not CONNECT
    const options: import('undici').EnvHttpProxyAgent.Options & { proxyTunnel: boolean } = {
      httpProxy: settings.http,
      httpsProxy: settings.https,
      noProxy: settings.noProxy,
      proxyTunnel: false,
    };
    return { fetch: undici.fetch, dispatcher: new undici.EnvHttpProxyAgent(options) };
  } finally {
    process.emitWarning = emit;
  }
}
