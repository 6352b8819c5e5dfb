/** prism-dictate start --detach | status | transcribe | stop, as a person runs them. */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JFK, models, root, SCRIPT_25 } from './helpers.js';

let home: string;
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bin', 'prism-dictate.js'), ...args], { env: { ...process.env, PRISM_DICTATE_HOME: home }, encoding: 'utf8', timeout: 200_000 });
const status = () => JSON.parse(cli('status', '--json').stdout) as Record<string, unknown>;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'prism-daemon-'));
});

afterAll(() => {
  cli('stop');
});

describe.skipIf(process.platform === 'win32')('prism-dictate service', () => {
  it('start --detach returns once the model is warm; status shows it', () => {
    const started = cli('start', '--detach', '--model', models().tiny, '--gpu', 'cpu', '--states', '2');
    expect(started.stderr).toBe('');
    expect(started.status).toBe(0);
    expect(started.stdout).toMatch(/service ready \(pid \d+, cpu, engine ready in \d+ ms\)/);
    // the pid file and the log are the user's alone
    expect(statSync(join(home, 'service.pid')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'service.log')).mode & 0o777).toBe(0o600);
    expect(status()).toMatchObject({ state: 'ready', backend: 'cpu', restarts: 0, busy: 0, queued: 0 });
  });

  it('with no microphone (this headless machine) the daemon runs, says why it cannot record, and keeps trying', () => {
    const host = status().host as { state: string; microphone: string };
    expect(host.state).toBe('idle');
    expect(host.microphone).toMatch(/microphone|input device|naudiodon2/i);
    const r = cli('toggle');
    expect(r.status).toBe(8);
    expect(r.stderr).toMatch(/cannot record: .*\[MIC_UNAVAILABLE\]/);
  });

  it('a second start names the running one and exits 0: what was asked is there (issue 27, item 5)', () => {
    const pid = JSON.parse(cli('status', '--json').stdout).pid;
    const again = cli('start', '--detach', '--model', models().tiny);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`already running for .* \\(pid ${pid}\\): nothing to start`));
    expect(JSON.parse(cli('status', '--json').stdout).pid).toBe(pid); // the same daemon, untouched
  });

  it('transcribe uses the running service', () => {
    const r = cli('transcribe', '--json', JFK);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ via: 'service', text: SCRIPT_25 });
    expect(status().latency).toMatchObject({ totalMs: { p50: expect.any(Number), p95: expect.any(Number) }, encodeMs: expect.any(Object) });
    expect(cli('status').stdout).toMatch(/latency\s+queue \d+\/\d+ ms/);
  });

  it('a killed engine is restarted and the restart shows in status', async () => {
    const before = status();
    process.kill(before.enginePid as number, 'SIGKILL');
    for (let i = 0; i < 100; i++) {
      const s = status();
      if (s.state === 'ready' && s.enginePid !== before.enginePid) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = status();
    expect(after).toMatchObject({ state: 'ready', restarts: 1 });
    expect(cli('status').stdout).toMatch(/restarts\s+1/);
    expect(JSON.parse(cli('transcribe', '--json', JFK).stdout)).toMatchObject({ via: 'service', text: SCRIPT_25 });
  });

  it('stop ends it; then status says nothing is running (exit 7), and a second stop exits 0 saying so', () => {
    const stopped = cli('stop');
    expect(stopped.status).toBe(0);
    const s = cli('status');
    expect(s.status).toBe(7);
    expect(s.stderr).toMatch(/prism-dictate is not running for .* \(start it: prism-dictate start\)/); // the same words as every other command
    // stopping what is not running is what was asked: said, exit 0 (issue 27, item 5)
    const again = cli('stop');
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/prism-dictate is not running for .*: nothing to stop/);
  });
});
