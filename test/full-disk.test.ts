/**
 * `start` on a full disk: the service cannot write its pid file (here a link to /dev/full, where every
 * write fails with ENOSPC). It must say so, stop what it started and exit non-zero, in the foreground
 * and with --detach.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { models, root } from './helpers.js';

const linux = process.platform === 'linux' && existsSync('/dev/full');

async function fullHome(...files: string[]): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'prism-full-'));
  for (const f of ['service.pid', ...files]) symlinkSync('/dev/full', join(home, f));
  return home;
}

function start(home: string, ...args: string[]) {
  return spawnSync(process.execPath, [join(root, 'bin', 'prism-dictate.js'), 'start', '--no-host', '--model', models().tiny, '--gpu', 'cpu', ...args], {
    env: { ...process.env, PRISM_DICTATE_HOME: home },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe.skipIf(!linux)('start on a full disk', () => {
  it('in the foreground: says the disk is full, stops what it started, exits 7', async () => {
    const home = await fullHome();
    const r = start(home);
    expect(r.error, 'it must exit on its own, not serve on').toBeUndefined();
    expect(r.status).toBe(7);
    expect(r.stderr).toMatch(/cannot write .*service\.pid: the disk is full; the service did not start/);
    expect(existsSync(join(home, 'service.sock'))).toBe(false);
  });

  it('with --detach: the same message, not a pointer to an empty log', async () => {
    const home = await fullHome();
    const r = start(home, '--detach');
    expect(r.status).toBe(7);
    expect(r.stderr).toMatch(/the service exited while starting \(code 7\): cannot write .*service\.pid: the disk is full/);
    expect(existsSync(join(home, 'service.sock'))).toBe(false);
  });

  it('with --detach and a log it cannot write either: says the log is empty and why that may be', async () => {
    const home = await fullHome('service.log');
    const r = start(home, '--detach');
    expect(r.status).toBe(7);
    expect(r.stderr).toMatch(/wrote nothing to .*service\.log: is the disk full\?/);
  });
});
