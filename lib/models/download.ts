/**
 * Model download: resumable (HTTP Range into `<file>.part`), checksum-verified, and atomic — the
 * final name only ever holds a complete, verified file. A stalled server aborts after
 * `stallMs`; the partial file stays for the next attempt to resume. One download per destination
 * at a time, across processes (a lock next to it): a second waits for the first, then uses its file.
 * Through the proxy HTTPS_PROXY / HTTP_PROXY name, except for NO_PROXY's hosts (./proxy.ts).
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, existsSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, rename, rm, rmdir, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { WhisperError } from '../errors.js';
import { downloadClient, type ProxyRoute, proxyFor, proxySettings } from './proxy.js';

export interface DownloadProgress {
  received: number;
  total: number | undefined;
  resumedFrom: number;
}

export interface DownloadOptions {
  url: string;
  dest: string;
  sha1?: string;
  sha256?: string;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** abort when no byte arrives for this long (default 30 s) */
  stallMs?: number;
  /** called once when another process (or call) is downloading to the same destination; this one waits for it */
  onWait?: () => void;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  resumedFrom: number;
  checksum: string;
}

async function hashFile(path: string, algorithm: 'sha1' | 'sha256'): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The hash of what an open file holds, read through its descriptor (not its name, which could be swapped). */
async function hashHandle(fh: FileHandle, algorithm: 'sha1' | 'sha256'): Promise<string> {
  const hash = createHash(algorithm);
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let at = 0; ; ) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, at);
    if (bytesRead === 0) return hash.digest('hex');
    hash.update(buf.subarray(0, bytesRead));
    at += bytesRead;
  }
}

/**
 * Opens `<dest>.part` for reading and writing without following a symbolic link (O_NOFOLLOW), and
 * only if it is a regular file of ours with one name (nlink 1): a link someone planted there, to a
 * file of the user's, is never written through (a hard link would have a second name).
 */
async function openPart(part: string): Promise<FileHandle> {
  const flags = constants.O_RDWR | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0);
  let fh: FileHandle;
  try {
    fh = await open(part, flags, 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK')
      throw new WhisperError('DOWNLOAD_FAILED', `${part} is a symbolic link, not a partial download: refusing to write through it; remove it and run again`, { cause: e });
    throw new WhisperError('DOWNLOAD_FAILED', `cannot open ${part}: ${(e as Error).message}`, { cause: e });
  }
  const st = await fh.stat();
  const uid = process.getuid?.();
  const why = !st.isFile()
    ? 'is not a regular file'
    : uid !== undefined && st.uid !== uid
      ? `belongs to uid ${st.uid}, not to you (uid ${uid})`
      : st.nlink !== 1
        ? `has ${st.nlink} names (a hard link to another file)`
        : undefined;
  if (why) {
    await fh.close();
    throw new WhisperError('DOWNLOAD_FAILED', `${part} ${why}, not a partial download of ours: refusing to write to it; remove it and run again`);
  }
  return fh;
}

const LOCK_STALE_MS = 10_000; // a holder that died leaves a lock nobody refreshes: taken over after this
const LOCK_POLL_MS = 250;

/**
 * A live holder sets its lock's mtime to its own now every few seconds; one further ahead than the
 * stale period cannot be such a holder's (a clock set back, a lock copied or touched by hand), and
 * proper-lockfile would wait for it to go stale forever. Such a lock is removed (true) so the next try
 * takes it.
 */
async function removeFutureLock(lockPath: string): Promise<boolean> {
  try {
    const st = await lstat(lockPath);
    if (st.mtimeMs <= Date.now() + LOCK_STALE_MS) return false;
    await rmdir(lockPath);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true; // gone meanwhile: try again at once
    throw new WhisperError(
      'DOWNLOAD_FAILED',
      `${lockPath} has a modification time in the future and cannot be removed (${code ?? (e as Error).message}); remove it and run again`,
      { cause: e },
    );
  }
}

