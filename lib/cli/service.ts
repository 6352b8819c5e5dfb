/** `prism-dictate start | stop | status`: the supervised inference service. */
import { spawn } from 'node:child_process';
import { fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ConfigInput } from '../config/load.js';
import { startDaemon } from '../daemon.js';
import { isErrorCode, WhisperError } from '../errors.js';
import { ServiceClient } from '../service/client.js';
import { isUnsafeSocket, NOT_RUNNING, notRunning, servicePaths } from '../service/home.js';
import { configFor } from './config.js';
import { report } from './exit.js';
import { localTime } from './localTime.js';
import { assumeYes, ensureModel } from './pull.js';

interface StartOptions {
  model?: string;
  gpu?: 'auto' | 'cuda' | 'cpu';
  states?: string;
  threads?: string;
  fallbackModel?: string;
  slowMs?: string;
  slowCount?: string;
  detach?: boolean;
  /** --no-host: the service alone */
  host: boolean;
  /** --no-hotkey */
  hotkey: boolean;
  mode?: string;
  keys?: string;
  output?: string;
  pasteKeys?: string;
  device?: string;
  language?: string;
  prompt?: string;
  hangoverMs?: string;
  engine?: string;
  engineToken?: string;
  yes?: boolean;
}

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

/** Flags over the config file: only what was given on the command line. */
function startOverrides(o: StartOptions): ConfigInput {
  return {
    model: o.model,
    gpu: o.gpu,
    states: num(o.states),
    threads: num(o.threads),
    fallbackModel: o.fallbackModel,
    slowMs: num(o.slowMs),
    slowCount: num(o.slowCount),
    hotkey: { enabled: o.hotkey === false ? false : undefined, mode: o.mode, keys: o.keys },
    audio: { device: o.device === undefined ? undefined : /^\d+$/.test(o.device) ? Number(o.device) : o.device },
    vad: { hangoverMs: num(o.hangoverMs) },
    output: { method: o.output, pasteKeys: o.pasteKeys },
    transcription: { language: o.language, prompt: o.prompt },
    remote: { url: o.engine, token: o.engineToken },
  };
}

/** Whether `pid` is a live process (a zombie that has only to be reaped is not, on Linux). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return true; // no /proc here: kill(pid, 0) is all there is
  }
}

/** The running service's pid: from the service itself, or, when it does not answer, from its pid file. */
async function servicePid(): Promise<number> {
  try {
    const client = await ServiceClient.connect(servicePaths().socket, 1000);
    const pid = Number((await client.status()).pid);
    client.close();
    return pid;
  } catch (e) {
    if (isUnsafeSocket(e)) throw e;
    const file = servicePaths().pidFile;
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    const alive = pid > 0 && isRunning(pid);
    if (!alive) throw new WhisperError('SERVICE_UNAVAILABLE', notRunning(servicePaths().home));
    process.stderr.write(`prism-dictate: the service does not answer (${(e as Error).message}); stopping pid ${pid} from ${file}\n`);
    return pid;
  }
}

async function connectOrExplain(): Promise<ServiceClient> {
  try {
    return await ServiceClient.connect(servicePaths().socket, 1000);
  } catch (e) {
    if (isUnsafeSocket(e)) throw e;
    throw new WhisperError('SERVICE_UNAVAILABLE', notRunning(servicePaths().home));
  }
}

/** Waits until the detached daemon's service is ready (and its dictation host, when it has one). */
async function waitReady(child: ReturnType<typeof spawn>, timeoutMs: number, withHost: boolean, logFrom: number): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  let exited = false;
  let exitCode: number | null = null;
  child.once('exit', (code) => {
    exited = true;
    exitCode = code;
  });
  while (Date.now() < end && !exited) {
    try {
      const client = await ServiceClient.connect(servicePaths().socket, 500);
      const status = await client.status();
      client.close();
      if (status.state === 'ready' && (!withHost || status.host)) return status;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = servicePaths().log;
  if (!exited) throw new WhisperError('SERVICE_UNAVAILABLE', `the service was not ready within ${timeoutMs} ms; see ${log}`);
  // what it said last, from this start's part of the log; a log it could not write (a full disk) says nothing
  const said = (() => {
    try {
      if (!statSync(log).isFile()) return ''; // a device (/dev/full) would read forever
      const lines = readFileSync(log).subarray(logFrom).toString('utf8').trim().split('\n');
      return lines.at(-1)?.replace(/^prism-dictate: /, '') ?? '';
    } catch {
      return '';
    }
  })();
  // the error it reported ("… [MODEL_INVALID]") is this start's error too: the same code, so the same
  // exit status as a foreground start (which exits by that code)
  const tagged = /^(.*) \[([A-Z_]+)\]$/.exec(said);
  const code = tagged && isErrorCode(tagged[2]) ? tagged[2] : undefined;
  throw new WhisperError(
    code ?? 'SERVICE_UNAVAILABLE',
    said
      ? `the service exited while starting (code ${exitCode}): ${code ? tagged?.[1] : said} (${log})`
      : `the service exited while starting (code ${exitCode}) and wrote nothing to ${log}: is the disk full? (df -h ${servicePaths().home})`,
  );
}

/** A status key in words: noSpeech → no speech, endOfSpeech → end of speech. */
const words = (key: string): string => key.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);

