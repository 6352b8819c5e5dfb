/** `prism-dictate serve`: the OpenAI-compatible transcription API, on the running service or one of its own. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { serviceOptions } from '../daemon.js';
import type { Engine } from '../engine/contract.js';
import { WhisperError } from '../errors.js';
import { ServiceEngine } from '../service/serviceEngine.js';
import { type RunningService, startService } from '../service/start.js';
import { type ApiHealth, listenApi } from '../web/api.js';
import { isLoopback } from '../web/origin.js';
import { configFor } from './config.js';
import { EXIT, report } from './exit.js';

interface ServeOptions {
  host: string;
  port: string;
  token?: string;
  maxMb: string;
  maxSeconds: string;
  model?: string;
  gpu?: 'auto' | 'cuda' | 'cpu';
  states?: string;
  threads?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The certificate chain and key of --tls-cert/--tls-key, read now: both or neither. */
function readTls(o: ServeOptions): { cert: Buffer; key: Buffer } | undefined {
  if (o.tlsCert === undefined && o.tlsKey === undefined) return undefined;
  if (o.tlsCert === undefined || o.tlsKey === undefined)
    throw new WhisperError(
      'BAD_ARGUMENT',
      `${o.tlsCert === undefined ? '--tls-key' : '--tls-cert'} needs ${o.tlsCert === undefined ? '--tls-cert' : '--tls-key'} too: HTTPS takes a certificate (PEM) and its private key (PEM)`,
    );
  const read = (flag: string, file: string): Buffer => {
    try {
      const pem = readFileSync(file);
      if (!pem.includes('-----BEGIN ')) throw new Error('not a PEM file');
      return pem;
    } catch (e) {
      throw new WhisperError('BAD_ARGUMENT', `${flag} ${file}: ${(e as Error).message}`);
    }
  };
  return { cert: read('--tls-cert', o.tlsCert), key: read('--tls-key', o.tlsKey) };
}

/** How long stopping may take (the service's own stop included) before serve exits anyway. */
const STOP_DEADLINE_MS = 10_000;

function positive(flag: string, value: string | undefined, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0) || (integer && !Number.isInteger(n))) throw new WhisperError('BAD_ARGUMENT', `${flag} must be a positive ${integer ? 'integer' : 'number'} (got '${value}')`);
  return n;
}

interface Backing {
  engine: Engine;
  health: () => Promise<ApiHealth> | ApiHealth;
  language: string;
  stop(): Promise<void> | void;
}

