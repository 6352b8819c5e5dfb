/**
 * An engine process whose supervisor dies while the model is still loading must not live on under
 * init (each one holds hundreds of MiB): it goes with its parent, at any point.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, models, root } from './helpers.js';

const dir = await mkdtemp(join(tmpdir(), 'prism-orphan-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('an engine whose supervisor is killed', () => {
  it.each([
    ['while the model loads', 100],
    ['after it is ready', 4000],
  ])(
    '%s exits too',
    async (_when, killAfterMs) => {
      const pidFile = join(dir, `engine-${killAfterMs}.pid`);
      const config = { model: models().base, gpu: 'cpu', states: 1, socketPath: join(dir, `engine-${killAfterMs}.sock`) };
      // a stand-in supervisor: forks the engine as the real one does, writes its pid, then waits
      const parentScript = [
        "const { fork } = require('node:child_process');",
        "const { writeFileSync } = require('node:fs');",
        `const child = fork(${JSON.stringify(join(root, 'dist', 'service', 'engineProcess.js'))}, [${JSON.stringify(JSON.stringify(config))}], { stdio: 'ignore' });`,
        `writeFileSync(${JSON.stringify(pidFile)}, String(child.pid));`,
        'setInterval(() => {}, 1000);',
      ].join('\n');
      const parent = spawn(process.execPath, ['-e', parentScript], { stdio: 'ignore' });
      for (let i = 0; i < 200 && !existsSync(pidFile); i++) await sleep(10);
      const engine = Number(readFileSync(pidFile, 'utf8'));
      expect(alive(engine)).toBe(true);
      await sleep(killAfterMs);
      parent.kill('SIGKILL');
      const deadline = Date.now() + 5000;
      while (alive(engine) && Date.now() < deadline) await sleep(25);
      const orphaned = alive(engine);
      if (orphaned) process.kill(engine, 'SIGKILL');
      expect(orphaned).toBe(false);
    },
    20_000,
  );
});