/** Takes the destination's lock, waiting (abortably) while another download holds it. Returns its release and whether it waited. */
async function lockDestination(dest: string, options: DownloadOptions, lost: { error?: Error }): Promise<{ release: () => Promise<void>; waited: boolean }> {
  // compromised: another process took the lock over (ours was not refreshed for LOCK_STALE_MS)
  const onCompromised = (e: Error): void => {
    lost.error = e;
  };
  const lockOptions = { realpath: false, stale: LOCK_STALE_MS, lockfilePath: `${dest}.lock`, onCompromised };
  let waited = false;
  for (;;) {
    try {
      return { release: await lockfile.lock(dest, lockOptions), waited };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw new WhisperError('DOWNLOAD_FAILED', `cannot lock ${dest}: ${(e as Error).message}`, { cause: e });
    }
    if (await removeFutureLock(lockOptions.lockfilePath)) continue;
    if (!waited) options.onWait?.();
    waited = true;
    await new Promise<void>((resolve, reject) => {
      const stop = (): void => {
        clearTimeout(timer);
        reject(new WhisperError('DOWNLOAD_FAILED', `stopped while waiting for another download of ${dest}`, { cause: options.signal?.reason }));
      };
      const timer = setTimeout(() => {
        options.signal?.removeEventListener('abort', stop);
        resolve();
      }, LOCK_POLL_MS);
      if (options.signal?.aborted) stop();
      else options.signal?.addEventListener('abort', stop, { once: true });
    });
  }
}

export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const { dest } = options;
  await mkdir(dirname(dest), { recursive: true });
  const lock: { error?: Error } = {};
  const { release, waited } = await lockDestination(dest, options, lock);
  try {
    const algorithm = options.sha256 ? 'sha256' : 'sha1';
    const want = (options.sha256 ?? options.sha1)?.toLowerCase();
    if (waited && existsSync(dest)) {
      // the download we waited for finished: its file, if it is the one asked for
      const checksum = await hashFile(dest, algorithm);
      if (!want || checksum === want) return { path: dest, bytes: (await stat(dest)).size, resumedFrom: 0, checksum };
    }
    return await fetchToFile(options, algorithm, want, lock);
  } finally {
    await release().catch(() => {});
  }
}

const OTHER_WAYS = 'set PRISM_MODEL_BASE_URL to a mirror, or download the file yourself and pass --model FILE';

/** What to try next: with no proxy in use, how to set one; through one, to check it. */
function nextStep(url: string, route: ProxyRoute | undefined): string {
  if (route) return `. Check ${route.variable} and NO_PROXY, or ${OTHER_WAYS}`;
  const variable = url.startsWith('http:') ? 'HTTP_PROXY' : 'HTTPS_PROXY';
  return `. Behind a proxy: set ${variable}=http://host:port (and NO_PROXY for hosts to reach directly). Offline: ${OTHER_WAYS}`;
}

// the system errors of a connection that never opened: through a proxy, the connection to the proxy
const CONNECT_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'ECONNREFUSED', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ENETUNREACH', 'EHOSTUNREACH']);

function proxyCredentials(route: ProxyRoute): string {
  return `it asks for credentials (407 Proxy Authentication Required): give them in ${route.variable} as http://user:password@host:port`;
}

/**
 * Whether a connection that failed was the one to the proxy, not one made directly (a redirect to a
 * NO_PROXY host): the system error names the host it looked up, or the address and port it tried.
 */
function reachingProxy(e: { hostname?: unknown; address?: unknown; port?: unknown; message?: string }, route: ProxyRoute): boolean {
  if (typeof e.hostname === 'string') return e.hostname.replace(/^\[|\]$/g, '') === route.host;
  if (typeof e.port === 'number') return e.port === route.port && (isIP(route.host) === 0 || e.address === undefined || e.address === route.host);
  const attempted = /attempted address: (.+?):(\d+)/.exec(e.message ?? ''); // undici's connect timeout
  if (attempted) return Number(attempted[2]) === route.port;
  return true; // nothing says otherwise: the first connection made is the proxy's
}

/** An error and its causes (undici wraps a proxy's refusal twice: "fetch failed" ← "Request was cancelled." ← the refusal). */
function causeChain(e: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let c: unknown = e; c !== undefined && c !== null && chain.length < 6; c = (c as { cause?: unknown }).cause) chain.push(c);
  return chain;
}

