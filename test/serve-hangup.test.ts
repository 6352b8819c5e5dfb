/**
 * A client that goes away stops its work (issue 25, item 2): its decoding (ffmpeg killed), its
 * transcription and its slot; and a server that closes stops what runs. ffmpeg is a stand-in that
 * never ends (PRISM_FFMPEG), so nothing here finishes by itself.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../lib/audio/wav.js';
import type { Engine } from '../lib/engine/contract.js';
import { listenApi, type RunningApi } from '../lib/web/api.js';
import { alive, STUB_TRANSCRIPT, stubHealth, tone } from './helpers.js';

const transcript = STUB_TRANSCRIPT;
const engine: Engine = { transcribe: async () => transcript };
const health = stubHealth;

/** The start of an M4A (an `ftyp` box), so the upload goes to ffmpeg. */
const m4a = Buffer.concat([Buffer.from('\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00M4A isom', 'latin1'), Buffer.alloc(4000, 0x11)]);
const wav = encodeWav(tone(1));

let dir: string;
let pids: string;
let api: RunningApi;
const ffmpegBefore = process.env.PRISM_FFMPEG;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prism-hangup-'));
  pids = join(dir, 'pids');
  const script = join(dir, 'ffmpeg');
  // records its pid, then waits forever as the same process (exec), as a live HLS playlist made ffmpeg do
  writeFileSync(script, `#!/bin/sh\nmkdir -p '${pids}'\necho $$ > '${pids}'/$$\nexec sleep 1000\n`);
  chmodSync(script, 0o755);
  process.env.PRISM_FFMPEG = script;
  api = await listenApi({ engine, health, port: 0, maxPending: 1 });
});

afterAll(async () => {
  await api?.close(100);
  for (const pid of started()) if (alive(pid)) process.kill(pid, 'SIGKILL');
  if (ffmpegBefore === undefined) delete process.env.PRISM_FFMPEG;
  else process.env.PRISM_FFMPEG = ffmpegBefore;
  rmSync(dir, { recursive: true, force: true });
});

/** The pids of the stand-in ffmpeg processes started so far. */
function started(): number[] {
  try {
    return readdirSync(pids).map(Number);
  } catch {
    return [];
  }
}

const boundary = 'prismHangup';
function multipart(file: Buffer, filename: string): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${filename}"\r\ncontent-type: application/octet-stream\r\n\r\n`),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

/** Sends a whole upload; resolves with the status, or 'gone' when the connection ends without one. */
function send(url: string, file: Buffer, filename: string): { status: Promise<number | 'gone'>; hangUp: () => void } {
  const body = multipart(file, filename);
  const req = request(`${url}/v1/audio/transcriptions`, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length },
  });
  const status = new Promise<number | 'gone'>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve('gone'));
  });
  req.end(body);
  return { status, hangUp: () => req.destroy() };
}

describe('a client that hangs up during decoding', () => {
  it('kills its ffmpeg and frees its slot: the next upload is served, not 429', async () => {
    const first = send(api.url, m4a, 'memo.m4a');
    await expect.poll(started, { timeout: 30_000 }).toHaveLength(1);
    const [pid] = started() as [number];
    expect(alive(pid)).toBe(true);
    // the one slot is held by the decoding
    expect(await send(api.url, wav, 'a.wav').status).toBe(429);
    first.hangUp();
    expect(await first.status).toBe('gone');
    await expect.poll(() => alive(pid), { timeout: 30_000 }).toBe(false);
    await expect.poll(() => send(api.url, wav, 'a.wav').status, { timeout: 30_000 }).toBe(200);
  });
});

describe('a server that closes with an upload being decoded', () => {
  it('answers it 503, kills its ffmpeg, and close() resolves', async () => {
    const other = await listenApi({ engine, health, port: 0 });
    const before = started().length;
    const pending = send(other.url, m4a, 'memo.m4a');
    await expect.poll(started, { timeout: 30_000 }).toHaveLength(before + 1);
    const pid = started().find((p) => alive(p)) as number;
    await other.close(0);
    expect(await pending.status).toBe(503);
    await expect.poll(() => alive(pid), { timeout: 30_000 }).toBe(false);
  });
});
