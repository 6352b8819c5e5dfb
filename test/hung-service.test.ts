/**
 * A daemon that is stopped (SIGSTOP) or wedged still has its socket accept connections in the kernel.
 * Clients must not hang on it: the handshake and every request have a deadline, and the CLI exits 7.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceClient } from '../lib/service/client.js';
import { servicePaths } from '../lib/service/home.js';
import { root } from './helpers.js';

const home = mkdtempSync(join(tmpdir(), 'prism-hung-'));
const socket = servicePaths(home).socket;
const held: Socket[] = [];
let server: Server;

beforeAll(async () => {
  // accepts and reads, never answers: what a SIGSTOPped supervisor looks like from outside
  server = createServer((s) => {
    held.push(s);
    s.resume();
  });
  await new Promise<void>((r) => server.listen(socket, r));
});

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => server.close(r));
  rmSync(home, { recursive: true, force: true });
});

describe('a service that accepts but never answers', () => {
  it('connect() gives up on the handshake with SERVICE_UNAVAILABLE', async () => {
    const t0 = performance.now();
    await expect(ServiceClient.connect(socket, 300)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/did not answer/) });
    expect(performance.now() - t0).toBeLessThan(4000);
  });

  it('`prism-dictate status` and `toggle` exit 7 within seconds instead of hanging', () => {
    for (const cmd of ['status', 'toggle']) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [join(root, 'bin', 'prism-dictate.js'), cmd], {
        env: { ...process.env, PRISM_DICTATE_HOME: home },
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.status, `${cmd}: ${r.stderr}`).toBe(7);
      expect(performance.now() - t0).toBeLessThan(8000);
    }
  });

  it('`prism-dictate stop` stops it by its pid file: SIGTERM, then SIGKILL for a stopped process', async () => {
    // a stand-in daemon that is SIGSTOPped: its pid in the pid file, the hung socket above
    const daemon = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const pid = daemon.pid as number;
    writeFileSync(servicePaths(home).pidFile, `${pid}\n`);
    process.kill(pid, 'SIGSTOP');
    const exited = new Promise((r) => daemon.once('exit', (_code, signal) => r(signal)));
    const r = spawnSync(process.execPath, [join(root, 'bin', 'prism-dictate.js'), 'stop'], {
      env: { ...process.env, PRISM_DICTATE_HOME: home },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toMatch(/does not answer.*stopping pid \d+/);
    expect(r.stdout).toMatch(new RegExp(`service ${pid} did not stop within 10 s: killed`));
    expect(r.status).toBe(0);
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(servicePaths(home).pidFile)).toBe(false);
  }, 40_000);
});