/** The dictation host's part of `status`: its state, microphone, counts and per-stage latency. */
export function hostLines(h: Record<string, unknown> | undefined): string[] {
  if (!h) return ['dictation off (started with --no-host)'];
  const latency = Object.entries((h.latency as Record<string, { p50: number; p95: number; n: number }>) ?? {});
  return [
    `dictation ${h.state} (${h.mode}); microphone ${h.microphone}; ${h.inFlight} transcribing`,
    `counts    ${
      Object.entries((h.counts as Record<string, number>) ?? {})
        .map(([k, n]) => `${words(k)} ${n}`) // "dictations 1": no plural to get wrong
        .join(', ') || 'none yet'
    }`,
    `stages    ${latency.map(([k, v]) => `${words(k)} ${v.p50.toFixed(0)}/${v.p95.toFixed(0)}`).join(', ') || 'no dictations yet'} (ms p50/p95)`,
  ];
}

export function serviceCommands(program: Command): void {
  program
    .command('start')
    .description('start dictating: the daemon with the model loaded once and kept warm, the hotkey, microphone and paste (Ctrl+C stops it; --no-host: the inference service alone)')
    .option('--model <path|name>', 'model file or pulled model name (default: the config, PRISM_MODEL, base.en)')
    .option('--gpu <mode>', 'auto | cuda | cpu (default: auto)')
    .option('--states <n>', 'concurrent requests (default 2)')
    .option('--threads <n>', 'CPU threads')
    .option('--fallback-model <path|name>', 'model to use if the service has to fall back to the CPU')
    .option('--slow-ms <ms>', 'switch to the fallback engine when requests get slower than this…')
    .option('--slow-count <n>', '…this many times in a row (default 3)')
    .option('--mode <mode>', 'hotkey mode: hold | toggle | hybrid (default hybrid)')
    .option('--keys <combo>', 'the hotkey (default Meta+Alt+V)')
    .option('--no-hotkey', 'no global hotkey: only prism-dictate toggle|begin|end|cancel')
    .option('--output <method>', 'paste | type | clipboard | stdout (default paste)')
    .option('--paste-keys <combo>', 'the paste keystroke (default ctrl+v; cmd+v on macOS)')
    .option('--device <id|name>', 'microphone (default: the system default input)')
    .option('--language <code>', 'spoken language (default en)')
    .option('--prompt <text>', 'initial prompt: names and vocabulary')
    .option('--hangover-ms <ms>', 'the pause that cuts a dictation into phrases, each transcribed while you go on (150–2000, default 500); it never ends a dictation')
    .option('--engine <url>', 'transcribe dictations on a remote prism-dictate serve (http://host:port), this machine as fallback')
    .option('--engine-token <token>', "the remote engine's bearer token")
    .option('--no-host', 'run the inference service alone: no microphone, hotkey or paste')
    .option('--detach', 'run in the background; return once the service is ready')
    .option('-y, --yes', 'download (or make) the model first if it is missing, without asking (also PRISM_DICTATE_YES=1)')
    .action(async (o: StartOptions, cmd: Command) => {
      try {
        const c = configFor(cmd, startOverrides(o));
        const running = await ServiceClient.connect(servicePaths().socket, 300).catch(() => undefined);
        if (running) {
          const pid = running.welcome.pid;
          running.close();
          // what was asked is there: said, exit 0 (an autostart that runs twice is not an error)
          process.stdout.write(`prism-dictate: already running for ${servicePaths().home} (pid ${pid}): nothing to start (prism-dictate stop ends it)\n`);
          return;
        }
        if (!c.remote.url || c.remote.fallback) {
          // the first start: the default model is not there yet
          await ensureModel(c.model, {
            yes: assumeYes(o.yes),
            interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
            log: (line) => process.stderr.write(`prism-dictate: ${line}\n`),
          });
        }
        if (o.detach) {
          const paths = servicePaths();
          await mkdir(paths.home, { recursive: true, mode: 0o700 });
          const log = openSync(paths.log, 'a', 0o600); // only the user: it may quote paths and errors
          const logFrom = fstatSync(log).size;
          const args = process.argv.slice(1).filter((a) => a !== '--detach');
          const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env: process.env });
          const status = await waitReady(child, 180_000, o.host, logFrom);
          child.unref();
          process.stdout.write(
            `prism-dictate: service ready (pid ${child.pid}, ${status.backend}, engine ready in ${Number(status.readyMs).toFixed(0)} ms) on ${paths.socket}${status.host ? '; dictation ready' : ''}\n`,
          );
          return;
        }
        const log = (line: string): void => {
          process.stderr.write(`prism-dictate: ${line}\n`);
        };
        const daemon = await startDaemon(c, { host: o.host, log });
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            log('stopping…');
            void daemon.stop().then(resolve);
          };
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      } catch (e) {
        report(e);
      }
    });

  program
    .command('switch')
    .description('move the running service to its primary engine (GPU, main model) or its fallback (CPU)')
    .argument('<engine>', 'primary | fallback')
    .action(async (to: string) => {
      try {
        if (to !== 'primary' && to !== 'fallback') throw new WhisperError('BAD_ARGUMENT', 'switch takes primary or fallback');
        const client = await connectOrExplain();
        const status = await client.control({ action: 'switch', to });
        client.close();
        process.stdout.write(`prism-dictate: on the ${status.engine} engine (${status.backend})\n`);
      } catch (e) {
        report(e);
      }
    });

  program
    .command('stop')
    .description('stop the running service')
    .action(async () => {
      try {
        const pid = await servicePid().catch((e: WhisperError) => {
          // nothing running is what `stop` wants: said, exit 0 (a refused socket is still an error)
          if (e.code === 'SERVICE_UNAVAILABLE' && e.message.startsWith(NOT_RUNNING)) return undefined;
          throw e;
        });
        if (pid === undefined) {
          process.stdout.write(`${NOT_RUNNING} for ${servicePaths().home}: nothing to stop\n`);
          return;
        }
        const alive = (): boolean => isRunning(pid);
        const gone = async (ms: number): Promise<boolean> => {
          for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (!alive()) return true;
          return !alive();
        };
        process.kill(pid, 'SIGTERM');
        if (await gone(10_000)) {
          process.stdout.write(`prism-dictate: service ${pid} stopped\n`);
          return;
        }
        // stopped (SIGSTOP) or wedged: it cannot act on SIGTERM; its engine goes with it
        process.kill(pid, 'SIGKILL');
        if (await gone(3000)) {
          await rm(servicePaths().pidFile, { force: true });
          process.stdout.write(`prism-dictate: service ${pid} did not stop within 10 s: killed\n`);
          return;
        }
        throw new WhisperError('SERVICE_UNAVAILABLE', `service ${pid} could not be stopped`);
      } catch (e) {
        report(e);
      }
    });

  program
    .command('status')
    .description('service state, backend, model, uptime, restarts, queue, events')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      try {
        const client = await connectOrExplain();
        const status = await client.status();
        client.close();
        if (o.json) {
          process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
          return;
        }
        const model = status.model as { path: string };
        const events = (status.events as Array<{ at: string; event: string; detail: string }>) ?? [];
        process.stdout.write(
          `${[
            `state     ${status.state} (service pid ${status.pid}, engine pid ${status.enginePid})`,
            `backend   ${status.backend} (${status.engine} engine)`,
            `model     ${model.path}`,
            `uptime    ${(Number(status.supervisorUptimeMs) / 1000).toFixed(0)} s; engine ready in ${Number(status.readyMs).toFixed(0)} ms`,
            `restarts  ${status.restarts}`,
            `queue     ${status.busy} running, ${status.queued} waiting`,
            `latency   ${
              Object.entries((status.latency as Record<string, { p50: number; p95: number }>) ?? {})
                .map(([k, v]) => `${k.replace('Ms', '')} ${v.p50.toFixed(0)}/${v.p95.toFixed(0)} ms`)
                .join(', ') || 'no requests yet'
            } (p50/p95)`,
            `errors    ${
              Object.entries((status.errors as Record<string, number>) ?? {})
                .map(([code, n]) => `${code} ×${n}`)
                .join(', ') || 'none'
            }`,
            ...hostLines(status.host as Record<string, unknown> | undefined),
            ...events.slice(-5).map((e) => `event     ${localTime(e.at)} ${e.event}: ${e.detail}`),
          ].join('\n')}\n`,
        );
      } catch (e) {
        report(e);
      }
    });
}
