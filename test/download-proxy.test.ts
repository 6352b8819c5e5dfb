/**
 * Downloads through a proxy: HTTP_PROXY / HTTPS_PROXY / NO_PROXY as curl users set them. The "model"
 * lives under a host name that does not resolve (models.invalid), so it can only be fetched through
 * the proxy: a small forward / CONNECT proxy written here, which sends every *.invalid name to
 * 127.0.0.1 and records what it was asked.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { download } from '../lib/index.js';
import { normalizeNoProxy, proxyFor, proxySettings, redact } from '../lib/models/proxy.js';
import { root } from './helpers.js';

const VARIABLES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'];

let payload: Buffer;
let sha256: string;
let dir: string;
let origin: Server;
let httpPort: number;
let secureOrigin: HttpsServer | undefined;
let httpsPort = 0;
let certFile = '';
const originHits: string[] = [];

function serve(req: IncomingMessage, res: ServerResponse): void {
  originHits.push(`${req.headers.host} ${req.url}`);
  if (req.url?.startsWith('/redirect')) {
    // as Hugging Face sends a file to its CDN: another host
    res.writeHead(302, { location: `http://cdn.invalid:${httpPort}/ggml-test.bin` }).end();
    return;
  }
  res.writeHead(200, { 'content-length': payload.length }).end(payload);
}

interface Seen {
  method: string;
  url: string;
  auth?: string;
}

interface TestProxy {
  url: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

/** A forward proxy (absolute-URL requests) and CONNECT tunnel; *.invalid goes to 127.0.0.1, denied.invalid is refused (403). */
async function startProxy(options: { auth?: string } = {}): Promise<TestProxy> {
  const seen: Seen[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers['proxy-authorization'] });
    if (options.auth && req.headers['proxy-authorization'] !== options.auth) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' }).end();
      return;
    }
    const target = new URL(req.url ?? '');
    const upstream = request({ host: '127.0.0.1', port: target.port, path: `${target.pathname}${target.search}`, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    seen.push({ method: 'CONNECT', url: req.url ?? '', auth: req.headers['proxy-authorization'] });
    client.on('error', () => {});
    if (options.auth && req.headers['proxy-authorization'] !== options.auth) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n');
      return;
    }
    const [host, port] = (req.url ?? '').split(':');
    if (host === 'denied.invalid') {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const up = connect(Number(port), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function openssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const haveOpenssl = openssl();

let proxy: TestProxy;
let saved: Record<string, string | undefined> = {};
let n = 0;
const dest = (): string => join(dir, `m${++n}.bin`);
const modelUrl = (): string => `http://models.invalid:${httpPort}/ggml-test.bin`;

beforeAll(async () => {
  payload = randomBytes(300_000);
  sha256 = createHash('sha256').update(payload).digest('hex');
  dir = await mkdtemp(join(tmpdir(), 'prism-proxy-'));
  origin = createServer(serve);
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  httpPort = (origin.address() as AddressInfo).port;
  if (haveOpenssl) {
    // a certificate for models.invalid, which only a process told to trust it (NODE_EXTRA_CA_CERTS) accepts
    const key = join(dir, 'key.pem');
    certFile = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        '/CN=models.invalid',
        '-addext',
        'subjectAltName=DNS:models.invalid',
      ],
      { stdio: 'ignore' },
    );
    secureOrigin = createHttpsServer({ key: await readFile(key), cert: await readFile(certFile) }, serve);
    await new Promise<void>((r) => secureOrigin?.listen(0, '127.0.0.1', r));
    httpsPort = (secureOrigin.address() as AddressInfo).port;
  }
  proxy = await startProxy();
});

afterAll(async () => {
  await proxy.close();
  origin.closeAllConnections();
  await new Promise((r) => origin.close(r));
  secureOrigin?.closeAllConnections();
  if (secureOrigin) await new Promise((r) => secureOrigin?.close(r));
});

beforeEach(() => {
  saved = Object.fromEntries(VARIABLES.map((v) => [v, process.env[v]]));
  for (const v of VARIABLES) delete process.env[v];
  proxy.seen.length = 0;
  originHits.length = 0;
});

afterEach(() => {
  for (const v of VARIABLES) {
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
  }
});

describe('downloads through HTTP_PROXY / HTTPS_PROXY', () => {
  it('without a proxy, a host that does not resolve fails as before, and the message says how to set one', async () => {
    const e = await download({ url: modelUrl(), dest: dest(), sha256 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringMatching(/could not be resolved/) });
    expect((e as Error).message).toMatch(/Behind a proxy: set HTTP_PROXY=http:\/\/host:port .*PRISM_MODEL_BASE_URL/);
  });

  it('http through HTTP_PROXY: a plain forward-proxy request (absolute URL, as curl sends it), the file verified', async () => {
    process.env.HTTP_PROXY = proxy.url;
    const file = dest();
    const r = await download({ url: modelUrl(), dest: file, sha256 });
    expect(r.checksum).toBe(sha256);
    expect(
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex'),
    ).toBe(sha256);
    expect(proxy.seen).toEqual([{ method: 'GET', url: modelUrl(), auth: undefined }]);
    expect(originHits).toEqual([`models.invalid:${httpPort} /ggml-test.bin`]);
  });

  it('a redirect to another host (a CDN) goes through the proxy too, each hop routed by its own host', async () => {
    process.env.HTTP_PROXY = proxy.url;
    const url = `http://models.invalid:${httpPort}/redirect/ggml-test.bin`;
    expect((await download({ url, dest: dest(), sha256 })).checksum).toBe(sha256);
    expect(proxy.seen.map((s) => s.url)).toEqual([url, `http://cdn.invalid:${httpPort}/ggml-test.bin`]);
    proxy.seen.length = 0;
    process.env.NO_PROXY = 'cdn.invalid';
    const e = await download({ url, dest: dest(), sha256 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ message: expect.stringMatching(/download failed: the host name could not be resolved/) }); // cdn.invalid's, not the proxy's
    expect(e).not.toHaveProperty('reason', 'proxy');
    expect(proxy.seen.map((s) => s.url)).toEqual([url]);
  });

  it('the lowercase variable wins over the uppercase one (as curl and undici read them)', async () => {
    process.env.HTTP_PROXY = `http://127.0.0.1:${await deadPort()}`;
    process.env.http_proxy = proxy.url;
    expect((await download({ url: modelUrl(), dest: dest(), sha256 })).checksum).toBe(sha256);
    expect(proxy.seen).toHaveLength(1);
  });

  it('a proxy written without a scheme (host:port) is an http:// proxy', async () => {
    process.env.HTTP_PROXY = `127.0.0.1:${proxy.port}`;
    expect((await download({ url: modelUrl(), dest: dest(), sha256 })).checksum).toBe(sha256);
    expect(proxy.seen).toHaveLength(1);
  });

  it('https through HTTPS_PROXY: a CONNECT tunnel to the server (TLS end to end: an untrusted certificate is refused)', async () => {
    process.env.HTTPS_PROXY = proxy.url;
    const port = httpsPort || 443;
    const e = await download({ url: `https://models.invalid:${port}/ggml-test.bin`, dest: dest(), sha256 }).catch((x: unknown) => x);
    expect(proxy.seen).toEqual([{ method: 'CONNECT', url: `models.invalid:${port}`, auth: undefined }]);
    expect(e).toMatchObject({ code: 'DOWNLOAD_FAILED' });
    if (haveOpenssl) expect((e as Error).message).toMatch(/TLS certificate was refused .*NODE_EXTRA_CA_CERTS/);
  });

  it('https falls back to HTTP_PROXY when HTTPS_PROXY is not set (as undici and npm do)', async () => {
    process.env.HTTP_PROXY = proxy.url;
    await download({ url: `https://models.invalid:${httpsPort || 443}/ggml-test.bin`, dest: dest(), sha256 }).catch(() => {});
    expect(proxy.seen.map((s) => s.method)).toEqual(['CONNECT']);
  });

  it.skipIf(!haveOpenssl)('https through HTTPS_PROXY succeeds end to end in a process that trusts the server (NODE_EXTRA_CA_CERTS), without a warning', async () => {
    const file = dest();
    const url = `https://models.invalid:${httpsPort}/ggml-test.bin`;
    const script = [
      `import { download } from ${JSON.stringify(join(root, 'dist', 'index.js'))};`,
      `const r = await download({ url: ${JSON.stringify(url)}, dest: ${JSON.stringify(file)}, sha256: ${JSON.stringify(sha256)} });`,
      'console.log(r.checksum);',
    ].join('\n');
    const env = { ...process.env, HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: certFile };
    const result = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      child.on('exit', (code) => resolve({ code, out, err }));
    });
    expect(result.err).toBe(''); // no "EnvHttpProxyAgent is experimental" line
    expect(result.code).toBe(0);
    expect(result.out.trim()).toBe(sha256);
    expect(proxy.seen).toEqual([{ method: 'CONNECT', url: `models.invalid:${httpsPort}`, auth: undefined }]);
    expect(originHits).toEqual([`models.invalid:${httpsPort} /ggml-test.bin`]);
  });

  it('credentials in the proxy URL are sent as Proxy-Authorization, and never printed', async () => {
    const guarded = await startProxy({ auth: `Basic ${Buffer.from('ann:s3cret').toString('base64')}` });
    try {
      process.env.HTTP_PROXY = `http://ann:s3cret@127.0.0.1:${guarded.port}`;
      expect((await download({ url: modelUrl(), dest: dest(), sha256 })).checksum).toBe(sha256);
      expect(guarded.seen[0]?.auth).toBe(`Basic ${Buffer.from('ann:s3cret').toString('base64')}`);

      process.env.HTTP_PROXY = `http://ann:wrong@127.0.0.1:${guarded.port}`;
      const e = await download({ url: modelUrl(), dest: dest(), sha256 }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'DOWNLOAD_FAILED', reason: 'proxy', message: expect.stringMatching(/asks for credentials \(407/) });
      expect((e as Error).message).toContain(`http://ann:***@127.0.0.1:${guarded.port}`);
      expect((e as Error).message).not.toContain('wrong');

      delete process.env.HTTP_PROXY;
      process.env.HTTPS_PROXY = `http://127.0.0.1:${guarded.port}`;
      const tunnel = await download({ url: `https://models.invalid:${httpsPort || 443}/x.bin`, dest: dest(), sha256 }).catch((x: unknown) => x);
      expect(tunnel).toMatchObject({
        code: 'DOWNLOAD_FAILED',
        reason: 'proxy',
        message: expect.stringMatching(/\(HTTPS_PROXY\): it asks for credentials .*HTTPS_PROXY as http:\/\/user:password@host:port/),
      });
    } finally {
      await guarded.close();
    }
  });

  it('a proxy that refuses the site: says the proxy would not open the tunnel', async () => {
    process.env.HTTPS_PROXY = proxy.url;
    const e = await download({ url: 'https://denied.invalid/model.bin', dest: dest(), sha256 }).catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: 'DOWNLOAD_FAILED',
      reason: 'proxy',
      message: expect.stringMatching(/the proxy http:\/\/127\.0\.0\.1:\d+ \(HTTPS_PROXY\) would not open a tunnel to the server \(it answered 403\): it does not allow this site/),
    });
  });
});

