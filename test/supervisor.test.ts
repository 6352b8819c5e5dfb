/** Faults the supervised engine must survive: a crash mid-request, a hang, a model that cannot load, no GPU. */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readAudio } from '../lib/index.js';
import { nativeAddon } from '../lib/native.js';
import { ServiceClient } from '../lib/service/client.js';
import { cpuTimeMs } from '../lib/service/cpuTime.js';
import { ServiceServer } from '../lib/service/server.js';
import { Supervisor } from '../lib/service/supervisor.js';
import { JFK, models, SCRIPT_10, SCRIPT_25 } from './helpers.js';

let dir: string;
let jfk: Float32Array;
const running: Supervisor[] = [];
const sock = (name: string) => (process.platform === 'win32' ? `\\\\.\\pipe\\prism-sup-${process.pid}-${name}` : join(dir, name));

function supervisor(name: string, o: Partial<ConstructorParameters<typeof Supervisor>[0]> = {}): Supervisor {
  const s = new Supervisor({ model: models().tiny, gpu: 'cpu', socketPath: sock(name), healthIntervalMs: 250, healthTimeoutMs: 750, ...o });
  running.push(s);
  return s;
}

/** Waits for a state the test needs; the deadline only guards against a hang (a loaded machine restarts an engine slowly). */
async function until(test: () => boolean, ms = 90_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prism-sup-'));
  jfk = await readAudio(JFK);
});

afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

