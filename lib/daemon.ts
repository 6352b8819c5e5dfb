/**
 * The daemon: the service (the supervised local model, or with `remote.url` and `remote.fallback`
 * off only the socket over a remote server), the dictation host on top of it, and the dashboard —
 * started together from one effective config and stopped in the reverse order. `prism-dictate start`
 * parses its flags and calls `startDaemon`; tests call it directly.
 */
import type { Config } from './config/schema.js';
import type { Engine, EngineEvent, WatchedEngine } from './engine/contract.js';
import { FallbackEngine } from './engine/fallback.js';
import { RemoteEngine } from './engine/remote.js';
import { RemoteOnlyEngine } from './engine/remoteOnly.js';
import { notifier } from './host/notify.js';
import { type RunningHost, startHost } from './host/start.js';
import type { ServicePaths } from './service/home.js';
import { type RunningServer, type ServiceOptions, serveEngine, startService } from './service/start.js';
import { type RunningDashboard, startDashboard } from './web/dashboard/server.js';

export interface DaemonOptions {
  /** start the dictation host (microphone, hotkey, paste); false: the service alone (--no-host) */
  host?: boolean;
  /** one line for the log (stderr under the CLI) */
  log?: (line: string) => void;
  /** the service's folder (socket, pid file, history); default: PRISM_DICTATE_HOME, else ~/.local/state/prism-dictate (lib/service/home.ts) */
  paths?: ServicePaths;
}

export interface RunningDaemon {
  paths: ServicePaths;
  /** what dictations and socket clients are transcribed on */
  engine: WatchedEngine;
  host?: RunningHost;
  dashboard?: RunningDashboard;
  /** stops the dashboard, the host, then the service; once, however often it is called */
  stop(): Promise<void>;
}

/** The service's settings from the effective config (`start` and `serve` share them). */
export function serviceOptions(c: Config, log: (line: string) => void, onEvent?: ServiceOptions['onEvent']): ServiceOptions {
  return {
    model: c.model,
    gpu: c.gpu,
    states: c.states,
    threads: c.threads,
    fallbackModel: c.fallbackModel,
    slowMs: c.slowMs,
    slowCount: c.slowCount,
    probePrimaryMs: c.probePrimaryMs,
    log,
    onEvent,
  };
}

/** The service: the supervised local model, or with a remote URL and remote.fallback off, only the socket over the remote server. */
async function startServiceFor(
  c: Config,
  log: (line: string) => void,
  onEvent: (e: EngineEvent) => void,
  paths: ServicePaths | undefined,
): Promise<RunningServer & { engine: WatchedEngine }> {
  const { url, token, timeoutMs, fallback } = c.remote;
  if (url && !fallback) {
    log(`no local model: every transcription goes to ${url} (remote.fallback is off)`);
    const engine = new RemoteOnlyEngine(new RemoteEngine({ url, token, timeoutMs }), url);
    return { ...(await serveEngine(engine, paths)), engine };
  }
  log(`loading ${c.model} (${c.gpu})…`);
  const service = await startService(serviceOptions(c, log, onEvent), paths);
  return { ...service, engine: service.supervisor };
}

/**
 * What dictations are transcribed on: the local service, or with a remote URL the remote server,
 * falling back to the local service while the remote one cannot be reached.
 */
function dictationEngine(c: Config, local: WatchedEngine, notify: (message: string) => void, log: (line: string) => void): Engine {
  const { url, token, timeoutMs } = c.remote;
  if (!url || local instanceof RemoteOnlyEngine) return local;
  log(`engine     ${url}, this machine while it cannot be reached`);
  return new FallbackEngine(new RemoteEngine({ url, token, timeoutMs }), local, { url, notify });
}

const TELL_USER: ReadonlySet<EngineEvent['event']> = new Set(['crashed', 'hung', 'fallback', 'switched', 'failed']);

export async function startDaemon(c: Config, o: DaemonOptions = {}): Promise<RunningDaemon> {
  const started = performance.now();
  const log = o.log ?? (() => undefined);
  const notify = notifier(c.notify, () => undefined); // the supervisor logs its events itself
  let dashboard: RunningDashboard | undefined;
  const service = await startServiceFor(
    c,
    log,
    (e) => {
      if (TELL_USER.has(e.event)) notify(`${e.event}: ${e.detail}`);
      dashboard?.supervisorEvent(e);
    },
    o.paths,
  );
  log(`listening on ${service.paths.socket}; engine ${service.engine.info.backend} (${(performance.now() - started).toFixed(0)} ms after the start)`);
  let host: RunningHost | undefined;
  if (o.host !== false) {
    try {
      const tellUser = notifier(c.notify, log);
      host = await startHost({ config: c, engine: dictationEngine(c, service.engine, tellUser, log), home: service.paths.home, log, notify: tellUser });
    } catch (e) {
      await service.stop();
      throw e;
    }
    for (const line of host.report) log(line);
  }
  if (c.dashboard.enabled) {
    // the daemon dictates without its dashboard: a taken port is worth a line, not a failure
    dashboard = await startDashboard({
      engine: service.engine,
      host: host?.host,
      port: c.dashboard.port,
      token: c.dashboard.token,
      showText: c.dashboard.showText,
      about: host?.about,
      home: service.paths.home,
    }).catch((e: Error) => void log(`no dashboard: ${e.message}`));
    if (dashboard?.notice) log(dashboard.notice);
    if (dashboard) log(`dashboard on 127.0.0.1:${dashboard.port} (prism-dictate dashboard prints its URL)`);
  }
  service.server.extend(dashboard ? dashboard.extension(host?.extension) : host?.extension);
  if (host) log(`dictation ready: ${host.hint}`);
  let stopping: Promise<void> | undefined;
  return {
    paths: service.paths,
    engine: service.engine,
    host,
    dashboard,
    stop: () => {
      stopping ??= (async () => {
        service.server.extend(undefined);
        await dashboard?.stop().catch((e: Error) => log(e.message));
        await host?.stop().catch((e: Error) => log(e.message));
        await service.stop();
      })();
      return stopping;
    },
  };
}
