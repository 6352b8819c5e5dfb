/**
 * The dashboard's HTTP server: 127.0.0.1 only, every route behind the token, only for requests that
 * name it (Host) and come from its own page or none (Origin), POST only from its page's script
 * (guard.ts). It serves the page and
 * its assets, the live event stream, /metrics for Prometheus, the kept audio of history entries
 * (GET /audio/<id>.wav), POST /api/repaste and POST /api/retry?id=<id>. It listens to
 * the dictation host's events (cheap, and needed for /metrics); everything periodic lives in the
 * feed and runs only while a page is open.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EngineEvent } from '../../engine/contract.js';
import { WhisperError } from '../../errors.js';
import type { DictationEvent } from '../../host/dictation.js';
import { type DictationRecord, isHistoryId } from '../../host/history.js';
import type { ServiceExtension } from '../../service/server.js';
import { type Asset, pageAssets } from './assets.js';
import { LiveFeed } from './feed.js';
import { keepToken, keptToken, removeDashboardFile, writeDashboardFile } from './file.js';
import type { GpuProbe } from './gpu.js';
import { changesState, foreign, notFromPage } from './guard.js';
import { DashboardMetrics } from './metrics.js';
import type { WatchedEngine, WatchedHost } from './sources.js';
import { headerToken, newToken, requestToken, sameToken, tokenUrl } from './token.js';

export interface DashboardOptions {
  engine: WatchedEngine;
  /** absent with --no-host: the service-only view */
  host?: WatchedHost;
  /**
   * 0 picks a free port; a taken one falls back to a free port (RunningDashboard.portTaken) with a
   * new token, since a bookmark or a scrape of the old address hands the old one to whoever holds it
   */
  port: number;
  /** a fixed token; default: the one kept in the home (dashboard-token), else a new one (both replaced when the port is taken) */
  token?: string;
  showText: boolean;
  /** the daemon's home: dashboard.json is written there (omitted in tests) */
  home?: string;
  /** the setup shown at the top of the page (microphone, hotkey, mode, output), from the dictation host */
  about?: () => Record<string, string>;
  /** resource sampling period while a page is open (default 2000 ms) */
  intervalMs?: number;
  gpu?: GpuProbe;
}

export interface RunningDashboard {
  /** http://127.0.0.1:<port>/?token=… (percent-encoded) */
  readonly url: string;
  readonly port: number;
  /** the configured port was taken: `port` is a free one instead, and `token` a new one */
  readonly portTaken: boolean;
  readonly token: string;
  /** what the log and the status say when the port was taken: where the dashboard went, and that its token changed */
  readonly notice?: string;
  readonly feed: LiveFeed;
  readonly metrics: DashboardMetrics;
  /** the supervisor's onEvent: crashes, restarts and fallbacks reach the page at once */
  supervisorEvent(e: EngineEvent): void;
  /** `base` (the host's CONTROL actions and status) with `dashboard: { url }` added to the status */
  extension(base: ServiceExtension | undefined): ServiceExtension;
  stop(): Promise<void>;
}

const HOW_TO_GET_IN =
  "Open the address that `prism-dictate dashboard` prints (it carries the token), or run `prism-dictate dashboard --open`; a Prometheus scrape sends `Authorization: Bearer <token>`, the token being in dashboard-token in the daemon's home folder.";

/** Headers on every answer: nothing cached, no Referer carrying the token away, no foreign code. */
const SECURITY = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; media-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

function sendAsset(req: IncomingMessage, res: ServerResponse, a: Asset): void {
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  send(res, 200, a.type, gzip ? a.gzip : a.body, gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : { vary: 'accept-encoding' });
}

