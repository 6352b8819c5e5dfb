/**
 * An OpenAI-compatible transcription API over any engine with transcribe(pcm, options): the
 * service's supervisor, a ServiceClient, or a WhisperModel. Tools written for
 * api.openai.com/v1/audio/transcriptions work against it by changing the base URL.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import type { Engine } from '../engine/contract.js';
import { languageCode } from '../engine/languages.js';
import type { TranscribeOptions } from '../model.js';
import type { ServiceHealth } from '../service/serviceEngine.js';
import { decodeUpload } from './audio.js';
import { RESPONSE_FORMATS, type ResponseFormat, render } from './formats.js';
import { foreignRequest } from './origin.js';
import { type Load, type RealtimeLimits, RealtimeServer } from './realtime/server.js';
import { ApiError, apiErrorFrom, forbiddenHost, sendError, sendJson } from './reply.js';
import { readUpload } from './upload.js';

/** What GET /health reports; `state` other than 'ready' answers 503 so load balancers steer away. */
export type ApiHealth = ServiceHealth;

export interface ApiOptions {
  engine: Engine;
  /** how /health learns the engine's state; rejecting means the engine is unreachable */
  health: () => Promise<ApiHealth> | ApiHealth;
  /**
   * when set, every /v1 request needs `Authorization: Bearer <token>`; without one, only this
   * machine may ask: other peers, foreign Host names (DNS rebinding) and foreign Origins get 403
   */
  token?: string;
  /** largest request body, bytes (default 25 MiB, OpenAI's limit) */
  maxBytes?: number;
  /** longest audio per request, seconds (default 600) */
  maxSeconds?: number;
  /** requests being uploaded or transcribed at once; more get 429 (default 32) */
  maxPending?: number;
  /** language when a request names none (default 'en'; 'auto' detects) */
  language?: string;
  /** told about server-side failures (5xx) */
  log?: (line: string) => void;
  /** an upload that sends nothing for this long is answered 408 (default 30 s) */
  uploadStallMs?: number;
  /** aborting it stops every running request (answered 503) and refuses new ones: the server is stopping */
  signal?: AbortSignal;
  /** HTTPS (and WSS for /v1/realtime) with this certificate chain and key, PEM */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** bounds of the Realtime WebSocket sessions (realtime/server.ts's DEFAULT_LIMITS) */
  realtime?: Partial<RealtimeLimits>;
}

const shuttingDown = (): ApiError => new ApiError(503, 'the server is shutting down', 'server_error', null, 'shutting_down');

const ROUTES: Record<string, string> = {
  '/health': 'GET',
  '/v1/models': 'GET',
  '/v1/audio/transcriptions': 'POST',
  '/v1/audio/translations': 'POST',
};

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Compares hashes, so neither the token's length nor its matching prefix shows in the timing. */
export function authorize(header: string | undefined, token: string): ApiError | undefined {
  const given = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  if (given === undefined) return new ApiError(401, "missing API key: send 'Authorization: Bearer <token>'", 'invalid_request_error', null, 'missing_api_key');
  if (!timingSafeEqual(digest(given), digest(token))) return new ApiError(401, 'incorrect API key', 'invalid_request_error', null, 'invalid_api_key');
  return undefined;
}

interface Request {
  format: ResponseFormat;
  options: TranscribeOptions;
}

/** The form fields OpenAI defines, checked; the ones we cannot honour are accepted and ignored (model, temperature). */
function parseFields(fields: Record<string, string>, defaultLanguage: string, translate: boolean): Request {
  const format = (fields.response_format ?? 'json') as ResponseFormat;
  if (!RESPONSE_FORMATS.includes(format))
    throw new ApiError(400, `response_format must be one of ${RESPONSE_FORMATS.join(', ')}`, 'invalid_request_error', 'response_format', 'invalid_value');
  const language = fields.language ? languageCode(fields.language) : defaultLanguage;
  if (!/^[a-z]{2,3}$|^auto$/.test(language))
    throw new ApiError(400, `language must be an ISO-639-1 code such as 'en' (got '${fields.language}')`, 'invalid_request_error', 'language', 'invalid_value');
  if (fields.temperature !== undefined) {
    const t = Number(fields.temperature);
    if (fields.temperature.trim() === '' || !(t >= 0 && t <= 1))
      throw new ApiError(400, 'temperature must be a number between 0 and 1', 'invalid_request_error', 'temperature', 'invalid_value');
  }
  if (fields.stream === 'true') throw new ApiError(400, 'streaming transcriptions are not supported', 'invalid_request_error', 'stream', 'unsupported_value');
  if (fields['timestamp_granularities[]'] === 'word')
    throw new ApiError(400, 'word timestamps are not supported; segment timestamps are', 'invalid_request_error', 'timestamp_granularities', 'unsupported_value');
  return { format, options: { language, prompt: fields.prompt || undefined, translate, audioCtx: 'auto' } };
}

/** `load`: the count of requests in progress, shared with the realtime sessions (each holds a slot). */
export function apiHandler(o: ApiOptions, load: Load = { pending: 0 }): (req: IncomingMessage, res: ServerResponse) => void {
  const maxBytes = o.maxBytes ?? 25 * 1024 * 1024;
  const maxSeconds = o.maxSeconds ?? 600;
  const maxPending = o.maxPending ?? 32;
  const language = o.language ?? 'en';
  // the requests running now: stopping the server aborts each of them
  const running = new Set<AbortController>();
  o.signal?.addEventListener('abort', () => {
    for (const r of running) r.abort();
  });

  async function health(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const h = await o.health();
      sendJson(req, res, h.state === 'ready' ? 200 : 503, { status: h.state === 'ready' ? 'ok' : 'unavailable', state: h.state, backend: h.backend, model: basename(h.model) });
    } catch (e) {
      o.log?.(`GET /health: 503 ${(e as Error).message}`);
      sendJson(req, res, 503, { status: 'unavailable', state: 'unreachable', error: 'the transcription service is unavailable' });
    }
  }