describe('a proxy that does not work: a typed error naming it', () => {
  it('nothing listening: "could not reach the proxy …: ECONNREFUSED", no partial file left', async () => {
    const port = await deadPort();
    process.env.HTTPS_PROXY = `http://127.0.0.1:${port}`;
    const file = dest();
    const e = await download({ url: 'https://models.invalid/ggml-base.en.bin', dest: file, sha256 }).catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: 'DOWNLOAD_FAILED',
      reason: 'proxy',
      message: expect.stringMatching(
        new RegExp(
          `could not reach the proxy http://127\\.0\\.0\\.1:${port} \\(HTTPS_PROXY\\): it refused the connection \\(ECONNREFUSED\\).*Check HTTPS_PROXY and NO_PROXY, or set PRISM_MODEL_BASE_URL`,
        ),
      ),
    });
    expect(existsSync(`${file}.part`)).toBe(false);
  });

  it('a proxy host that does not resolve', async () => {
    process.env.https_proxy = 'http://proxy.invalid:3128';
    const e = await download({ url: 'https://models.invalid/ggml-base.en.bin', dest: dest(), sha256 }).catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: 'DOWNLOAD_FAILED',
      reason: 'proxy',
      message: expect.stringMatching(/could not reach the proxy http:\/\/proxy\.invalid:3128 \(https_proxy\): its host name could not be resolved \(DNS: /),
    });
  });

  it('a SOCKS proxy or a value that is not a URL: says what is accepted', async () => {
    process.env.HTTPS_PROXY = 'socks5://127.0.0.1:1080';
    await expect(download({ url: 'https://models.invalid/a.bin', dest: dest(), sha256 })).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      reason: 'proxy',
      message: expect.stringMatching(/HTTPS_PROXY=socks5:\/\/127\.0\.0\.1:1080: only http:\/\/ and https:\/\/ proxies are supported/),
    });
    process.env.HTTPS_PROXY = 'http://[nonsense';
    await expect(download({ url: 'https://models.invalid/a.bin', dest: dest(), sha256 })).rejects.toMatchObject({ message: expect.stringMatching(/is not a proxy URL/) });
  });
});

