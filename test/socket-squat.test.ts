/**
 * The per-user socket folder of a deep home (issue 25, item 6): another local user who makes the folder
 * first, or listens at the socket's name, is refused with a clear message — `start` does not say
 * "already running", and `transcribe` sends it no audio. Being root here, the test plays the other user
 * by handing the folder (or the socket) to uid 65534 (nobody).
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ServiceClient } from '../lib/service/client.js';
import { fallbackSocketDir, servicePaths } from '../lib/service/home.js';
import { serveEngine } from '../lib/service/start.js';
import { JFK, models, root } from './helpers.js';

const OTHER_UID = 65534;
const isRoot = process.getuid?.() === 0;
const saved = { TMPDIR: process.env.TMPDIR, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };
let base: string;
let tmp: string;
let home: string;

const engine = { info: { backend: 'cpu', path: 'stub.bin', states: 1 }, busy: 0, queued: 0, transcribe: () => Promise.reject(new Error('unused')) };

/** Someone listening at `path`, counting who connects and what they send. */
async function squatter(path: string): Promise<{ server: Server; connections: number; bytes: number }> {
  const s = { server: createServer(), connections: 0, bytes: 0 };
  s.server.on('connection', (c) => {
    s.connections++;
    c.on('data', (d: Buffer) => {
      s.bytes += d.length;
    });
  });
  await new Promise<void>((r) => s.server.listen(path, r));
  return s;
}

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'prism-squat-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

beforeEach(async () => {
  tmp = await mkdtemp(join(base, 't'));
  process.env.TMPDIR = tmp;
  delete process.env.XDG_RUNTIME_DIR;
  home = join(tmp, 'a-home-too-deep-for-a-socket-path'.repeat(4));
});
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe.skipIf(process.platform === 'win32')('the per-user socket folder', () => {
  it('a deep home gets its sockets in <tmp>/prism-dictate-<uid>, made 0700, and works there', async () => {
    const paths = servicePaths(home);
    expect(dirname(paths.socket)).toBe(join(tmp, `prism-dictate-${process.getuid?.()}`));
    expect(dirname(paths.engineSocket)).toBe(fallbackSocketDir());
    const running = await serveEngine(engine, paths);
    try {
      expect(lstatSync(dirname(paths.socket)).mode & 0o777).toBe(0o700);
      const client = await ServiceClient.connect(paths.socket, 1000);
      expect((await client.health()).ok).toBe(true);
      client.close();
    } finally {
      await running.stop();
    }
  });

  it('XDG_RUNTIME_DIR, when set, holds the folder instead', () => {
    const runtime = join(tmp, 'run');
    mkdirSync(runtime, { mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = runtime;
    expect(dirname(servicePaths(home).socket)).toBe(join(runtime, 'prism-dictate'));
  });

  it('a folder of ours that others may write to (0777), or a symbolic link in its place: refused, by the service and by clients', async () => {
    const paths = servicePaths(home);
    const dir = dirname(paths.socket);
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const squat = await squatter(paths.socket);
    try {
      await expect(ServiceClient.connect(paths.socket, 1000)).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        message: expect.stringMatching(/refusing the socket folder .*: its mode is 0777, not 0700/),
      });
      await expect(serveEngine(engine, paths)).rejects.toThrow(/refusing the socket folder/);
      expect(squat.connections).toBe(0);
    } finally {
      await new Promise((r) => squat.server.close(r));
    }
    await rm(dir, { recursive: true });
    const elsewhere = join(tmp, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    symlinkSync(elsewhere, dir);
    await expect(serveEngine(engine, paths)).rejects.toThrow(/refusing the socket folder .*: it is a symbolic link/);
  });

  it.runIf(isRoot)(
    "another user's folder, with its socket listening: refused with a clear message, never 'already running'; not a byte sent",
    async () => {
      const paths = servicePaths(home);
      const dir = dirname(paths.socket);
      mkdirSync(dir, { mode: 0o700 });
      const squat = await squatter(paths.socket);
      chownSync(dir, OTHER_UID, OTHER_UID);
      chownSync(paths.socket, OTHER_UID, OTHER_UID);
      try {
        const refused = /refusing the socket folder .*: it belongs to uid 65534, not to you \(uid 0\)\. Someone else may have made it/;
        await expect(ServiceClient.connect(paths.socket, 1000)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(refused) });
        const e = await serveEngine(engine, paths).catch((x: unknown) => x);
        expect(e).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(refused) });
        expect((e as Error).message).not.toMatch(/already running/);
        // the CLI, as the person runs it: start refuses the folder; transcribe works here, without the squatter
        const env = { ...process.env, TMPDIR: tmp, PRISM_DICTATE_HOME: home, PRISM_MODEL: '' };
        const cli = (args: string[]) =>
          new Promise<{ code: number | null; stderr: string }>((resolve) => {
            const child = spawn(process.execPath, [join(root, 'bin', 'prism-dictate.js'), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
            let stderr = '';
            child.stderr.on('data', (d) => {
              stderr += d;
            });
            child.on('close', (code) => resolve({ code, stderr }));
          });
        const start = await cli(['start', '--no-host', '--gpu', 'cpu', '--model', models().tiny]);
        expect(start.stderr).toMatch(refused);
        expect(start.stderr).not.toMatch(/already running/);
        expect(start.code).toBe(7);
        // the commands that talk to a running daemon say the same, never "not running"
        for (const command of ['status', 'stop', 'toggle', 'dashboard']) {
          const said = await cli([command]);
          expect(said.stderr, command).toMatch(refused);
          expect(said.stderr, command).not.toMatch(/not running/);
        }
        const transcribe = await cli(['transcribe', '--gpu', 'cpu', '--model', models().tiny, JFK]);
        expect(transcribe.code, transcribe.stderr).toBe(0);
        expect(squat.connections).toBe(0);
        expect(squat.bytes).toBe(0);
      } finally {
        await new Promise((r) => squat.server.close(r));
      }
    },
    60_000,
  );

  it.runIf(isRoot)('a socket of another user in a folder of ours: clients do not connect to it', async () => {
    const own = await mkdtemp(join(tmp, 'h'));
    const paths = servicePaths(own);
    expect(dirname(paths.socket)).toBe(own);
    const squat = await squatter(paths.socket);
    chownSync(paths.socket, OTHER_UID, OTHER_UID);
    try {
      await expect(ServiceClient.connect(paths.socket, 1000)).rejects.toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        message: expect.stringMatching(/refusing to connect to .*service\.sock: it belongs to uid 65534, not to you/),
      });
      expect(squat.connections).toBe(0);
    } finally {
      await new Promise((r) => squat.server.close(r));
    }
  });
});
