/**
 * The dashboard's secret. The page and /metrics show what was dictated and how the machine is
 * doing, and the page can paste text: any local process or web page could reach 127.0.0.1, so every
 * route asks for a random token that only the daemon's owner can read (dashboard.json, mode 0600).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The header the page's own script sends its token in (percent-encoded): a cross-site form cannot set it. */
export const TOKEN_HEADER = 'x-prism-token';

/** 192 random bits, URL-safe. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The dashboard's address on `port` with its token, percent-encoded: a token the user wrote
 * (dashboard.token, dashboard-token) may hold `+ & # %`, which would otherwise end or change it.
 */
export function tokenUrl(port: number, token: string, path = '/'): string {
  return `http://127.0.0.1:${port}${path}?token=${encodeURIComponent(token)}`;
}

/** Compares SHA-256 digests in constant time, so that neither the token's length nor its bytes leak through timing. */
export function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(token).digest());
}

/**
 * The token a request carries in a header: `Authorization: Bearer` (a Prometheus scrape, curl) or
 * X-Prism-Token, percent-encoded (the page's script: any token fits in a header that way).
 */
export function headerToken(req: IncomingMessage): string | undefined {
  const own = req.headers[TOKEN_HEADER];
  if (typeof own === 'string' && own !== '') {
    try {
      return decodeURIComponent(own);
    } catch {
      return own; // not percent-encoding: compared as sent (and refused unless it is the token)
    }
  }
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : undefined;
}

/** The token a request carries: `?token=` (the page and its requests), else in a header. */
export function requestToken(req: IncomingMessage, url: URL): string | undefined {
  return url.searchParams.get('token') || headerToken(req);
}