  async function models(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const model = await Promise.resolve(o.health()).then(
      (h) => basename(h.model),
      () => undefined,
    );
    const ids = ['whisper-1', ...(model ? [model] : [])];
    sendJson(req, res, 200, { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'prism-whisper' })) });
  }

  /** `signal`: the client hung up; decoding and transcription stop, and the slot is free again. */
  async function transcribe(req: IncomingMessage, res: ServerResponse, translate: boolean, signal: AbortSignal): Promise<void> {
    const upload = await readUpload(req, maxBytes, o.uploadStallMs);
    if (!upload.file)
      throw new ApiError(400, "the request has no 'file' field: send the audio as multipart/form-data field 'file'", 'invalid_request_error', 'file', 'missing_file');
    const { format, options } = parseFields(upload.fields, language, translate);
    const pcm = await decodeUpload(upload.file.bytes, upload.file.filename, maxSeconds, signal);
    // uploads queue behind every dictation (the scheduler's priority lane)
    const t = await o.engine.transcribe(pcm, { ...options, priority: 'batch', signal });
    const { body, type } = render(t, format, translate ? 'translate' : 'transcribe');
    res.writeHead(200, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'x-prism-backend': t.backend });
    res.end(body);
  }

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const method = ROUTES[path];
    void (async () => {
      if (o.signal?.aborted) throw shuttingDown();
      const foreign = o.token === undefined ? foreignRequest(req) : undefined;
      if (foreign) throw forbiddenHost(foreign);
      if (!method) throw new ApiError(404, `Invalid URL (${req.method} ${path})`, 'invalid_request_error', null, 'not_found');
      const get = method === 'GET' && req.method === 'HEAD';
      if (req.method !== method && !get) {
        sendError(req, res, new ApiError(405, `${path} takes ${method}, not ${req.method}`, 'invalid_request_error', null, 'method_not_allowed'), { allow: method });
        return;
      }
      if (path === '/health') return health(req, res);
      const denied = o.token === undefined ? undefined : authorize(req.headers.authorization, o.token);
      if (denied) {
        sendError(req, res, denied, { 'www-authenticate': 'Bearer' });
        return;
      }
      if (path === '/v1/models') return models(req, res);
      if (load.pending >= maxPending)
        throw new ApiError(429, `the server is busy (${load.pending} requests in progress); retry shortly`, 'rate_limit_error', null, 'too_many_requests');
      load.pending++;
      // Listening before anything else runs: a client that hangs up during the upload, the
      // decoding or the transcription stops it, instead of leaving it to run (and hold its slot) for nobody.
      const hangUp = new AbortController();
      const gone = (): void => {
        if (!res.writableFinished) hangUp.abort();
      };
      res.once('close', gone);
      running.add(hangUp);
      try {
        await transcribe(req, res, path.endsWith('/translations'), hangUp.signal);
      } finally {
        load.pending--;
        res.off('close', gone);
        running.delete(hangUp);
      }
    })().catch((e: unknown) => {
      if ((e as Error)?.name === 'AbortError') {
        // the client is gone (nobody to answer), or the server is stopping
        if (o.signal?.aborted) sendError(req, res, shuttingDown());
        return;
      }
      const err = apiErrorFrom(e);
      if (err.status >= 500) o.log?.(`${req.method} ${path}: ${err.status} ${(e as Error)?.message ?? err.message}`);
      sendError(req, res, err);
    });
  };
}

