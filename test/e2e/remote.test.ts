/**
 * `prism-dictate start --engine http://host:port`: a daemon on the headless desktop sends its
 * dictations to a `prism-dictate serve` elsewhere (here: another process with its own service and
 * token), and transcribes on its own service while that server is gone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { models, SCRIPT_25 } from '../helpers.js';
import { bin, type Daemon, moduleMissing, type Rec, startDaemon } from './daemon.js';
import { type Desktop, desktopMissing, startDesktop } from './desktop.js';

const missing = desktopMissing() ?? moduleMissing('naudiodon2');
const TOKEN = 'remote-engine-test-token';

/** `prism-dictate serve` in a home of its own (so it loads its own model); resolves with its base URL. */
async function startServer(home: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--token', TOKEN, '--model', models().tiny, '--gpu', 'cpu', '--states', '1'], {
    env: { ...process.env, PRISM_DICTATE_HOME: home, PRISM_MODEL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d;
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      const m = /^(http:\/\/[^/\s]+)\/v1\/audio\/transcriptions$/m.exec(d);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}):\n${err}`)));
  });
  return { url, child };
}

describe.skipIf(missing)(`a daemon on a remote engine${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let desktop: Desktop;
  let daemon: Daemon;
  let server: { url: string; child: ChildProcess };
  let serverHome: string;
  let speech: string;

  beforeAll(async () => {
    desktop = await startDesktop();
    speech = await desktop.speak('The meeting moved to Thursday at three.');
    serverHome = await mkdtemp(join(tmpdir(), 'prism-e2e-serve-'));
    server = await startServer(serverHome);
    daemon = await startDaemon(desktop, { hotkey: { enabled: false }, output: { method: 'clipboard' } }, '--engine', server.url, '--engine-token', TOKEN);
  });

  afterAll(async () => {
    server?.child.kill('SIGTERM');
    expect(await daemon?.stop()).toBe(0);
    await desktop?.stop();
    await rm(serverHome, { recursive: true, force: true });
  });

  const history = (): Rec[] => JSON.parse(String(daemon.cli('history', '--json').stdout)) as Rec[];
  /** whether the daemon's own service has transcribed anything (its latency summary is empty until then) */
  const localUsed = (): boolean => {
    const status = JSON.parse(String(daemon.cli('status', '--json').stdout)) as { latency?: Record<string, unknown> };
    return Object.keys(status.latency ?? {}).length > 0;
  };

  async function dictate(count: number): Promise<Rec> {
    expect(String(daemon.cli('toggle').stdout)).toBe('prism-dictate: recording\n');
    await desktop.play(speech);
    // hands-free: the phrase is transcribed at its pause; the next toggle ends the dictation
    expect(String(daemon.cli('toggle').stdout)).toBe('prism-dictate: transcribing\n');
    await expect.poll(() => history().filter((r) => r.state !== 'captured').length, { timeout: 60_000, interval: 250 }).toBe(count);
    return history()[0] as Rec;
  }

  it('dictations go to the remote server, with its token', async () => {
    expect(daemon.log.join('\n')).toContain(`engine     ${server.url}, this machine while it cannot be reached`);
    const rec = await dictate(1);
    expect(rec).toMatchObject({ state: 'copied', text: `${SCRIPT_25} `, backend: 'remote:cpu' });
    expect(localUsed()).toBe(false);
  });

  it('the server gone: the dictation is transcribed on this machine and the user is told', async () => {
    const exited = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await exited;
    const rec = await dictate(2);
    expect(rec).toMatchObject({ state: 'copied', text: `${SCRIPT_25} `, backend: 'cpu' });
    expect(localUsed()).toBe(true);
    await expect
      .poll(() => daemon.log.join('\n'), { timeout: 5000 })
      .toMatch(/the remote engine failed \(cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/audio\/transcriptions: ECONNREFUSED\); transcribing on this machine/);
  });
});
