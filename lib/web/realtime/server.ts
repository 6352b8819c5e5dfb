/**
 * `GET /v1/realtime` upgraded to a WebSocket: OpenAI's Realtime transcription protocol on the API's
 * port. The upgrade passes the HTTP API's guards: the bearer token (or, for browsers, which cannot
 * set headers, the `openai-insecure-api-key.<token>` subprotocol), and without a token the
 * host/origin rules of origin.ts, so a web page cannot reach a token-less local server. Each open
 * session holds one of the API's in-progress slots.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Engine } from '../../engine/contract.js';
import { foreignRequest } from '../origin.js';
import { ApiError, forbiddenHost } from '../reply.js';
import { RealtimeError } from './protocol.js';
import { type RealtimeLimits, RealtimeSession } from './session.js';

export type { RealtimeLimits } from './session.js';

export const DEFAULT_LIMITS: RealtimeLimits = {
  maxPayloadBytes: 1024 * 1024,
  maxAppendMs: 10_000,
  speedFactor: 4,
  burstMs: 30_000,
  maxBufferMs: 600_000,
  idleMs: 60_000,
  maxSessionMs: 3_600_000,
  maxBadEvents: 5,
};

/** The API's count of requests in progress, shared with the sessions. */
export interface Load {
  pending: number;
}

export interface RealtimeServerOptions {
  engine: Engine;
  token: string | undefined;
  /** the token check of the HTTP API: an ApiError when refused */
  authorize: (header: string | undefined, token: string) => ApiError | undefined;
  language: string | undefined;
  load: Load;
  maxPending: number;
  limits?: Partial<RealtimeLimits>;
  log?: (line: string) => void;
}

const KEY_PROTOCOL = 'openai-insecure-api-key.';
const PATHS = new Set(['/v1/realtime', '/realtime']);

function refuse(socket: Duplex, e: ApiError, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { message: e.message, type: e.type, param: e.param, code: e.code } });
  const head = [
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? ''}`,
    'connection: close',
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.on('error', () => undefined);
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

export class RealtimeServer {
  readonly limits: RealtimeLimits;
  private readonly sessions = new Set<{ session: RealtimeSession; ws: WebSocket }>();
  private readonly wss: WebSocketServer;
  private stopping = false;
  /** sessions opened since the start, and open now */
  opened = 0;

  constructor(private readonly o: RealtimeServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...o.limits };
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.limits.maxPayloadBytes,
      perMessageDeflate: false,
      // a browser's subprotocols: answer 'realtime' (or the first one offered), never the key
      handleProtocols: (protocols) => {
        const offered = [...protocols];
        return offered.includes('realtime') ? 'realtime' : (offered.find((p) => !p.startsWith(KEY_PROTOCOL)) ?? false);
      },
    });
  }

  /** open sessions */
  get active(): number {
    return this.sessions.size;
  }

  /** The server's 'upgrade' listener. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    try {
      if (this.stopping) throw new ApiError(503, 'the server is shutting down', 'server_error', null, 'shutting_down');
      if (this.o.token === undefined) {
        const foreign = foreignRequest(req);
        if (foreign) throw forbiddenHost(foreign);
      }
      if (!PATHS.has(url.pathname))
        throw new ApiError(404, `Invalid URL (GET ${url.pathname}): the WebSocket endpoint is /v1/realtime`, 'invalid_request_error', null, 'not_found');
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
        throw new ApiError(400, 'only WebSocket upgrades are served here', 'invalid_request_error', null, 'invalid_upgrade');
      if (this.o.token !== undefined) {
        const fromProtocol = (req.headers['sec-websocket-protocol'] ?? '')
          .split(',')
          .map((p) => p.trim())
          .find((p) => p.startsWith(KEY_PROTOCOL));
        const header = req.headers.authorization ?? (fromProtocol ? `Bearer ${fromProtocol.slice(KEY_PROTOCOL.length)}` : undefined);
        const denied = this.o.authorize(header, this.o.token);
        if (denied) {
          refuse(socket, denied, { 'www-authenticate': 'Bearer' });
          return;
        }
      }
      const intent = url.searchParams.get('intent');
      if (intent !== null && intent !== 'transcription')
        throw new ApiError(
          400,
          `this server holds transcription sessions only: intent must be 'transcription' (got '${intent}')`,
          'invalid_request_error',
          'intent',
          'unsupported_intent',
        );
      if (this.o.load.pending >= this.o.maxPending)
        throw new ApiError(429, `the server is busy (${this.o.load.pending} requests in progress); retry shortly`, 'rate_limit_error', null, 'too_many_requests');
    } catch (e) {
      refuse(socket, e instanceof ApiError ? e : new ApiError(500, `internal error: ${(e as Error)?.message}`));
      return;
    }
    // the slot is held from here, so two upgrades at once cannot both pass the cap
    this.o.load.pending++;
    let held = true;
    const free = (): void => {
      if (held) this.o.load.pending--;
      held = false;
    };
    socket.once('close', free);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.stopping) {
        ws.close(1001, 'the server is shutting down');
        return;
      }
      const entry = {
        ws,
        session: new RealtimeSession(ws, { engine: this.o.engine, language: this.o.language, limits: this.limits, log: this.o.log }, () => {
          this.sessions.delete(entry);
          free();
        }),
      };
      this.sessions.add(entry);
      this.opened++;
      ws.on('message', (data, isBinary) => entry.session.message(data, isBinary));
      ws.on('error', (err) => {
        // ws closes the socket itself (1009 for an oversized message, 1002 for a protocol error)
        this.o.log?.(`realtime session ${entry.session.id}: ${err.message}`);
      });
      ws.on('close', () => entry.session.gone());
    });
  }

  /** Refuses new sessions and closes the open ones with 1001 (going away); the sockets that do not close in `ms` are cut. */
  close(ms = 1000): Promise<void> {
    this.stopping = true;
    const entries = [...this.sessions];
    for (const { session } of entries) session.fail(1001, new RealtimeError('the server is shutting down', 'shutting_down', null, 'server_error'));
    this.wss.close();
    return new Promise((resolve) => {
      const cut = setTimeout(() => {
        for (const { ws } of entries) ws.terminate();
        resolve();
      }, ms);
      cut.unref();
      const waiting = entries.filter(({ ws }) => ws.readyState !== 3);
      if (!waiting.length) {
        clearTimeout(cut);
        resolve();
        return;
      }
      let left = waiting.length;
      for (const { ws } of waiting)
        ws.on('close', () => {
          if (--left === 0) {
            clearTimeout(cut);
            resolve();
          }
        });
    });
  }
}