describe('NO_PROXY', () => {
  /** The download goes direct: the proxy is not asked and models.invalid does not resolve. */
  async function direct(): Promise<void> {
    const e = await download({ url: modelUrl(), dest: dest(), sha256 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringMatching(/host name could not be resolved/) });
    expect((e as Error).message).not.toMatch(/proxy http/);
    expect(proxy.seen).toEqual([]);
  }
  async function proxied(): Promise<void> {
    expect((await download({ url: modelUrl(), dest: dest(), sha256 })).checksum).toBe(sha256);
    expect(proxy.seen).toHaveLength(1);
    proxy.seen.length = 0;
  }

  it.each([
    ['the exact name', 'models.invalid'],
    ['a parent domain, bare (curl: covers every name under it)', 'invalid'],
    ['a parent domain with a leading dot', '.invalid'],
    ['a parent domain with *.', '*.invalid'],
    ['the name on its port', `models.invalid:${0}`],
    ['everything (*)', '*'],
    ['one of several, spaces and commas', 'example.com, other.test  models.invalid'],
    ['in capitals', 'MODELS.INVALID'],
  ])('bypasses the proxy for %s', async (_what, value) => {
    process.env.HTTP_PROXY = proxy.url;
    process.env.NO_PROXY = value.replace(':0', `:${httpPort}`);
    await direct();
  });

  it('does not bypass for another name, another port, or a name that only ends the same way', async () => {
    process.env.HTTP_PROXY = proxy.url;
    for (const value of ['other.invalid', `models.invalid:${httpPort + 1}`, 'els.invalid', '']) {
      process.env.NO_PROXY = value;
      await proxied();
    }
  });

  it('no_proxy wins over NO_PROXY', async () => {
    process.env.HTTP_PROXY = proxy.url;
    process.env.NO_PROXY = 'models.invalid';
    process.env.no_proxy = 'example.com';
    await proxied();
  });

  it('loopback is never sent to the proxy: a local mirror works with a proxy set (even a dead one)', async () => {
    process.env.HTTP_PROXY = `http://127.0.0.1:${await deadPort()}`;
    process.env.HTTPS_PROXY = process.env.HTTP_PROXY;
    for (const host of ['127.0.0.1', 'localhost']) {
      expect((await download({ url: `http://${host}:${httpPort}/ggml-test.bin`, dest: dest(), sha256 })).checksum).toBe(sha256);
    }
  });
});

