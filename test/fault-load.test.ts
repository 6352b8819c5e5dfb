/**
 * Faults under load, as the service meets them: 8 clients keep sending while the engine is SIGKILLed
 * three times and SIGSTOPped once, and then the supervisor process itself is SIGKILLed. Every request
 * must be answered — with the right text, or with a clear error — none lost, none hanging; after each
 * engine fault a new engine serves, and a killed supervisor must leave no engine behind. What must
 * hold is asserted whatever the machine's load (order of events, counts; deadlines only against
 * hanging); how fast the service recovers is printed here and measured by the bench.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudio, WhisperError } from '../lib/index.js';
import { ServiceClient } from '../lib/service/client.js';
import { servicePaths } from '../lib/service/home.js';
import { ServiceServer } from '../lib/service/server.js';
import { Supervisor } from '../lib/service/supervisor.js';
import { alive, JFK, models, root, SCRIPT_25 } from './helpers.js';

const posix = process.platform !== 'win32';
/** How long a step may take before the test calls it hung: only against hanging, never a speed limit (a loaded 2-core machine is slow). */
const HUNG_MS = 180_000;
let dir: string;
let jfk: Float32Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prism-faults-'));
  jfk = await readAudio(JFK);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function until(test: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** 8 clients sending jfk back to back until stopped; every answer and every error counted. */
function load(clients: ServiceClient[]) {
  const tally = { sent: 0, right: 0, wrong: 0, inFlight: 0, errors: {} as Record<string, number> };
  const rightPer = clients.map(() => 0);
  let stopping = false;
  const loops = clients.map(async (client, i) => {
    while (!stopping) {
      tally.sent++;
      tally.inFlight++;
      try {
        const r = await client.transcribe(jfk, { audioCtx: 'auto' });
        if (r.text === SCRIPT_25) {
          tally.right++;
          rightPer[i] = (rightPer[i] ?? 0) + 1;
        } else tally.wrong++;
      } catch (e) {
        const code = e instanceof WhisperError ? e.code : `unexpected ${(e as Error).name}: ${(e as Error).message}`;
        tally.errors[code] = (tally.errors[code] ?? 0) + 1;
        if (tally.errors[code] === 1) console.log(`first ${code}: ${(e as Error).message}`);
        if (code === 'SERVICE_UNAVAILABLE') return; // this client's service is gone: nothing more to send it
      } finally {
        tally.inFlight--;
      }
    }
  });
  return {
    tally,
    /** how many right answers each client has had: when all have moved on, every earlier request has settled */
    rightPer: () => [...rightPer],
    answered: () => tally.right + tally.wrong + Object.values(tally.errors).reduce((a, b) => a + b, 0),
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

describe.skipIf(!posix)('faults under load', () => {
  it('engine SIGKILL ×3 and SIGSTOP ×1 under 8 clients: every request answered right, a new engine after each fault', async () => {
    const supervisor = new Supervisor({ model: models().tiny, gpu: 'cpu', states: 2, socketPath: join(dir, 'engine.sock'), healthIntervalMs: 200, healthTimeoutMs: 500 });
    await supervisor.start();
    const server = await ServiceServer.listen({ socketPath: join(dir, 'service.sock'), model: supervisor });
    const clients = await Promise.all(Array.from({ length: 8 }, () => ServiceClient.connect(server.socketPath)));
    const run = load(clients);
    const recoveries: string[] = [];
    try {
      // each fault strikes while all 8 clients have a request in flight, once every client has had an
      // answer since the previous one (so no request meets two faults: the supervisor retries once)
      let before = run.rightPer();
      for (const signal of ['SIGKILL', 'SIGKILL', 'SIGSTOP', 'SIGKILL'] as const) {
        const since = before;
        await until(() => run.rightPer().every((n, i) => n > (since[i] ?? 0)) && run.tally.inFlight === 8, HUNG_MS, 'every client served, all in flight');
        before = run.rightPer();
        const pid = supervisor.status().enginePid as number;
        const at = performance.now();
        process.kill(pid, signal);
        // a stopped engine is found by the health check (every 200 ms; 500 ms without an answer and
        // without CPU used), then replaced; a killed one at once
        await until(() => supervisor.status().state === 'ready' && supervisor.status().enginePid !== pid, HUNG_MS, `a new engine after ${signal}`);
        const ms = performance.now() - at;
        recoveries.push(`${signal} ${ms.toFixed(0)} ms`);
        console.log(`${signal}: ready again in ${ms.toFixed(0)} ms; ${JSON.stringify(run.tally)}`);
        expect(alive(pid), `the engine that got ${signal} is gone once its successor serves`).toBe(false);
      }
      const last = run.rightPer();
      await until(() => run.rightPer().every((n, i) => n > (last[i] ?? 0)), HUNG_MS, 'every client served after the last fault');
    } finally {
      await run.stop();
      for (const c of clients) c.close();
      await server.close();
      await supervisor.stop();
    }
    console.log(`engine faults under load: ${JSON.stringify(run.tally)}; recovery ${recoveries.join(', ')}; restarts ${supervisor.status().restarts}`);
    expect(run.answered()).toBe(run.tally.sent); // none lost, none hanging
    expect(run.tally.wrong).toBe(0);
    expect(run.tally.errors).toEqual({}); // the supervisor retries what a dead engine held
    expect(supervisor.status().restarts).toBe(4);
  }, 900_000);

  it('supervisor SIGKILL under 8 clients: each gets a clear SERVICE_UNAVAILABLE at once, the engine goes too, a new start serves', async () => {
    const home = join(dir, 'home');
    const env = { ...process.env, PRISM_DICTATE_HOME: home };
    const paths = servicePaths(home);
    const startDaemon = (): ChildProcess =>
      spawn(process.execPath, [join(root, 'bin', 'prism-dictate.js'), 'start', '--no-host', '--model', models().tiny, '--gpu', 'cpu', '--states', '2'], { env, stdio: 'ignore' });
    const ready = async (): Promise<Record<string, unknown> | undefined> => {
      try {
        const c = await ServiceClient.connect(paths.socket, 500);
        try {
          const s = await c.status();
          return s.state === 'ready' ? s : undefined;
        } finally {
          c.close();
        }
      } catch {
        return undefined;
      }
    };

    const daemon = startDaemon();
    let again: ChildProcess | undefined;
    try {
      let status: Record<string, unknown> | undefined;
      await until(
        async () => {
          status = await ready();
          return status !== undefined;
        },
        HUNG_MS,
        'the daemon',
      );
      const enginePid = Number(status?.enginePid);
      const clients = await Promise.all(Array.from({ length: 8 }, () => ServiceClient.connect(paths.socket)));
      const run = load(clients);
      await until(() => run.tally.right >= 4 && run.tally.inFlight >= 4, HUNG_MS, 'requests in flight');
      const killedAt = performance.now();
      daemon.kill('SIGKILL');
      // every loop ends on its SERVICE_UNAVAILABLE: none waits for an answer that cannot come (the deadline is only against a hang)
      let stopped = false;
      const stopping = run.stop().then(() => {
        stopped = true;
      });
      await until(() => stopped, HUNG_MS, 'every client to be told');
      await stopping;
      const toldMs = performance.now() - killedAt;
      await until(() => !alive(enginePid), HUNG_MS, 'the orphaned engine to exit');
      const engineGoneMs = performance.now() - killedAt;
      for (const c of clients) c.close();

      const restartAt = performance.now();
      again = startDaemon();
      await until(async () => (await ready()) !== undefined, HUNG_MS, 'the new daemon');
      const restartMs = performance.now() - restartAt;
      const client = await ServiceClient.connect(paths.socket);
      expect((await client.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
      client.close();
      console.log(
        `supervisor SIGKILL under load: ${JSON.stringify(run.tally)}; every client told in ${toldMs.toFixed(0)} ms; engine gone after ${engineGoneMs.toFixed(0)} ms; a new start ready in ${restartMs.toFixed(0)} ms`,
      );
      expect(run.answered()).toBe(run.tally.sent);
      expect(run.tally.wrong).toBe(0);
      expect(Object.keys(run.tally.errors)).toEqual(['SERVICE_UNAVAILABLE']);
    } finally {
      daemon.kill('SIGKILL');
      again?.kill('SIGTERM');
      await new Promise((r) => (again ? again.once('exit', r) : r(undefined)));
    }
  }, 900_000);
});
