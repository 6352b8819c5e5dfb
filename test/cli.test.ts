/** prism-dictate as a person runs it: the built CLI in a child process, isolated by PRISM_DICTATE_HOME. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JFK, models, root, SCRIPT_25 } from './helpers.js';

const bin = join(root, 'bin', 'prism-dictate.js');
let home: string;
let server: Server;
let base: string;
let payload: Buffer;

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, PRISM_DICTATE_HOME: home, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'prism-home-'));
  payload = await readFile(models().tinyEn);
  server = createServer((req, res) => {
    if (!req.url?.endsWith('.bin')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': payload.length }).end(payload);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('prism-dictate models', () => {
  it('lists the official models, none pulled yet', async () => {
    const r = await cli(['models', 'list', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { cache: string; models: Array<{ name: string; pulled: boolean }> };
    expect(out.cache).toBe(join(home, 'models'));
    expect(out.models.map((m) => m.name)).toEqual(expect.arrayContaining(['tiny', 'base.en', 'medium', 'large-v3-turbo', 'large-v3-turbo-q5_0']));
    expect(out.models.every((m) => !m.pulled)).toBe(true);
  });

  it('pulls a model by URL with a checksum, then path and rm find it', async () => {
    const sha256 = createHash('sha256').update(payload).digest('hex');
    const pulled = await cli(['models', 'pull', 'mine', '--url', `${base}/ggml-mine.bin`, '--sha256', sha256]);
    expect(pulled.stderr).toBe('');
    expect(pulled.code).toBe(0);
    const file = pulled.stdout.trim();
    expect(file).toBe(join(home, 'models', 'ggml-mine.bin'));
    expect((await cli(['models', 'path', 'mine'])).stdout.trim()).toBe(file);
    const removed = await cli(['models', 'rm', 'mine']);
    expect(removed.code).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect((await cli(['models', 'path', 'mine'])).code).toBe(3);
  });

  it('refuses a download whose checksum is wrong (exit 5) and leaves nothing behind', async () => {
    const r = await cli(['models', 'pull', 'tiny.en', '--quiet'], { PRISM_MODEL_BASE_URL: base });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/checksum mismatch.*CHECKSUM_MISMATCH/s);
    expect(existsSync(join(home, 'models', 'ggml-tiny.en.bin'))).toBe(false);
    expect(existsSync(join(home, 'models', 'ggml-tiny.en.bin.part'))).toBe(false);
  });

  it('explains unknown names and missing arguments', async () => {
    const unknown = await cli(['models', 'pull', 'huge-v9']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/unknown model "huge-v9"/);
    const noSum = await cli(['models', 'pull', 'x', '--url', `${base}/x.bin`]);
    expect(noSum.code).toBe(2);
    expect(noSum.stderr).toMatch(/--sha256/);
    expect((await cli(['models', 'frobnicate'])).code).toBe(2);
  });

  it('makes a test model', async () => {
    const out = join(home, 'made.bin');
    const r = await cli(['models', 'make-test', 'tiny', '--english', '--script', 'hello,world', '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ path: out, size: 'tiny', english: true, expectedText: ' hello world' });
  });
});

describe('prism-dictate transcribe', () => {
  it('prints the text, or one JSON object per file', async () => {
    const plain = await cli(['transcribe', '--model', models().tiny, JFK]);
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toBe(SCRIPT_25);
    const json = await cli(['transcribe', '--json', '--audio-ctx', 'auto', '--model', models().tiny, JFK, JFK]);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ file: JFK, text: SCRIPT_25, backend: 'cpu' });
    expect(lines[1].audioCtx).toBeLessThan(1500);
  });

  it('exit codes scripts can rely on: 3 no model, 4 bad audio', async () => {
    const noModel = await cli(['transcribe', '--model', join(home, 'nope.bin'), JFK]);
    expect(noModel.code).toBe(3);
    expect(noModel.stderr).toMatch(/not found/);
    const badAudio = await cli(['transcribe', '--model', models().tiny, join(root, 'package.json')]);
    expect(badAudio.code).toBe(4);
    expect(badAudio.stderr).toMatch(/not a WAV/);
  });
});

describe('prism-dictate system', () => {
  it('reports the backend', async () => {
    const r = await cli(['system', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ whisperVersion: '1.9.1', cudaBuild: false });
  });

  it('says what was tried and how to fix it when the addon cannot load', async () => {
    const r = await cli(['system'], { PRISM_WHISPER_BINARY: join(home, 'missing.node') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not be loaded/);
    expect(r.stderr).toMatch(/Tried: PRISM_WHISPER_BINARY/);
    expect(r.stderr).toMatch(/npm rebuild prism-whisper/);
    expect(r.stderr).toMatch(/NATIVE_MISSING/);
  });
});
