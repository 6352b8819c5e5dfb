/**
 * The dashboard's secret. The page and /metrics show what was dictated and how the machine is
 * doing, and the page can paste text: any local process or web page could reach 127.0.0.1, so every
 * route asks for a random token that only the daemon's owner can read (dashboard.json, mode 0600).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** 192 random bits, URL-safe. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Compares SHA-256 digests in constant time, so that neither the token's length nor its bytes leak through timing. */
export function sameToken(given: string | undefined, token: string): boolean {
  if (!given) return false;
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(token).digest());
}

/** The token a request carries: `?token=` (the page and its requests) or `Authorization: Bearer` (a Prometheus scrape). */
export function requestToken(req: IncomingMessage, url: URL): string | undefined {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) return fromQuery;
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice('Bearer '.length).trim() : undefined;
}
