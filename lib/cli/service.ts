/** `prism-dictate start | stop | status`: the supervised inference service. */
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { WhisperError } from '../errors.js';
import { ServiceClient } from '../service/client.js';
import { startService } from '../service/daemon.js';
import { servicePaths } from '../service/home.js';
import { report } from './exit.js';

interface StartOptions {
  model: string;
  gpu: 'auto' | 'cuda' | 'cpu';
  states: string;
  threads?: string;
  fallbackModel?: string;
  slowMs?: string;
  slowCount?: string;
  detach?: boolean;
}

async function connectOrExplain(): Promise<ServiceClient> {
  try {
    return await ServiceClient.connect(servicePaths().socket, 1000);
  } catch {
    throw new WhisperError('SERVICE_UNAVAILABLE', `no prism-dictate service is running for ${servicePaths().home} (start one: prism-dictate start --detach)`);
  }
}

async function waitReady(child: ReturnType<typeof spawn>, timeoutMs: number): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (Date.now() < end && !exited) {
    try {
      const client = await ServiceClient.connect(servicePaths().socket, 500);
      const status = await client.status();
      client.close();
      if (status.state === 'ready') return status;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new WhisperError(
    'SERVICE_UNAVAILABLE',
    exited ? `the service exited while starting; see ${servicePaths().log}` : `the service was not ready within ${timeoutMs} ms; see ${servicePaths().log}`,
  );
}

export function serviceCommands(program: Command): void {
  program
    .command('start')
    .description('start the service: the model loaded once, kept warm and supervised (Ctrl+C stops it)')
    .option('--model <path|name>', 'model file or pulled model name', process.env.PRISM_MODEL ?? 'base.en')
    .option('--gpu <mode>', 'auto | cuda | cpu', 'auto')
    .option('--states <n>', 'concurrent requests', '2')
    .option('--threads <n>', 'CPU threads')
    .option('--fallback-model <path|name>', 'model to use if the service has to fall back to the CPU')
    .option('--slow-ms <ms>', 'switch to the fallback engine when requests get slower than this…')
    .option('--slow-count <n>', '…this many times in a row', '3')
    .option('--detach', 'run in the background; return once the service is ready')
    .action(async (o: StartOptions) => {
      try {
        const running = await ServiceClient.connect(servicePaths().socket, 300).catch(() => undefined);
        if (running) {
          const pid = running.welcome.pid;
          running.close();
          throw new WhisperError('SERVICE_UNAVAILABLE', `a prism-dictate service is already running for ${servicePaths().home} (pid ${pid}); prism-dictate stop ends it`);
        }
        if (o.detach) {
          const paths = servicePaths();
          await mkdir(paths.home, { recursive: true, mode: 0o700 });
          const log = openSync(paths.log, 'a');
          const args = process.argv.slice(1).filter((a) => a !== '--detach');
          const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env: process.env });
          const status = await waitReady(child, 180_000);
          child.unref();
          process.stdout.write(`prism-dictate: service ready (pid ${child.pid}, ${status.backend}, engine ready in ${Number(status.readyMs).toFixed(0)} ms) on ${paths.socket}\n`);
          return;
        }
        const started = performance.now();
        const log = (line: string): void => {
          process.stderr.write(`prism-dictate: ${line}\n`);
        };
        log(`loading ${o.model} (${o.gpu})…`);
        const service = await startService({
          model: o.model,
          gpu: o.gpu,
          states: Number(o.states),
          threads: o.threads ? Number(o.threads) : undefined,
          fallbackModel: o.fallbackModel,
          log,
        });
        const st = service.supervisor.status();
        log(`ready in ${(performance.now() - started).toFixed(0)} ms on ${st.backend}; listening on ${service.paths.socket}`);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            log('stopping…');
            void service.stop().then(resolve);
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
        const client = await connectOrExplain();
        const pid = Number((await client.status()).pid);
        client.close();
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 100; i++) {
          try {
            process.kill(pid, 0);
          } catch {
            process.stdout.write(`prism-dictate: service ${pid} stopped\n`);
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new WhisperError('SERVICE_UNAVAILABLE', `service ${pid} did not stop within 10 s`);
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
          [
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
            `errors    ${JSON.stringify(status.errors ?? {})}`,
            ...events.slice(-5).map((e) => `event     ${e.at} ${e.event}: ${e.detail}`),
          ].join('\n') + '\n',
        );
      } catch (e) {
        report(e);
      }
    });
}
