/**
 * The dashboard's HTTP server: 127.0.0.1 only, every route behind the token. It serves the page and
 * its assets, the live event stream, /metrics for Prometheus, and POST /api/repaste. It listens to
 * the dictation host's events (cheap, and needed for /metrics); everything periodic lives in the
 * feed and runs only while a page is open.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EngineEvent } from '../../engine/contract.js';
import { WhisperError } from '../../errors.js';
import type { DictationEvent } from '../../host/dictation.js';
import type { ServiceExtension } from '../../service/server.js';
import { type Asset, pageAssets } from './assets.js';
import { LiveFeed } from './feed.js';
import { keptToken, removeDashboardFile, writeDashboardFile } from './file.js';
import type { GpuProbe } from './gpu.js';
import { DashboardMetrics } from './metrics.js';
import type { WatchedEngine, WatchedHost } from './sources.js';
import { newToken, requestToken, sameToken } from './token.js';

export interface DashboardOptions {
  engine: WatchedEngine;
  /** absent with --no-host: the service-only view */
  host?: WatchedHost;
  /** 0 picks a free port; a taken one falls back to a free port (RunningDashboard.portTaken) */
  port: number;
  /** a fixed token; default: the one kept in the home (dashboard-token), else a new one */
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
  /** http://127.0.0.1:<port>/?token=… */
  readonly url: string;
  readonly port: number;
  /** the configured port was taken: `port` is a free one instead */
  readonly portTaken: boolean;
  readonly token: string;
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
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
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
  const token = o.token ?? (o.home ? await keptToken(o.home, newToken) : newToken());
  const assets = pageAssets(token);
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

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const given = requestToken(req, url);
    if (!given) return send(res, 401, 'text/plain; charset=utf-8', `token required. ${HOW_TO_GET_IN}\n`, { 'www-authenticate': 'Bearer' });
    if (!sameToken(given, token)) return send(res, 403, 'text/plain; charset=utf-8', `wrong token. ${HOW_TO_GET_IN}\n`);
    const path = url.pathname;
    if (path === '/api/repaste') {
      if (req.method !== 'POST') return send(res, 405, 'text/plain; charset=utf-8', 'POST only\n', { allow: 'POST' });
      if (!o.host) return json(res, 409, { error: 'this daemon was started with --no-host: it does not dictate' });
      try {
        const text = await o.host.repaste({ intoLastWindow: true });
        return json(res, 200, o.showText ? { pasted: true, text } : { pasted: true });
      } catch (e) {
        const err = e as WhisperError;
        return json(res, 409, { error: err.message, code: err.code });
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'GET only\n', { allow: 'GET, HEAD' });
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
      portTaken = true; // another daemon (another home) has it: a free port, said in the log
      return listen(0);
    })
    .catch((e: NodeJS.ErrnoException) => {
      throw new WhisperError('SERVICE_UNAVAILABLE', `the dashboard cannot listen on 127.0.0.1:${o.port}: ${e.code ?? e.message}`, { cause: e });
    });
  const url = `http://127.0.0.1:${port}/?token=${token}`;
  if (o.home) await writeDashboardFile(o.home, { url, port, pid: process.pid });

  return {
    url,
    port,
    portTaken,
    token,
    feed,
    metrics,
    supervisorEvent(e) {
      metrics.supervisorEvent(e);
      feed.supervisorEvent(e);
    },
    extension: (base) => ({
      control: (request) => base?.control(request),
      status: () => ({ ...base?.status(), dashboard: { url } }),
    }),
    async stop() {
      o.host?.off('dictation', onDictation);
      o.host?.off('state', onState);
      o.host?.off('finished', onFinished);
      feed.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (o.home) await removeDashboardFile(o.home);
    },
  };
}
