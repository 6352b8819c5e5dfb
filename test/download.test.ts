/** The downloader against a real HTTP server on 127.0.0.1 serving a generated model. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download, inspectModelFile } from '../lib/index.js';
import { models } from './helpers.js';

let server: Server;
let base: string;
let payload: Buffer;
let sha256: string;
let sha1: string;
let dir: string;
const requests: Array<{ path: string; range?: string }> = [];
let cutOnce = true;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '/';
  requests.push({ path, range: req.headers.range });
  if (path.startsWith('/missing')) {
    res.writeHead(404).end('not here');
    return;
  }
  if (path.startsWith('/stall')) {
    res.writeHead(200, { 'content-length': payload.length });
    res.write(payload.subarray(0, 1024)); // then nothing, forever
    return;
  }
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const from = range && !path.startsWith('/norange') ? Number(range[1]) : 0;
  if (from >= payload.length) {
    res.writeHead(416).end();
    return;
  }
  const body = payload.subarray(from);
  res.writeHead(from > 0 ? 206 : 200, { 'content-length': body.length, ...(from > 0 ? { 'content-range': `bytes ${from}-${payload.length - 1}/${payload.length}` } : {}) });
  if (path.startsWith('/cut') && cutOnce) {
    cutOnce = false;
    res.write(body.subarray(0, 30_000_000), () => res.destroy());
    return;
  }
  res.end(body);
}

beforeAll(async () => {
  payload = await readFile(models().tinyEn);
  sha256 = createHash('sha256').update(payload).digest('hex');
  sha1 = createHash('sha1').update(payload).digest('hex');
  dir = await mkdtemp(join(tmpdir(), 'prism-dl-'));
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('download', () => {
  it('downloads, verifies the SHA-256 and leaves only the final file', async () => {
    const dest = join(dir, 'ok.bin');
    const progress: number[] = [];
    const r = await download({ url: `${base}/ok/model.bin`, dest, sha256, onProgress: (p) => progress.push(p.received) });
    expect(r).toMatchObject({ bytes: payload.length, resumedFrom: 0, checksum: sha256 });
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect((await inspectModelFile(dest)).tensors).toBe(167);
    expect(progress.at(-1)).toBe(payload.length);
    expect(progress.length).toBeGreaterThan(1);
  });

  it('resumes an interrupted download where it stopped', async () => {
    const dest = join(dir, 'cut.bin');
    const first = await download({ url: `${base}/cut/model.bin`, dest, sha1 }).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringMatching(/resume/) });
    expect(existsSync(dest)).toBe(false);
    const partial = (await stat(`${dest}.part`)).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(payload.length);
    requests.length = 0;
    const r = await download({ url: `${base}/cut/model.bin`, dest, sha1 });
    expect(requests[0]?.range).toBe(`bytes=${partial}-`);
    expect(r.resumedFrom).toBe(partial);
    expect(r.checksum).toBe(sha1);
    expect(
      createHash('sha1')
        .update(await readFile(dest))
        .digest('hex'),
    ).toBe(sha1);
  });

  it('starts again when the server ignores the range', async () => {
    const dest = join(dir, 'norange.bin');
    await writeFile(`${dest}.part`, payload.subarray(0, 1000));
    const r = await download({ url: `${base}/norange/model.bin`, dest, sha256 });
    expect(r.resumedFrom).toBe(0);
    expect(r.bytes).toBe(payload.length);
  });

  it('deletes the file and says so when the checksum does not match', async () => {
    const dest = join(dir, 'bad.bin');
    await expect(download({ url: `${base}/ok/model.bin`, dest, sha256: 'f'.repeat(64) })).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('reports a 404 clearly', async () => {
    const dest = join(dir, 'missing.bin');
    await expect(download({ url: `${base}/missing/model.bin`, dest, sha256 })).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringMatching(/404/) });
    expect(existsSync(dest)).toBe(false);
  });

  it('gives up on a stalled server and keeps the partial file for later', async () => {
    const dest = join(dir, 'stall.bin');
    const started = performance.now();
    await expect(download({ url: `${base}/stall/model.bin`, dest, sha256, stallMs: 300 })).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      message: expect.stringMatching(/no data for 300 ms/),
    });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(existsSync(dest)).toBe(false);
    expect((await stat(`${dest}.part`)).size).toBe(1024);
  });

  it('stops when the caller aborts', async () => {
    const dest = join(dir, 'abort.bin');
    await expect(download({ url: `${base}/stall/model.bin`, dest, sha256, signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED' });
  });
});