describe('the rules, as functions', () => {
  const settings = (env: NodeJS.ProcessEnv) => proxySettings(env);

  it('reads the lowercase variable first, an empty one meaning none, and https falls back to http', () => {
    expect(settings({ HTTPS_PROXY: 'http://a:1', https_proxy: 'http://b:2' })).toMatchObject({ https: 'http://b:2/', httpsFrom: 'https_proxy', http: '' });
    expect(settings({ HTTP_PROXY: 'http://a:1', http_proxy: '' })).toMatchObject({ http: '', https: '' });
    expect(settings({ HTTP_PROXY: 'http://a:1' })).toMatchObject({ http: 'http://a:1/', https: 'http://a:1/', httpsFrom: 'HTTP_PROXY' });
    expect(settings({})).toMatchObject({ http: '', https: '' });
  });

  it('NO_PROXY follows curl: a bare name covers its subdomains; IPv6 bracketed; loopback always added', () => {
    expect(normalizeNoProxy('example.com')).toBe('example.com,.example.com,localhost,.localhost,127.0.0.1,[::1]');
    expect(normalizeNoProxy('*.corp:8080 ::1 10.0.0.1')).toBe('corp:8080,.corp:8080,[::1],10.0.0.1,localhost,.localhost,127.0.0.1');
    expect(normalizeNoProxy('a.com,*')).toBe('*');
    const s = settings({ HTTPS_PROXY: 'http://p:3128', NO_PROXY: 'hf.co' });
    expect(proxyFor('https://cdn.hf.co/x', s)).toBeUndefined();
    expect(proxyFor('https://hf.co/x', s)).toBeUndefined();
    expect(proxyFor('https://nothf.co/x', s)).toEqual({ url: 'http://p:3128', variable: 'HTTPS_PROXY', host: 'p', port: 3128 });
    expect(proxyFor('https://[::1]:8080/x', s)).toBeUndefined();
    expect(proxyFor('http://hf.co/x', s)).toBeUndefined(); // no HTTP_PROXY: http goes direct anyway
  });

  it('redacts the password of a proxy URL', () => {
    expect(redact('http://ann:s3cret@proxy:3128/')).toBe('http://ann:***@proxy:3128/');
    expect(redact('http://proxy:3128/')).toBe('http://proxy:3128/');
  });
});