export async function startDashboard(o: DashboardOptions): Promise<RunningDashboard> {
  const metrics = new DashboardMetrics(o.engine);
  const feed = new LiveFeed({ engine: o.engine, host: o.host, showText: o.showText, intervalMs: o.intervalMs, gpu: o.gpu, about: o.about });

  const onDictation = (e: DictationEvent): void => {
    metrics.dictation(e);
    feed.dictation(e);
  };
  const onState = (state: string): void => feed.recordingState(state);
  o.host?.on('dictation', onDictation);
  o.host?.on('state', onState);
  const onFinished = (): void => feed.recordingState(o.host?.state ?? 'idle');
  o.host?.on('finished', onFinished);
  const onRetried = (r: DictationRecord): void => feed.retried(r);
  o.host?.on('retried', onRetried);
  const unlisten = (): void => {
    o.host?.off('retried', onRetried);
    o.host?.off('dictation', onDictation);
    o.host?.off('state', onState);
    o.host?.off('finished', onFinished);
  };

  // the token depends on whether the port was free: set once listening, before any request is served
  let token = '';
  let assets = new Map<string, Asset>();
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refused = foreign(req);
    if (refused) return send(res, 403, 'text/plain; charset=utf-8', `refused: ${refused}\n`);
    if (!token) return send(res, 503, 'text/plain; charset=utf-8', 'starting\n');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const given = requestToken(req, url);
    if (!given) return send(res, 401, 'text/plain; charset=utf-8', `token required. ${HOW_TO_GET_IN}\n`, { 'www-authenticate': 'Bearer' });
    if (!sameToken(given, token)) return send(res, 403, 'text/plain; charset=utf-8', `wrong token. ${HOW_TO_GET_IN}\n`);
    if (changesState(req.method)) {
      const why = notFromPage(req, sameToken(headerToken(req), token));
      if (why) return send(res, 403, 'text/plain; charset=utf-8', `refused: ${why}\n`);
    }
    const path = url.pathname;
    if (path === '/api/repaste') {
      if (req.method !== 'POST') return send(res, 405, 'text/plain; charset=utf-8', 'POST only\n', { allow: 'POST' });
      if (!o.host) return json(res, 409, { error: 'this daemon was started with --no-host: it does not dictate' });
      try {
        const r = await o.host.repaste({ intoLastWindow: true });
        // pasted: keystrokes put it into the window; copied: it is on the clipboard, the user pastes it (hint)
        const answer = { pasted: r.outcome !== 'copied', outcome: r.outcome, ...(r.hint ? { hint: r.hint } : {}) };
        return json(res, 200, o.showText ? { ...answer, text: r.text } : answer);
      } catch (e) {
        const err = e as WhisperError;
        return json(res, 409, { error: err.message, code: err.code });
      }
    }
    if (path === '/api/retry') {
      if (req.method !== 'POST') return send(res, 405, 'text/plain; charset=utf-8', 'POST only\n', { allow: 'POST' });
      if (!o.host) return json(res, 409, { error: 'this daemon was started with --no-host: it does not dictate' });
      const id = url.searchParams.get('id') ?? '';
      if (!isHistoryId(id)) return json(res, 400, { error: 'retry?id= takes the id of a history entry', code: 'BAD_ARGUMENT' });
      try {
        const r = await o.host.retry({ id, intoLastWindow: true });
        const answer = { id: r.id, outcome: r.outcome, ...(r.hint ? { hint: r.hint } : {}) };
        return json(res, 200, o.showText ? { ...answer, text: r.text } : answer);
      } catch (e) {
        const err = e as WhisperError;
        return json(res, 409, { error: err.message, code: err.code });
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'GET only\n', { allow: 'GET, HEAD' });
    const wav = /^\/audio\/([^/]+)\.wav$/.exec(path);
    if (wav) {
      // the voice is as private as the text: not served where dashboard.showText is off
      if (!o.host || !o.showText) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      const id = wav[1] as string;
      if (!isHistoryId(id)) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
      const body = await o.host.keptAudio(id).catch(() => undefined);
      if (!body) return send(res, 404, 'text/plain; charset=utf-8', `no kept audio for ${id}\n`);
      // (node sends no body in answer to HEAD)
      return send(res, 200, 'audio/wav', body, { 'content-disposition': `inline; filename="${id}.wav"` });
    }
    if (path === '/events') return feed.attach(res);
    if (path === '/metrics') return send(res, 200, metrics.contentType, await metrics.text());
    const a = assets.get(path);
    if (a) return sendAsset(req, res, a);
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e: Error) => {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${e.message}\n`);
      else res.destroy();
    });
  });
  const listen = (port: number): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      const failed = (e: NodeJS.ErrnoException): void => reject(e);
      server.once('error', failed);
      server.listen({ host: '127.0.0.1', port }, () => {
        server.off('error', failed);
        resolve((server.address() as AddressInfo).port);
      });
    });
  let portTaken = false;
  const port = await listen(o.port)
    .catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EADDRINUSE' || o.port === 0) throw e;
      portTaken = true; // a free port, with a new token, said in the log (below)
      return listen(0);
    })
    .catch((e: NodeJS.ErrnoException) => {
      unlisten();
      throw new WhisperError('SERVICE_UNAVAILABLE', `the dashboard cannot listen on 127.0.0.1:${o.port}: ${e.code ?? e.message}`, { cause: e });
    });
  let notice: string | undefined;
  try {
    const chosen = portTaken ? newToken() : (o.token ?? (o.home ? await keptToken(o.home, newToken) : newToken()));
    if (portTaken) {
      // Someone else (another user's program, or another prism-dictate) holds the port: a bookmark or a
      // Prometheus scrape of the usual address hands it the token. So that token is of no use to it
      // here, nor later: a new one, kept in place of the old one (a configured one cannot be replaced:
      // this run has its own, and the user is told to change the configured one).
      if (!o.token && o.home) await keepToken(o.home, chosen);
      notice =
        `dashboard: port ${o.port} is taken (by another user's program, or another prism-dictate), so the dashboard is on port ${port} with a new token: ` +
        (o.token
          ? `dashboard.token from the config is not accepted while it is elsewhere, and should be changed, since a bookmark or a Prometheus scrape of port ${o.port} may have handed it to whoever holds that port`
          : `the old token no longer works, since a bookmark or a Prometheus scrape of port ${o.port} may have handed it to whoever holds that port`) +
        ' (prism-dictate dashboard prints the new address)';
    }
    assets = pageAssets(chosen);
    token = chosen;
    if (o.home) await writeDashboardFile(o.home, { url: tokenUrl(port, token), port, pid: process.pid });
  } catch (e) {
    unlisten();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    throw e;
  }
  const url = tokenUrl(port, token);

  return {
    url,
    port,
    portTaken,
    token,
    notice,
    feed,
    metrics,
    supervisorEvent(e) {
      metrics.supervisorEvent(e);
      feed.supervisorEvent(e);
    },
    extension: (base) => ({
      control: (request) => base?.control(request),
      status: () => ({ ...base?.status(), dashboard: notice ? { url, notice } : { url } }),
    }),
    async stop() {
      unlisten();
      feed.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (o.home) await removeDashboardFile(o.home);
    },
  };
}