/** Why a fetch through the proxy `route` failed, naming the proxy; undefined when the failure is not the proxy's. */
function proxyCause(e: unknown, route: ProxyRoute): string | undefined {
  const chain = causeChain(e);
  const failed = chain.find((c) => CONNECT_CODES.has(String((c as { code?: unknown })?.code)) || (c as { code?: unknown })?.code === 'UND_ERR_PRX_TLS') as
    | { code: string; hostname?: unknown; address?: unknown; port?: unknown; message?: string }
    | undefined;
  const code = failed?.code ?? '';
  const text = chain.map((c) => (c as Error)?.message ?? String(c)).join(' | ');
  const proxy = `the proxy ${route.url} (${route.variable})`;
  if (CONNECT_CODES.has(code) && failed && reachingProxy(failed, route)) {
    const why =
      code === 'ECONNREFUSED'
        ? 'it refused the connection (ECONNREFUSED): is it running, on that port?'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME'
          ? `its host name could not be resolved (DNS: ${code})`
          : code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT'
            ? `the connection timed out (${code})`
            : `the network is unreachable (${code})`;
    return `could not reach ${proxy}: ${why}`;
  }
  if (/Proxy Authentication Required|\(407\)/.test(text)) return `${proxy}: ${proxyCredentials(route)}`;
  const tunnel = /Proxy response \((\d+)\)/.exec(text);
  if (tunnel) {
    const status = Number(tunnel[1]);
    const why = status === 403 ? ': it does not allow this site (ask its administrator, or use a mirror)' : status >= 500 ? ': it could not reach the server either' : '';
    return `${proxy} would not open a tunnel to the server (it answered ${status})${why}`;
  }
  if (code === 'UND_ERR_PRX_TLS') return `${proxy}: its TLS certificate was refused (${text}); is it an https:// proxy with that name?`;
  return undefined;
}

/** Why fetch() failed, in words: undici's "fetch failed" carries the system error as its cause; through a proxy (`route`), a failure to reach it names it. */
export function networkCause(e: unknown, route?: ProxyRoute): string {
  const inner = (e as { cause?: unknown })?.cause ?? e;
  const code = String((inner as { code?: unknown })?.code ?? '');
  const text = (inner as Error)?.message ?? String(inner);
  const viaProxy = route && proxyCause(e, route);
  if (viaProxy) return viaProxy;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME') return `the host name could not be resolved (DNS: ${code}); is this machine online?`;
  if (code === 'ECONNREFUSED') return 'the server refused the connection (ECONNREFUSED)';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return `the connection was cut (${code})`;
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') return `the connection timed out (${code})`;
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH') return `the network is unreachable (${code}); is this machine online?`;
  if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(code))
    return `the TLS certificate was refused (${code}): a proxy that intercepts HTTPS? set NODE_EXTRA_CA_CERTS to its certificate`;
  return code ? `${text} (${code})` : text;
}

function httpCause(status: number, statusText: string, route: ProxyRoute | undefined): string {
  if (status === 407 && route) return `the proxy ${route.url} (${route.variable}): ${proxyCredentials(route)}`;
  const answered = `the server answered ${status} ${statusText}`.trim() + (route ? ` (through the proxy ${route.url})` : '');
  if (status === 404) return `${answered}: no such file there (a mirror that lacks it?)`;
  if (status === 401 || status === 403) return `${answered}: access refused (the mirror needs credentials?)`;
  if (status === 429) return `${answered}: too many requests; wait a minute and run it again`;
  if (status >= 500) return `${answered}: the server failed; run it again later`;
  return answered;
}

function stoppedBecause(signal: AbortSignal): string {
  const reason = signal.reason as Error | undefined;
  return reason?.message ?? 'stopped';
}

