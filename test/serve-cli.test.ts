/** `prism-dictate serve` as a person runs it: the built CLI in a child process, isolated by PRISM_DICTATE_HOME. */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { servicePaths } from '../lib/service/home.js';
import { ServiceServer } from '../lib/service/server.js';
import { alive, JFK, models, root, SCRIPT_25, servedUrl } from './helpers.js';

const bin = join(root, 'bin', 'prism-dictate.js');
let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'prism-serve-cli-'));
});

/** The pids a stand-in ffmpeg recorded in `dir`. */
function pidsIn(dir: string): number[] {
  try {
    return readdirSync(dir).map(Number);
  } catch {
    return [];
  }
}

/** Alive and not a zombie waiting for whoever adopted it to reap it. */
function running(pid: number): boolean {
  try {
    return alive(pid) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const env = () => ({ ...process.env, PRISM_DICTATE_HOME: home, PRISM_DICTATE_API_TOKEN: '' });

describe('prism-dictate serve', () => {
  it('refuses a non-loopback address without a token (exit 2), before loading anything', () => {
    const r = spawnSync(process.execPath, [bin, 'serve', '--host', '0.0.0.0', '--model', '/nonexistent.bin'], { env: env(), encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'prism-dictate: refusing to serve on 0.0.0.0 without a token: anyone on the network could use it; pass --token (or PRISM_DICTATE_API_TOKEN) or --host 127.0.0.1 [BAD_ARGUMENT]\n',
    );
  });

  it.skipIf(process.platform === 'win32')(
    "--model of another model than the running service runs: refused naming both, never served on the service's model (issue 25, item 10)",
    async () => {
      const own = await mkdtemp(join(tmpdir(), 'prism-serve-which-'));
      const never = () => Promise.reject(new Error('the service was asked to transcribe'));
      const engine = { info: { backend: 'cpu', path: models().tiny, states: 1 }, busy: 0, queued: 0, transcribe: never };
      const service = await ServiceServer.listen({ socketPath: servicePaths(own).socket, model: engine });
      try {
        const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--model', models().tinyEn], { env: { ...env(), PRISM_DICTATE_HOME: own } });
        let stderr = '';
        child.stderr.on('data', (d) => {
          stderr += d;
        });
        const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
        expect(stderr).toContain(`--model ${models().tinyEn}: the running service (pid ${process.pid}) has another model, ${models().tiny}`);
        expect(code).toBe(2);
      } finally {
        await service.close();
      }
    },
  );

  it('refuses a bad --max-mb (exit 2)', () => {
    const r = spawnSync(process.execPath, [bin, 'serve', '--max-mb', 'lots'], { env: env(), encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--max-mb must be a positive number \(got 'lots'\)/);
  });

  it('starts its own service, prints the URL, transcribes, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--token', 'cli-token', '--model', models().tiny, '--gpu', 'cpu', '--states', '1'], { env: env() });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const url = await servedUrl(child, () => stderr);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/audio\/transcriptions$/);
    const f = new FormData();
    f.append('file', new Blob([await readFile(JFK)]), 'jfk.wav');
    f.append('response_format', 'text');
    const r = await fetch(url, { method: 'POST', body: f, headers: { authorization: 'Bearer cli-token' } });
    expect(await r.text()).toBe(`${SCRIPT_25}\n`);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/serving on http:\/\/127\.0\.0\.1:\d+ \(token required\); 25 MiB \/ 600 s per request\nprism-dictate: stopping…\n/);
  });

  it('SIGTERM with an upload being decoded: answers it 503, exits promptly, leaves no process behind (issue 25, item 2)', async () => {
    // an ffmpeg that never ends (what a live HLS playlist made the real one do), recording its pid
    const pids = join(home, 'ffmpeg-pids');
    const script = join(home, 'ffmpeg');
    await writeFile(script, `#!/bin/sh\nmkdir -p '${pids}'\necho $$ > '${pids}'/$$\nexec sleep 1000\n`);
    await chmod(script, 0o755);
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--model', models().tiny, '--gpu', 'cpu', '--states', '1'], {
      env: { ...env(), PRISM_FFMPEG: script },
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const url = await servedUrl(child, () => stderr);
      const boundary = 'prismCli';
      const m4a = Buffer.concat([Buffer.from('\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom', 'latin1'), Buffer.alloc(4000, 0x11)]);
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="memo.m4a"\r\n\r\n`),
        m4a,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const status = new Promise<number | 'gone'>((resolve) => {
        const req = request(url, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length } });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve('gone'));
        req.end(body);
      });
      await expect.poll(() => pidsIn(pids), { timeout: 60_000 }).toHaveLength(1);
      // everything serve started: its service's engine, and the ffmpeg decoding the upload
      const descendants = execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean)
        .map(Number);
      expect(descendants).toContain(pidsIn(pids)[0]);
      child.kill('SIGTERM');
      let deadline: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<string>((r) => (deadline = setTimeout(() => r('still running after 30 s'), 30_000)))]);
      clearTimeout(deadline);
      expect(code).toBe(0);
      expect(await status).toBe(503);
      for (const pid of descendants) await expect.poll(() => running(pid), { timeout: 10_000 }).toBe(false);
      expect(stderr).toMatch(
        /serving on http:\/\/127\.0\.0\.1:\d+ \(no token: this machine only, as localhost, 127\.0\.0\.1 or \[::1\]\); 25 MiB \/ 600 s per request\n[\s\S]*prism-dictate: stopping…\n/,
      );
    } finally {
      child.kill('SIGKILL');
      for (const pid of pidsIn(pids)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
