/** The downloader against a real HTTP server on 127.0.0.1 serving a generated model. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, lstat, mkdir, mkdtemp, open, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { download, inspectModelFile } from '../lib/index.js';
import { models, root } from './helpers.js';

// A full disk without a full disk: writes to a partial file whose name ends in `full.bin.part` fail with
// ENOSPC (a symbolic link to /dev/full would do it for real, but links are refused now, and rightly).
vi.mock('node:fs/promises', async (importOriginal) => {
  const fsp = await importOriginal<typeof import('node:fs/promises')>();
  const open = async (...args: Parameters<typeof fsp.open>) => {
    const fh = await fsp.open(...args);
    if (!String(args[0]).endsWith('full.bin.part')) return fh;
    return new Proxy(fh, {
      get(target, key) {
        if (key === 'write') return async () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  return { ...fsp, open, default: { ...fsp, open } };
});

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
  if (path.startsWith('/busy')) {
    res.writeHead(503).end('busy');
    return;
  }
  if (path.startsWith('/short')) {
    // promises the whole file, sends 1000 bytes and ends the response
    res.writeHead(200, { 'content-length': payload.length });
    res.write(payload.subarray(0, 1000), () => res.destroy());
    return;
  }
  if (path.startsWith('/stall')) {
    res.writeHead(200, { 'content-length': payload.length });
    res.write(payload.subarray(0, 1024)); // then nothing, forever
    return;
  }
  if (path.startsWith('/slow')) {
    // the whole file in 16 pieces, 40 ms apart: long enough for a second download to find the first
    res.writeHead(200, { 'content-length': payload.length });
    const step = Math.ceil(payload.length / 16);
    let at = 0;
    const next = (): void => {
      if (res.destroyed) return;
      res.write(payload.subarray(at, at + step));
      at += step;
      if (at >= payload.length) res.end();
      else setTimeout(next, 40);
    };
    next();
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
  // a proxy in the developer's environment would change what "a host name that does not resolve" gives (test/download-proxy.test.ts covers proxies)
  for (const v of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY']) delete process.env[v];
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

  describe('a partial file someone else planted is never written through', () => {
    it.skipIf(process.platform === 'win32')('a .part symbolic link to a file of the user: refused, the file untouched (and no checksum mismatch can leave damage)', async () => {
      const dest = join(dir, 'planted.bin');
      const victim = join(dir, 'victim.txt');
      await writeFile(victim, 'precious\n');
      await symlink(victim, `${dest}.part`);
      requests.length = 0;
      await expect(download({ url: `${base}/ok/planted.bin`, dest, sha256: 'f'.repeat(64) })).rejects.toMatchObject({
        code: 'DOWNLOAD_FAILED',
        message: expect.stringMatching(/planted\.bin\.part is a symbolic link, not a partial download: refusing to write through it; remove it/),
      });
      expect(await readFile(victim, 'utf8')).toBe('precious\n');
      expect((await lstat(`${dest}.part`)).isSymbolicLink()).toBe(true); // left for the person to look at
      expect(requests).toEqual([]); // nothing was fetched
      expect(existsSync(dest)).toBe(false);
    });

    it.skipIf(process.platform === 'win32')('a dangling link (to where a file would be created) and a hard link: refused too', async () => {
      const dest = join(dir, 'dangling.bin');
      const target = join(dir, 'would-be-created.txt');
      await symlink(target, `${dest}.part`);
      await expect(download({ url: `${base}/ok/dangling.bin`, dest, sha256 })).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringMatching(/symbolic link/) });
      expect(existsSync(target)).toBe(false);
      const hard = join(dir, 'hard.bin');
      const victim = join(dir, 'victim2.txt');
      await writeFile(victim, 'precious\n');
      await link(victim, `${hard}.part`);
      await expect(download({ url: `${base}/ok/hard.bin`, dest: hard, sha256 })).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringMatching(/has 2 names/) });
      expect(await readFile(victim, 'utf8')).toBe('precious\n');
    });
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

  describe('each failure names its cause and the next step', () => {
    const nextStep = /PRISM_MODEL_BASE_URL.*--model FILE/;

    it('a refused connection', async () => {
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r));
      const e = await download({ url: `http://127.0.0.1:${port}/model.bin`, dest: join(dir, 'refused.bin'), sha256 }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringMatching(/refused the connection \(ECONNREFUSED\)/) });
      expect((e as Error).message).toMatch(nextStep);
    });

    it('a host name that does not resolve', async () => {
      const e = await download({ url: 'http://prism-whisper-test.invalid/model.bin', dest: join(dir, 'dns.bin'), sha256 }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringMatching(/could not be resolved \(DNS: (ENOTFOUND|EAI_AGAIN|EAI_NONAME)\)/) });
      expect((e as Error).message).toMatch(nextStep);
    });

    it('a missing file (404) and a failing server (503)', async () => {
      await expect(download({ url: `${base}/missing/model.bin`, dest: join(dir, 'm404.bin'), sha256 })).rejects.toMatchObject({
        message: expect.stringMatching(/answered 404 Not Found: no such file there.*PRISM_MODEL_BASE_URL/),
      });
      await expect(download({ url: `${base}/busy/model.bin`, dest: join(dir, 'm503.bin'), sha256 })).rejects.toMatchObject({
        message: expect.stringMatching(/answered 503 Service Unavailable: the server failed; run it again later/),
      });
    });

    it('a server that stops sending: timed out, resumable', async () => {
      await expect(download({ url: `${base}/stall/model.bin`, dest: join(dir, 'slow.bin'), sha256, stallMs: 200 })).rejects.toMatchObject({
        message: expect.stringMatching(/interrupted after 1024 bytes: timed out: no data for 200 ms; run the same command again to resume/),
      });
    });

    it('a body cut short: says how much came and that it resumes', async () => {
      await expect(download({ url: `${base}/short/model.bin`, dest: join(dir, 'short.bin'), sha256 })).rejects.toMatchObject({
        code: 'DOWNLOAD_FAILED',
        message: expect.stringMatching(/(ended early \(\d+ of \d+ bytes\)|interrupted after \d+ bytes).*(resume|run it again)/),
      });
    });

    it('a full disk: says so, and where', async () => {
      const dest = join(dir, 'full.bin');
      await expect(download({ url: `${base}/ok/model.bin`, dest, sha256 })).rejects.toMatchObject({
        code: 'DOWNLOAD_FAILED',
        message: expect.stringMatching(/the disk is full: .*free some space \(df -h /),
      });
      expect(existsSync(dest)).toBe(false);
    });
  });

  describe('one download per destination', () => {
    const fetches = (path: string): number => requests.filter((r) => r.path === path).length;

    it('two at once: one fetches, the other waits for it and uses its file', async () => {
      const dest = join(dir, 'twice.bin');
      const url = `${base}/slow/twice.bin`;
      const waits: string[] = [];
      const [a, b] = await Promise.all([download({ url, dest, sha256, onWait: () => waits.push('a') }), download({ url, dest, sha256, onWait: () => waits.push('b') })]);
      expect(waits).toHaveLength(1); // whichever came second
      expect(fetches('/slow/twice.bin')).toBe(1);
      expect([a.checksum, b.checksum]).toEqual([sha256, sha256]);
      expect(
        createHash('sha256')
          .update(await readFile(dest))
          .digest('hex'),
      ).toBe(sha256);
      expect(existsSync(`${dest}.part`)).toBe(false);
      expect(existsSync(`${dest}.lock`)).toBe(false);
    });

    it('two processes at once (two `models pull`): the second waits, neither corrupts the file', async () => {
      const dest = join(dir, 'procs.bin');
      const url = `${base}/slow/procs.bin`;
      const script = [
        `import { download } from ${JSON.stringify(join(root, 'dist', 'index.js'))};`,
        `const r = await download({ url: ${JSON.stringify(url)}, dest: ${JSON.stringify(dest)}, sha256: ${JSON.stringify(sha256)}, onWait: () => console.log('waiting') });`,
        'console.log(r.checksum);',
      ].join('\n');
      const run = (): Promise<{ code: number | null; out: string }> =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
          });
          child.on('exit', (code) => resolve({ code, out }));
        });
      const results = await Promise.all([run(), run()]);
      expect(results.map((r) => r.code)).toEqual([0, 0]);
      for (const r of results) expect(r.out.trim().split('\n').at(-1)).toBe(sha256);
      expect(results.filter((r) => r.out.includes('waiting'))).toHaveLength(1);
      expect(fetches('/slow/procs.bin')).toBe(1);
      expect(
        createHash('sha256')
          .update(await readFile(dest))
          .digest('hex'),
      ).toBe(sha256);
    });

    it('checks the file on disk, not the bytes it streamed: a partial file written to by someone else is refused', async () => {
      const dest = join(dir, 'foreign.bin');
      let spoiled: Promise<void> | undefined;
      const err = await download({
        url: `${base}/slow/foreign.bin`,
        dest,
        sha256,
        onProgress: () => {
          // a writer that ignores the lock overwrites the start of the partial file
          spoiled ??= open(`${dest}.part`, 'r+').then(async (fh) => {
            await fh.write(Buffer.alloc(4096, 7), 0, 4096, 0);
            await fh.close();
          });
        },
      }).catch((e: unknown) => e);
      await spoiled;
      expect(err).toMatchObject({ code: 'CHECKSUM_MISMATCH' });
      expect(existsSync(dest)).toBe(false);
      expect(existsSync(`${dest}.part`)).toBe(false);
    });

    it('takes over the lock of a download that died (not refreshed for 10 s)', async () => {
      const dest = join(dir, 'stale.bin');
      await mkdir(`${dest}.lock`);
      const old = new Date(Date.now() - 60_000);
      await utimes(`${dest}.lock`, old, old);
      const waits: number[] = [];
      const r = await download({ url: `${base}/ok/stale.bin`, dest, sha256, onWait: () => waits.push(1) });
      expect(r.checksum).toBe(sha256);
      expect(waits).toEqual([]);
    });

    it('takes over a lock whose modification time is in the future (which never goes stale), instead of waiting forever', async () => {
      const dest = join(dir, 'future.bin');
      await mkdir(`${dest}.lock`);
      const future = new Date(Date.now() + 3_600_000);
      await utimes(`${dest}.lock`, future, future);
      const waits: number[] = [];
      const r = await download({ url: `${base}/ok/future.bin`, dest, sha256, onWait: () => waits.push(1), signal: AbortSignal.timeout(20_000) });
      expect(r.checksum).toBe(sha256);
      expect(waits).toEqual([]);
      expect(existsSync(`${dest}.lock`)).toBe(false);
    });

    it('stops waiting when the caller aborts', async () => {
      const dest = join(dir, 'abort-wait.bin');
      let fetching: () => void = () => {};
      const firstFetching = new Promise<void>((r) => {
        fetching = r;
      });
      const first = download({ url: `${base}/slow/abort-wait.bin`, dest, sha256, onProgress: () => fetching() });
      await firstFetching;
      const ac = new AbortController();
      const second = download({ url: `${base}/slow/abort-wait.bin`, dest, sha256, signal: ac.signal, onWait: () => ac.abort() });
      await expect(second).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringMatching(/while waiting for another download/) });
      expect((await first).checksum).toBe(sha256);
    });
  });
});
