/** `prism-dictate serve` as a person runs it: the built CLI in a child process, isolated by PRISM_DICTATE_HOME. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { JFK, models, root, SCRIPT_25 } from './helpers.js';

const bin = join(root, 'bin', 'prism-dictate.js');
let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'prism-serve-cli-'));
});

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
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
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
});
