/**
 * What the dashboard asks of a request besides its token. A web page can make the browser send
 * requests to 127.0.0.1: through DNS rebinding under its own name (a foreign Host), from its own
 * origin (a foreign Origin), or as a plain cross-site form POST, which carries no Origin in older
 * browsers and may carry a token that leaked (a bookmark, a scrape sent to whoever held the port).
 * So every request must name us (Host) and come from our own page or from no page at all, and a
 * request that changes something must show it was sent by our page's script: the token in a header,
 * which neither a form nor a cross-site fetch (without a preflight we never grant) can set.
 */
import type { IncomingMessage } from 'node:http';
import { foreignRequest } from '../origin.js';

/** Why a request is refused whatever its token: a Host that is not 127.0.0.1/localhost on our port, or another site's Origin. */
export function foreign(req: IncomingMessage): string | undefined {
  return foreignRequest(req, { samePortOrigin: true });
}

/** Whether a method changes something (only GET and HEAD do not). */
export function changesState(method: string | undefined): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

/**
 * Why a request that changes something is refused although it carries the right token: another
 * site sent it (Sec-Fetch-Site), or the token came only in the address, as a form would send it.
 */
export function notFromPage(req: IncomingMessage, tokenInHeader: boolean): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `the request comes from another site (Sec-Fetch-Site: ${site})`;
  if (!tokenInHeader)
    return 'a request that changes something carries its token in a header (Authorization: Bearer <token>, or X-Prism-Token as the page sends it), not in the address';
  return undefined;
}