/** The running service when one answers (no second model in memory), else a service started here. */
async function backing(o: ServeOptions, cmd: Command, log: (line: string) => void): Promise<Backing> {
  const c = configFor(cmd, { model: o.model, gpu: o.gpu, states: positive('--states', o.states, true), threads: positive('--threads', o.threads, true) });
  const { engine, other } = await ServiceEngine.find({ model: o.model });
  if (other) {
    // this home's socket is the running service's: a second one cannot start here, and answering on a
    // model other than the one asked for would be a silent lie
    throw new WhisperError(
      'BAD_ARGUMENT',
      `--model ${o.model}: the running service (pid ${other.pid}) has another model, ${other.model}; leave out --model to serve it, or stop it first (prism-dictate stop)`,
    );
  }
  if (engine) {
    const { pid, backend, model } = engine.welcome;
    log(`using the running service (pid ${pid}, ${backend}, ${model})`);
    if (o.gpu || o.states || o.threads) log('--gpu, --states and --threads are ignored: the running service keeps its own');
    return { engine, health: () => engine.health(), language: c.transcription.language, stop: () => engine.close() };
  }
  log(`loading ${c.model} (${c.gpu})…`);
  const service: RunningService = await startService(serviceOptions(c, log));
  const supervisor = service.supervisor;
  log(`service ready on ${supervisor.info.backend}; other prism-dictate commands can use it on ${service.paths.socket}`);
  return {
    engine: supervisor,
    health: () => ({ state: String(supervisor.status().state), backend: supervisor.info.backend, model: supervisor.info.path }),
    language: c.transcription.language,
    stop: () => service.stop(),
  };
}

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('an OpenAI-compatible transcription API (POST /v1/audio/transcriptions) on the service (Ctrl+C stops it)')
    .option('--host <address>', 'address to listen on; other than loopback needs --token', '127.0.0.1')
    .option('--port <n>', 'TCP port', '8178')
    .option('--token <token>', 'require Authorization: Bearer <token> (default: PRISM_DICTATE_API_TOKEN)')
    .option('--max-mb <n>', 'largest request, MiB', '25')
    .option('--max-seconds <n>', 'longest audio per request, seconds', '600')
    .option('--model <path|name>', 'model file or pulled model name, when no service is running (default: the config, PRISM_MODEL, base.en)')
    .option('--gpu <mode>', 'auto | cuda | cpu (default: auto)')
    .option('--states <n>', 'concurrent requests (default 2)')
    .option('--threads <n>', 'CPU threads')
    .option('--tls-cert <file>', 'serve HTTPS and WSS (the realtime WebSocket) with this certificate chain, PEM; needs --tls-key')
    .option('--tls-key <file>', 'the private key of --tls-cert, PEM')
    .action(async (o: ServeOptions, cmd: Command) => {
      try {
        const token = o.token || process.env.PRISM_DICTATE_API_TOKEN || undefined;
        if (!isLoopback(o.host) && !token) {
          throw new WhisperError(
            'BAD_ARGUMENT',
            `refusing to serve on ${o.host} without a token: anyone on the network could use it; pass --token (or PRISM_DICTATE_API_TOKEN) or --host 127.0.0.1`,
          );
        }
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new WhisperError('BAD_ARGUMENT', `--port must be an integer in [0, 65535] (got '${o.port}')`);
        const maxBytes = Math.round((positive('--max-mb', o.maxMb) as number) * 1024 * 1024);
        const maxSeconds = positive('--max-seconds', o.maxSeconds) as number;
        const tls = readTls(o);
        const log = (line: string): void => {
          process.stderr.write(`prism-dictate: ${line}\n`);
        };
        const back = await backing(o, cmd, log);
        const api = await listenApi({ engine: back.engine, health: back.health, token, maxBytes, maxSeconds, language: back.language, host: o.host, port, log, tls }).catch(
          async (e: Error) => {
            await back.stop();
            throw new WhisperError('BAD_ARGUMENT', `cannot listen on ${o.host}:${port}: ${e.message}`, { cause: e });
          },
        );
        process.stdout.write(`${api.url}/v1/audio/transcriptions\n`);
        log(
          `realtime transcription (OpenAI's Realtime API over WebSocket) on ${api.url.replace(/^http/, 'ws')}/v1/realtime${tls ? '' : ' (the openai client opens wss:// only: give --tls-cert and --tls-key for it)'}`,
        );
        log(`serving on ${api.url} (${token ? 'token required' : 'no token: this machine only, as localhost, 127.0.0.1 or [::1]'}); ${o.maxMb} MiB / ${maxSeconds} s per request`);
        // Stopping aborts what is running (ffmpeg, transcriptions; their clients get 503) instead of
        // waiting for it: a service manager's SIGTERM, or Ctrl+C, ends serve within moments.
        await new Promise<void>((resolve) => {
          let stopping = false;
          const stop = (signal: NodeJS.Signals): void => {
            if (stopping) {
              log(`${signal} again: exiting now`);
              process.exit(EXIT.failure);
            }
            stopping = true;
            log('stopping…');
            setTimeout(() => {
              log(`still stopping after ${STOP_DEADLINE_MS / 1000} s: exiting`);
              process.exit(EXIT.failure);
            }, STOP_DEADLINE_MS).unref();
            void api
              .close(0)
              .then(() => back.stop())
              .then(resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      } catch (e) {
        report(e);
      }
    });
}