describe('supervisor', () => {
  it('reports ready only once the model is loaded and warm', async () => {
    const s = supervisor('ready.sock');
    await s.start();
    expect(s.status()).toMatchObject({ state: 'ready', backend: 'cpu', restarts: 0 });
    expect(s.status().readyMs).toBeGreaterThan(0);
    expect((await s.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
  });

  it('SIGKILL mid-request: the engine restarts and the utterance still yields its text', async () => {
    const s = supervisor('kill.sock');
    await s.start();
    const pid = s.status().enginePid as number;
    // killed when the engine streams the first window's segment of a 44 s clip: the second window is
    // then being transcribed, so the request is in flight for certain (never after a sleep)
    const long = new Float32Array(jfk.length * 4);
    for (let k = 0; k < 4; k++) long.set(jfk, k * jfk.length);
    let killedAt = 0;
    let busyAtKill = -1;
    const pending = s.transcribe(long, {
      onSegment: () => {
        if (killedAt) return;
        busyAtKill = s.busy;
        killedAt = performance.now();
        process.kill(pid, 'SIGKILL');
      },
    });
    pending.catch(() => undefined); // awaited below, after the restart
    await until(() => killedAt > 0);
    expect(busyAtKill).toBe(1);
    await until(() => s.status().state === 'ready' && s.status().enginePid !== pid);
    const recoveredMs = performance.now() - killedAt;
    const result = await pending;
    console.log(
      `crash → ready again in ${recoveredMs.toFixed(0)} ms (engine start ${Number(s.status().readyMs).toFixed(0)} ms); in-flight request answered after ${(performance.now() - killedAt).toFixed(0)} ms`,
    );
    expect(result.text).toBe(`${SCRIPT_25} ${SCRIPT_25}`);
    expect(s.status()).toMatchObject({ restarts: 1 });
    expect((s.status().events as Array<{ event: string }>).map((e) => e.event)).toEqual(['started', 'crashed', 'restarted']);
    expect(recoveredMs).toBeLessThan(10_000);
  });

  it('a hung engine misses its health deadline, is killed and replaced; the request is retried', async () => {
    // Idle checks a minute apart: the request itself must bring the next check within the busy interval.
    const s = supervisor('hang.sock', {
      idleHealthIntervalMs: 60_000,
      env: { ...process.env, PRISM_TEST_HANG_MS: '60000', PRISM_TEST_HANG_MARKER: join(dir, 'hung-once') },
    });
    await s.start();
    const started = performance.now();
    const result = await s.transcribe(jfk, { audioCtx: 'auto' });
    const ms = performance.now() - started;
    console.log(`hang → answer after ${ms.toFixed(0)} ms`);
    expect(result.text).toBe(SCRIPT_25);
    expect((s.status().events as Array<{ event: string }>).map((e) => e.event)).toContain('hung');
    expect(ms).toBeLessThan(20_000); // 250 ms checks + 750 ms deadline + a restart; not the minute
  }, 60_000);

  it('an engine that stops answering while idle is found by the (slower) idle health check and replaced', async () => {
    const s = supervisor('idle-hang.sock', { idleHealthIntervalMs: 1000 });
    await s.start();
    const pid = s.status().enginePid as number;
    process.kill(pid, 'SIGSTOP'); // alive, but answers nothing
    const stopped = performance.now();
    await until(() => s.status().state === 'ready' && s.status().enginePid !== pid);
    console.log(`idle engine stopped → replaced after ${(performance.now() - stopped).toFixed(0)} ms`);
    expect((s.status().events as Array<{ event: string; detail: string }>).find((e) => e.event === 'hung')?.detail).toMatch(`killing pid ${pid}`);
    expect((await s.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
  }, 60_000);

  it('a model that cannot load fails start() with its own error, without restarting forever', async () => {
    const s = supervisor('nomodel.sock', { model: join(dir, 'missing.bin') });
    await expect(s.start()).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(s.status()).toMatchObject({ state: 'failed', restarts: 0 });
  });

  it.skipIf(nativeAddon().cuda)('a GPU engine that cannot start falls back to the CPU and says so', async () => {
    const s = supervisor('gpu.sock', { gpu: 'cuda' });
    await s.start();
    expect(s.status()).toMatchObject({ state: 'ready', backend: 'cpu', gpu: 'cpu' });
    const events = s.status().events as Array<{ event: string; detail: string }>;
    expect(events[0]).toMatchObject({ event: 'fallback', detail: expect.stringMatching(/cuda → cpu/) });
  });

  it('through the supervisor: 8 clients × 25 requests, none lost, none duplicated; IPC cost of two hops', async () => {
    const s = supervisor('proxy-engine.sock', { states: 2 });
    await s.start();
    const server = await ServiceServer.listen({ socketPath: sock('proxy.sock'), model: s });
    const clients = await Promise.all(Array.from({ length: 8 }, () => ServiceClient.connect(server.socketPath)));
    const silence = new Float32Array(5 * 16000);
    const times: number[] = [];
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now();
      await clients[0]?.transcribe(silence);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    console.log(`IPC round trip through the supervisor (client → supervisor → engine → back), 5 s utterance, no inference: p50 ${times[20]?.toFixed(2)} ms`);
    const seen = new Set<number>();
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < 25; i++) {
          const samples = 16000 + (c * 25 + i) * 160;
          const r = await client.transcribe(i % 5 === 0 ? jfk.subarray(0, samples) : new Float32Array(samples), { audioCtx: 'auto' });
          expect(seen.has(r.audioMs)).toBe(false);
          expect(r.audioMs).toBe(samples / 16);
          seen.add(r.audioMs);
        }
      }),
    );
    expect(seen.size).toBe(200);
    for (const c of clients) c.close();
    await server.close();
  }, 120_000);

  it('a run of slow requests moves work to the fallback engine; switching back on request', async () => {
    const s = supervisor('slow.sock', { slowMs: 1, slowCount: 2, fallbackModel: models().tinyEn });
    await s.start();
    expect((await s.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
    expect((await s.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
    await until(() => s.status().engine === 'fallback' && s.status().state === 'ready');
    expect(s.status()).toMatchObject({ backend: 'cpu', gpu: 'cpu' });
    expect((await s.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_10); // the fallback model speaks
    const pending = s.transcribe(jfk); // in flight while the engines swap: retried on the new one
    const back = await s.control({ action: 'switch', to: 'primary' });
    expect(back).toMatchObject({ engine: 'primary' });
    expect((await pending).text.length).toBeGreaterThan(0);
    expect((await s.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
    const switches = (s.status().events as Array<{ event: string; detail: string }>).filter((e) => e.event === 'switched').map((e) => e.detail);
    expect(switches).toEqual([expect.stringMatching(/fallback .*2 requests in a row slower than 1 ms/), expect.stringMatching(/primary .*on request/)]);
    await expect(s.control({ action: 'reboot' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  }, 60_000);
  it('a reported GPU fault restarts the engine, and the request is retried on the new one', async () => {
    const s = supervisor('fault.sock', { env: { ...process.env, PRISM_TEST_GPU_FAULT_MARKER: join(dir, 'faulted-once') } });
    await s.start();
    const pid = s.status().enginePid as number;
    expect((await s.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
    expect(s.status().enginePid).not.toBe(pid);
    expect(s.status()).toMatchObject({ restarts: 1 });
    const crashed = (s.status().events as Array<{ event: string; detail: string }>).find((e) => e.event === 'crashed');
    expect(crashed?.detail).toMatch(/reported a GPU error: CUDA error: an illegal memory access/);
  });

  it('after an automatic fallback, probes the primary engine and moves back once it works', async () => {
    const primary = join(dir, 'primary.bin');
    await writeFile(primary, 'not a model yet');
    const s = supervisor('probe.sock', { model: primary, gpu: 'auto', fallbackModel: models().tiny, fallbackAfter: 1, probePrimaryMs: 300 });
    await s.start();
    expect(s.status()).toMatchObject({ engine: 'fallback', gpu: 'cpu' });
    const events = () => s.status().events as Array<{ event: string; detail: string }>;
    await until(() => events().some((e) => e.event === 'probe' && /still fails/.test(e.detail)));
    await copyFile(models().tiny, primary); // the primary works again
    await until(() => s.status().engine === 'primary');
    expect(events().at(-1)?.detail).toMatch(/back to the primary engine .* after a healthy probe/);
    expect((await s.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
    expect(s.status().engine).toBe('primary');
  });
});

describe.skipIf(process.platform !== 'linux')('cpuTimeMs (how a late engine is told from a stopped one)', () => {
  it("reads a process's CPU time from /proc; it grows while the process works and not at all while it is stopped", async () => {
    const before = (await cpuTimeMs(process.pid)) as number;
    const until = performance.now() + 150;
    while (performance.now() < until); // work
    expect(((await cpuTimeMs(process.pid)) as number) - before).toBeGreaterThanOrEqual(50);
    const child = spawn(process.execPath, ['-e', 'for (;;);'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      process.kill(child.pid as number, 'SIGSTOP');
      const stopped = await cpuTimeMs(child.pid as number);
      await new Promise((r) => setTimeout(r, 300));
      expect(await cpuTimeMs(child.pid as number)).toBe(stopped);
    } finally {
      child.kill('SIGKILL');
    }
    expect(await cpuTimeMs(999_999_999)).toBeUndefined();
  });
});