async function fetchToFile(options: DownloadOptions, algorithm: 'sha1' | 'sha256', want: string | undefined, lock: { error?: Error }): Promise<DownloadResult> {
  const { url, dest } = options;
  const part = `${dest}.part`;
  const stallMs = options.stallMs ?? 30_000;
  const proxies = proxySettings(); // a proxy URL that cannot be used fails here, before any file is touched
  const route = proxyFor(url, proxies);
  const client = await downloadClient(proxies);

  // one descriptor for the whole download: written, measured and hashed through it, never by name
  const fh = await openPart(part).catch(async (e: unknown) => {
    await client.dispatcher.destroy().catch(() => {});
    throw e;
  });
  let offset = (await fh.stat()).size;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let stallTimer: NodeJS.Timeout | undefined;
  const armStall = (): void => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => controller.abort(new Error(`timed out: no data for ${stallMs} ms`)), stallMs);
  };
  const fail = (message: string, cause?: unknown, reason?: string): WhisperError =>
    new WhisperError('DOWNLOAD_FAILED', `${message} (${url})${nextStep(url, route)}`, reason ? { cause, reason } : { cause });
  let closed = false;
  const close = async (dropEmpty = true): Promise<void> => {
    if (closed) return;
    closed = true;
    // a failure before the first byte leaves no empty partial file behind
    const empty =
      dropEmpty &&
      (await fh.stat().then(
        (st) => st.size === 0,
        () => false,
      ));
    await fh.close();
    if (empty) await rm(part, { force: true });
  };

  try {
    armStall();
    let response: Awaited<ReturnType<typeof client.fetch>>;
    try {
      response = await client.fetch(url, {
        headers: offset > 0 ? { Range: `bytes=${offset}-` } : {},
        signal: controller.signal,
        redirect: 'follow',
        dispatcher: client.dispatcher,
      });
    } catch (e) {
      if (controller.signal.aborted) throw fail(`download failed: ${stoppedBecause(controller.signal)}`, e);
      const why = networkCause(e, route);
      throw fail(`download failed: ${why}`, e, route && why.includes(`the proxy ${route.url}`) ? 'proxy' : undefined);
    }
    if (response.status === 416 && offset > 0) {
      // The partial file is already whole; verify it below.
      await response.body?.cancel();
    } else if (!response.ok) {
      await response.body?.cancel();
      throw fail(httpCause(response.status, response.statusText, route), undefined, response.status === 407 && route ? 'proxy' : undefined);
    } else if (offset > 0 && response.status !== 206) {
      offset = 0; // no range support: start again
    }
    const length = Number(response.headers.get('content-length'));
    const total = response.status === 416 ? offset : Number.isFinite(length) && length > 0 ? offset + length : undefined;
    let received = offset;
    if (response.status !== 416 && response.body) {
      try {
        await fh.truncate(offset);
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          armStall();
          for (let done = 0; done < chunk.length; ) {
            const { bytesWritten } = await fh.write(chunk, done, chunk.length - done, received + done);
            done += bytesWritten;
          }
          received += chunk.length;
          options.onProgress?.({ received, total, resumedFrom: offset });
        }
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOSPC' || code === 'EDQUOT') {
          throw new WhisperError(
            'DOWNLOAD_FAILED',
            `the disk is full: ${received} of ${total ?? '?'} bytes written to ${part}; free some space (df -h ${dirname(dest)}) and run it again to resume`,
            {
              cause: e,
            },
          );
        }
        const why = controller.signal.aborted ? stoppedBecause(controller.signal) : networkCause(e, route);
        throw fail(`download interrupted after ${received} bytes: ${why}; run the same command again to resume`, e);
      }
    }
    if (total !== undefined && received < total) throw fail(`download ended early (${received} of ${total} bytes); run it again to resume`);
    if (lock.error) throw fail(`another download took over ${dest}.lock (${lock.error.message}); run it again`);
    // the file on disk is what gets renamed into place, so that is what is checked
    const onDisk = (await fh.stat()).size;
    if (onDisk !== received) {
      await close();
      await rm(part, { force: true });
      throw fail(`the partial file is ${onDisk} bytes, ${received} were received (written to by something else?); it was deleted, run it again`);
    }
    const digest = await hashHandle(fh, algorithm);
    await close(false);
    if (want && digest !== want) {
      await rm(part, { force: true });
      throw new WhisperError('CHECKSUM_MISMATCH', `checksum mismatch for ${url}: got ${digest}, expected ${want}; the damaged file was deleted`);
    }
    await rename(part, dest);
    return { path: dest, bytes: received, resumedFrom: offset, checksum: digest };
  } finally {
    clearTimeout(stallTimer);
    options.signal?.removeEventListener('abort', onAbort);
    await close();
    await client.dispatcher.destroy().catch(() => {});
  }
}
