/** startDaemon() in this process: the service, the dashboard and their order, without spawning the CLI. */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../lib/config/load.js';
import { type RunningDaemon, startDaemon } from '../lib/daemon.js';
import { readAudio } from '../lib/index.js';
import { ServiceClient } from '../lib/service/client.js';
import { servicePaths } from '../lib/service/home.js';
import { JFK, models, SCRIPT_25 } from './helpers.js';

let home: string;
let daemon: RunningDaemon;
const lines: string[] = [];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'prism-daemon-module-'));
  const config = validateConfig({ model: models().tiny, gpu: 'cpu', states: 1, dashboard: { port: 0 }, notify: false });
  daemon = await startDaemon(config, { host: false, paths: servicePaths(home), log: (line) => lines.push(line) });
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
});

describe.skipIf(process.platform === 'win32')('startDaemon', () => {
  it('serves the socket with the engine ready, and the dashboard, and logs what it did', async () => {
    expect(daemon.paths.home).toBe(home);
    expect(daemon.host).toBeUndefined();
    expect(daemon.engine.status().state).toBe('ready');
    expect(daemon.dashboard?.port).toBeGreaterThan(0);
    expect(lines.some((l) => l.startsWith('listening on '))).toBe(true);
    expect(lines.some((l) => /^dashboard on 127\.0\.0\.1:\d+/.test(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('dictation ready'))).toBe(false);

    const client = await ServiceClient.connect(daemon.paths.socket, 1000);
    try {
      const status = await client.status();
      // the engine's status, and the dashboard's part that the extension adds
      expect(status).toMatchObject({ state: 'ready', backend: 'cpu', engine: 'primary', restarts: 0 });
      expect((status.dashboard as { url: string }).url).toContain(`:${daemon.dashboard?.port}/`);
      expect((await client.transcribe(await readAudio(JFK), {})).text).toBe(SCRIPT_25);
    } finally {
      client.close();
    }
    expect(Number((await readFile(daemon.paths.pidFile, 'utf8')).trim())).toBe(process.pid);
  });

  it('stop() takes the service down once, however often it is called', async () => {
    await Promise.all([daemon.stop(), daemon.stop()]);
    expect(existsSync(daemon.paths.pidFile)).toBe(false);
    await expect(ServiceClient.connect(daemon.paths.socket, 300)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(daemon.engine.status().state).toBe('stopped');
  });
});
