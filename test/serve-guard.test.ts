/**
 * Who a token-less `serve` answers (issue 25, item 1): only this machine, asking for it by a loopback
 * name. A DNS-rebinding page reaches 127.0.0.1 as `Host: evil.example:PORT`; a cross-site page sends
 * its Origin. With a token, the token is the guard and LAN clients use whatever name they know.
 */
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../lib/audio/wav.js';
import type { Engine } from '../lib/engine/contract.js';
import { listenApi, type RunningApi } from '../lib/web/api.js';
import { STUB_TRANSCRIPT, stubHealth, tone } from './helpers.js';

const transcript = STUB_TRANSCRIPT;
const engine: Engine = { transcribe: async () => transcript };
const health = stubHealth;
const wav = encodeWav(tone(1));
const boundary = 'prismGuard';
const body = Buffer.concat([
  Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.wav"\r\ncontent-type: audio/wav\r\n\r\n`),
  wav,
  Buffer.from(`\r\n--${boundary}--\r\n`),
]);

let open: RunningApi;
let locked: RunningApi;
let port: number;

beforeAll(async () => {
  open = await listenApi({ engine, health, port: 0 });
  locked = await listenApi({ engine, health, port: 0, token: 'guard-token', host: '0.0.0.0' });
  port = Number(new URL(open.url).port);
});

afterAll(async () => {
  await open?.close(100);
  await locked?.close(100);
});

interface Answer {
  status: number;
  json: { error?: { message: string; type: string; code: string } } & Record<string, unknown>;
}

/** A raw request, so that Host and Origin are exactly what a browser (or an attacker) would send. */
function ask(url: string, o: { path?: string; host?: string; origin?: string; token?: string; connectTo?: string; post?: boolean } = {}): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: o.host ?? u.host };
    if (o.origin) headers.origin = o.origin;
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.post) {
      headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
      headers['content-length'] = String(body.length);
    }
    const req = request({ host: o.connectTo ?? u.hostname, port: u.port, path: o.path ?? '/v1/audio/transcriptions', method: o.post ? 'POST' : 'GET', headers, setHost: false });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(o.post ? body : undefined);
  });
}

describe('a server without a token', () => {
  it('answers this machine by its loopback names, on its port', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      const r = await ask(open.url, { host, post: true });
      expect([host, r.status, r.json]).toEqual([host, 200, { text: 'hello' }]);
    }
    expect((await ask(open.url, { path: '/health', host: `[::1]:${port}` })).status).toBe(200);
  });

  it('refuses what a DNS-rebinding page sends (Host: evil.example:PORT): 403, OpenAI-shaped, nothing transcribed', async () => {
    const r = await ask(open.url, { host: `evil.example:${port}`, origin: `http://evil.example:${port}`, post: true });
    expect(r.status).toBe(403);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', code: 'forbidden_host' });
    expect(r.json.error?.message).toContain(`Host 'evil.example:${port}' is not localhost:${port}`);
  });

  it('refuses a foreign Host on every path, /health and /v1/models included', async () => {
    for (const path of ['/health', '/v1/models', '/v1/audio/translations']) {
      expect([path, (await ask(open.url, { path, host: `evil.example:${port}` })).status]).toEqual([path, 403]);
    }
  });

  it('refuses a loopback name on another port, and a Host without a port', async () => {
    expect((await ask(open.url, { host: '127.0.0.1:1', post: true })).status).toBe(403);
    expect((await ask(open.url, { host: 'localhost', path: '/health' })).status).toBe(403);
  });

  it("refuses a cross-site page's Origin, and a sandboxed one ('null'); accepts its own and other local pages", async () => {
    const evil = await ask(open.url, { origin: 'https://evil.example', post: true });
    expect(evil.status).toBe(403);
    expect(evil.json.error?.message).toContain("Origin 'https://evil.example' is a page from another site");
    expect((await ask(open.url, { origin: 'null', post: true })).status).toBe(403);
    expect((await ask(open.url, { origin: `http://127.0.0.1:${port}`, post: true })).status).toBe(200);
    expect((await ask(open.url, { origin: 'http://localhost:3000', post: true })).status).toBe(200);
  });
});

describe('a server with a token', () => {
  it('answers any Host and Origin with the token (the token is the guard), and 401 without it', async () => {
    const lockedPort = new URL(locked.url).port;
    const ok = await ask(locked.url, { connectTo: '127.0.0.1', host: `dictation.lan:${lockedPort}`, token: 'guard-token', post: true });
    expect(ok).toEqual({ status: 200, json: { text: 'hello' } });
    const none = await ask(locked.url, { connectTo: '127.0.0.1', host: `evil.example:${lockedPort}`, post: true });
    expect(none.status).toBe(401);
  });
});

const lan = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

describe.skipIf(!lan)('peers on another machine', () => {
  it('a token-less server bound to every address refuses a peer that is not on this machine, whatever Host it sends', async () => {
    const wide = await listenApi({ engine, health, port: 0, host: '0.0.0.0' });
    try {
      const p = new URL(wide.url).port;
      const far = await ask(wide.url, { connectTo: lan, host: `127.0.0.1:${p}`, post: true });
      expect(far.status).toBe(403);
      expect(far.json.error?.message).toContain('a client on another machine');
      const near = await ask(wide.url, { connectTo: '127.0.0.1', host: `127.0.0.1:${p}`, post: true });
      expect(near.status).toBe(200);
      const other = await listenApi({ engine, health, port: 0, host: '0.0.0.0', token: 't' });
      const q = new URL(other.url).port;
      expect((await ask(other.url, { connectTo: lan, host: `${lan}:${q}`, token: 't', post: true })).status).toBe(200);
      await other.close(100);
    } finally {
      await wide.close(100);
    }
  });
});
