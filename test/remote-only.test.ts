/**
 * `prism-dictate start --engine URL` with `remote.fallback: false`: a thin client's daemon loads no
 * model (its configured model does not even exist), and what reaches its socket is transcribed by the
 * remote `serve`. Both are the built CLI in child processes, isolated by PRISM_DICTATE_HOME.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JFK, models, root, SCRIPT_25 } from './helpers.js';

const bin = join(root, 'bin', 'prism-dictate.js');
const TOKEN = 'thin-client-token';

/** Starts `prism-dictate ARGS` and resolves once a line of its output matches `ready`. */
async function run(home: string, args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; out: () => string }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, PRISM_DICTATE_HOME: home, PRISM_MODEL: '', PRISM_DICTATE_API_TOKEN: '' } });
  let out = '';
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const seen = (d: Buffer) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve(m);
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => reject(new Error(`prism-dictate ${args[0]} exited (${code}):\n${out}`)));
  });
  return { child, match, out: () => out };
}

const stopped = (child: ChildProcess): Promise<number | null> => {
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  return exited;
};

describe('a daemon with only a remote engine', () => {
  let serverHome: string;
  let clientHome: string;
  let server: Awaited<ReturnType<typeof run>>;
  let daemon: Awaited<ReturnType<typeof run>>;
  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, PRISM_DICTATE_HOME: clientHome, PRISM_MODEL: '' }, encoding: 'utf8' });

  beforeAll(async () => {
    serverHome = await mkdtemp(join(tmpdir(), 'prism-remote-server-'));
    clientHome = await mkdtemp(join(tmpdir(), 'prism-remote-client-'));
    server = await run(
      serverHome,
      ['serve', '--port', '0', '--token', TOKEN, '--model', models().tiny, '--gpu', 'cpu', '--states', '1'],
      /(http:\/\/127\.0\.0\.1:\d+)\/v1\/audio\/transcriptions\n/,
    );
    await writeFile(join(clientHome, 'config.json'), JSON.stringify({ model: '/nonexistent/ggml-large.bin', remote: { fallback: false } }));
    daemon = await run(clientHome, ['start', '--no-host', '--engine', server.match[1] as string, '--engine-token', TOKEN], /listening on .*\n/);
  });

  afterAll(async () => {
    if (daemon) expect(await stopped(daemon.child)).toBe(0);
    if (server) await stopped(server.child);
    await rm(serverHome, { recursive: true, force: true });
    await rm(clientHome, { recursive: true, force: true });
  });

  it('loads nothing: no engine process, and says where transcriptions go', () => {
    expect(daemon.out()).toContain(`no local model: every transcription goes to ${server.match[1]} (remote.fallback is off)`);
    expect(daemon.out()).toMatch(new RegExp(`listening on .*; engine remote ${server.match[1]} \\(\\d+ ms after the start\\)`));
    const pid = daemon.child.pid as number;
    expect(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()).toBe('');
    const status = JSON.parse(cli('status', '--json').stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ state: 'ready', engine: 'remote', backend: `remote ${server.match[1]}`, enginePid: null, restarts: 0 });
  });

  it('what reaches its socket is transcribed by the remote server', () => {
    const r = cli('transcribe', JFK, '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { text: string; backend: string }; // one JSON line per file
    expect(out.text.trim()).toBe(SCRIPT_25);
    expect(out.backend).toBe('remote:cpu');
    const status = JSON.parse(cli('status', '--json').stdout) as { latency: Record<string, unknown> };
    expect(Object.keys(status.latency)).toEqual(['totalMs']);
  });
});