export interface RunningApi {
  /** the base URL, e.g. http://127.0.0.1:8178 (https:// with `tls`) */
  url: string;
  server: Server;
  /** the Realtime WebSocket sessions on /v1/realtime */
  realtime: RealtimeServer;
  /**
   * Stops accepting and lets running requests finish for up to `graceMs`; then aborts what still
   * runs (its client gets 503 where it is still there) and closes every connection.
   */
  close(graceMs?: number): Promise<void>;
}

/** How long aborted requests get to send their 503 before their connections are cut. */
const ANSWER_MS = 1000;

export async function listenApi(o: ApiOptions & { host?: string; port?: number }): Promise<RunningApi> {
  const stop = new AbortController();
  const load: Load = { pending: 0 };
  const handle = apiHandler({ ...o, signal: stop.signal }, load);
  const realtime = new RealtimeServer({
    engine: o.engine,
    token: o.token,
    authorize,
    language: o.language ?? 'en',
    load,
    maxPending: o.maxPending ?? 32,
    limits: o.realtime,
    log: o.log,
  });
  let answering = 0;
  let closingStarted = false;
  let idle: (() => void) | undefined;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    answering++;
    res.once('close', () => {
      answering--;
      // while closing, a connection whose answer is out is not kept alive for another request
      if (closingStarted) setImmediate(() => server.closeIdleConnections());
      if (answering === 0) idle?.();
    });
    handle(req, res);
  };
  const server: Server = o.tls ? createTlsServer({ cert: o.tls.cert, key: o.tls.key }, onRequest) : createServer(onRequest);
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => realtime.upgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8178, o.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const url = `${o.tls ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    realtime,
    close: (graceMs = 10_000) => {
      closing ??= new Promise<void>((resolve) => {
        let cut: NodeJS.Timeout | undefined;
        const abort = (): void => {
          stop.abort();
          // once every aborted request has answered (or could not), nothing is left to wait for
          idle = () => server.closeAllConnections();
          cut = setTimeout(idle, ANSWER_MS);
          if (answering === 0) idle();
        };
        closingStarted = true;
        // live sessions cannot finish within a grace: they are told and closed now (1001, going away)
        void realtime.close(ANSWER_MS);
        const grace = setTimeout(abort, graceMs);
        server.close(() => {
          clearTimeout(grace);
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
