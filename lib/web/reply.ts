/**
 * HTTP answers in the shape OpenAI's API uses, so that its clients (the official SDKs, curl
 * scripts written against api.openai.com) read our errors the way they read OpenAI's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WhisperError } from '../errors.js';

export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'server_error';

/** An error that becomes `{"error":{"message","type","param","code"}}` with its HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType = status >= 500 ? 'server_error' : 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/** The answer to a request a token-less server does not take: not this machine's own (origin.ts says why). */
export function forbiddenHost(foreign: string): ApiError {
  return new ApiError(
    403,
    `this server has no token, so it answers only requests from this machine to localhost, 127.0.0.1 or [::1]: ${foreign}; give it a token to reach it otherwise`,
    'invalid_request_error',
    null,
    'forbidden_host',
  );
}

/** What a failed transcription means to an HTTP client: its fault (4xx), a busy server (429) or ours (5xx). */
export function apiErrorFrom(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof WhisperError) {
    switch (e.code) {
      case 'BAD_AUDIO':
        return new ApiError(400, e.message, 'invalid_request_error', 'file', 'invalid_audio');
      case 'BAD_ARGUMENT':
        return new ApiError(400, e.message, 'invalid_request_error', null, 'invalid_value');
      case 'QUEUE_FULL':
        return new ApiError(429, e.message, 'rate_limit_error', null, 'queue_full');
      case 'SERVICE_UNAVAILABLE':
      case 'CLOSED':
        // the cause names local paths (the service's socket) and processes: the server's log keeps it
        return new ApiError(503, 'the transcription service is unavailable; try again shortly', 'server_error', null, 'service_unavailable');
      default:
        return new ApiError(500, e.message, 'server_error', null, e.code.toLowerCase());
    }
  }
  return new ApiError(500, `internal error: ${(e as Error)?.message ?? String(e)}`);
}

/** How much of an unread request body is read and dropped after an early answer, and for how long. */
export const DRAIN_BYTES = 8 * 1024 * 1024;
export const DRAIN_MS = 10_000;

/**
 * Reads and drops what is left of a request body after it was answered early (401, 413, 429…),
 * up to `DRAIN_BYTES` and `DRAIN_MS`, then closes. Closing a socket with bytes unread makes TCP
 * reset the connection, and a client still sending (Node's fetch, hence the OpenAI SDK) then
 * loses the answer to EPIPE; such clients stop sending once they have the answer. A body that
 * ends in bounds leaves the connection usable for the next request.
 */
function drain(req: IncomingMessage): void {
  const socket = req.socket;
  let seen = 0;
  const stop = (): void => {
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(stop, DRAIN_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > DRAIN_BYTES) stop();
  });
  req.on('error', () => {}); // a client gone meanwhile: nothing left to do
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/**
 * Sends a complete answer. When the request body was not read to its end (an early 401 or 413),
 * the answer goes out at once and the rest of the body is drained, within bounds (`drain`).
 */
export function send(req: IncomingMessage, res: ServerResponse, status: number, body: string, headers: Record<string, string | number>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
  if (!req.complete && !req.destroyed) drain(req);
}

export function sendJson(req: IncomingMessage, res: ServerResponse, status: number, json: unknown, headers: Record<string, string | number> = {}): void {
  send(req, res, status, JSON.stringify(json), { 'content-type': 'application/json', ...headers });
}

export function sendError(req: IncomingMessage, res: ServerResponse, e: ApiError, headers: Record<string, string | number> = {}): void {
  sendJson(req, res, e.status, { error: { message: e.message, type: e.type, param: e.param, code: e.code } }, headers);
}
