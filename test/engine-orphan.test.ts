/**
 * An engine process whose supervisor dies must not live on under init (each one holds hundreds of
 * MiB), nor go on with calls nobody can receive: it goes with its parent at any point — while the
 * model loads, idle, busy with a long clip and more queued, or with its main thread blocked (where it
 * hears no 'disconnect'). The deadlines are generous (a loaded machine must not fail them); the time
 * to exit is printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, models, root } from './helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'prism-orphan-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

interface Stage {
  /** calls of `seconds` of audio sent once the engine is ready */
  calls?: number;
  seconds?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * A stand-in supervisor: forks the engine as the real one does and prints a JSON line per step —
 * {pid}, {ready}, then, with calls, {busy} once one call runs and at least one more waits.
 */
function standIn(name: string, stage: Stage): { parent: ChildProcess; log: string; socketPath: string; steps: AsyncIterator<Record<string, unknown>> } {
  const log = join(dir, `${name}.log`);
  const socketPath = join(dir, `${name}.sock`);
  const config = { model: models().base, gpu: 'cpu', states: 1, socketPath };
  const script = `
    const { fork } = require('node:child_process');
    const engine = fork(${JSON.stringify(join(root, 'dist', 'service', 'engineProcess.js'))}, [${JSON.stringify(JSON.stringify(config))}], {
      stdio: 'ignore', env: { ...process.env, PRISM_TEST_ENGINE_LOG: ${JSON.stringify(log)}, ...${JSON.stringify(stage.env ?? {})} } });
    const say = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
    say({ pid: engine.pid });
    engine.once('message', async (m) => {
      say({ ready: m.type });
      const calls = ${stage.calls ?? 0};
      if (!calls) return;
      const { ServiceClient } = await import(${JSON.stringify(join(root, 'dist', 'service', 'client.js'))});
      const c = await ServiceClient.connect(${JSON.stringify(socketPath)});
      const pcm = new Float32Array(${Math.round((stage.seconds ?? 0) * 16000)});
      for (let i = 0; i < pcm.length; i++) pcm[i] = 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16000);
      for (let i = 0; i < calls; i++) c.transcribe(pcm, {}).catch(() => undefined);
      if (${JSON.stringify(stage.env?.PRISM_TEST_HANG_MS ?? '')}) return; // its main thread blocks: no status comes
      for (;;) {
        const s = await c.status();
        if (s.busy >= 1 && s.queued >= 1) return say({ busy: s.busy, queued: s.queued });
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: parent.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  return {
    parent,
    log,
    socketPath,
    steps: {
      next: async () => {
        const r = await lines.next();
        return r.done ? r : { done: false, value: JSON.parse(r.value) as Record<string, unknown> };
      },
    },
  };
}

async function step(steps: AsyncIterator<Record<string, unknown>>, key: string): Promise<Record<string, unknown>> {
  const r = await steps.next();
  if (r.done) throw new Error(`the stand-in supervisor ended before "${key}"`);
  expect(Object.keys(r.value)).toContain(key);
  return r.value;
}

/** SIGKILLs the stand-in supervisor; resolves with how long its engine took to exit (it is killed after the deadline). */
async function killParent(parent: ChildProcess, engine: number, deadlineMs = 20_000): Promise<{ exited: boolean; ms: number }> {
  const killed = performance.now();
  parent.kill('SIGKILL');
  while (alive(engine) && performance.now() - killed < deadlineMs) await sleep(5);
  const exited = !alive(engine);
  if (!exited) process.kill(engine, 'SIGKILL');
  return { exited, ms: performance.now() - killed };
}

const logLines = (log: string): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);

describe('an engine whose supervisor is killed', () => {
  it('while the model loads: exits too', async () => {
    const { parent, steps, log } = standIn('loading', {});
    const engine = Number((await step(steps, 'pid')).pid);
    await sleep(100); // somewhere in the load (or before it)
    const { exited, ms } = await killParent(parent, engine);
    console.log(`orphaned while loading: the engine exited ${ms.toFixed(0)} ms after its supervisor was killed`);
    expect(exited).toBe(true);
    expect(logLines(log).at(-1) ?? 'orphaned: (before it could say so)').toMatch(/^orphaned: /);
  }, 60_000);

  it('ready and idle: exits too, its socket removed', async () => {
    const { parent, steps, log, socketPath } = standIn('idle', {});
    const engine = Number((await step(steps, 'pid')).pid);
    await step(steps, 'ready');
    expect(existsSync(socketPath)).toBe(true);
    const { exited, ms } = await killParent(parent, engine);
    console.log(`orphaned idle: the engine exited ${ms.toFixed(0)} ms after its supervisor was killed`);
    expect(exited).toBe(true);
    expect(logLines(log)).toEqual([expect.stringMatching(/^orphaned: /)]);
    expect(existsSync(socketPath)).toBe(false);
  }, 60_000);

  it('busy with a long clip and more queued: exits, running calls aborted, queued ones never run (issue 25, item 11)', async () => {
    const calls = 4;
    const { parent, steps, log } = standIn('busy', { calls, seconds: 60 });
    const engine = Number((await step(steps, 'pid')).pid);
    await step(steps, 'ready');
    const busy = await step(steps, 'busy');
    const { exited, ms } = await killParent(parent, engine);
    const lines = logLines(log);
    console.log(
      `orphaned busy (${JSON.stringify(busy)} of ${calls} × 60 s, base, CPU): the engine exited ${ms.toFixed(0)} ms after its supervisor was killed; its log: ${JSON.stringify(lines)}`,
    );
    expect(exited).toBe(true);
    // its last word is that it was orphaned: no call ran to its end after that, and those waiting never ran
    expect(lines.at(-1)).toMatch(/^orphaned: /);
    expect(lines.filter((l) => l === 'done').length).toBeLessThan(calls - 1);
  }, 120_000);

  it('with its main thread blocked (no "disconnect" can be heard): exits all the same (issue 25, item 11)', async () => {
    const marker = join(dir, 'hang.marker');
    // the first call blocks the engine's main thread for a minute, as a long synchronous step would
    const { parent, steps, log } = standIn('blocked', { calls: 2, seconds: 5, env: { PRISM_TEST_HANG_MS: '60000', PRISM_TEST_HANG_MARKER: marker } });
    const engine = Number((await step(steps, 'pid')).pid);
    await step(steps, 'ready');
    while (!existsSync(marker)) await sleep(10);
    const { exited, ms } = await killParent(parent, engine);
    console.log(`orphaned with a blocked main thread: the engine exited ${ms.toFixed(0)} ms after its supervisor was killed (the block lasts 60 s)`);
    expect(exited).toBe(true);
    expect(logLines(log)).toEqual(['orphaned: the parent pid changed (seen by the watch thread)']);
  }, 120_000);
});
