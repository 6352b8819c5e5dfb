/**
 * Model download: resumable (HTTP Range into `<file>.part`), checksum-verified, and atomic — the
 * final name only ever holds a complete, verified file. A stalled server aborts after
 * `stallMs`; the partial file stays for the next attempt to resume.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WhisperError } from '../errors.js';

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
}

export interface DownloadResult {
  path: string;
  bytes: number;
  resumedFrom: number;
  checksum: string;
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export async function download(options: DownloadOptions): Promise<DownloadResult> {
  const { url, dest } = options;
  const part = `${dest}.part`;
  const stallMs = options.stallMs ?? 30_000;
  await mkdir(dirname(dest), { recursive: true });

  let offset = await sizeOf(part);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let stallTimer: NodeJS.Timeout | undefined;
  const armStall = (): void => {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => controller.abort(new Error(`no data for ${stallMs} ms`)), stallMs);
  };
  const fail = (message: string, cause?: unknown): WhisperError => new WhisperError('DOWNLOAD_FAILED', `${message} (${url})`, { cause });

  try {
    armStall();
    let response: Response;
    try {
      response = await fetch(url, { headers: offset > 0 ? { Range: `bytes=${offset}-` } : {}, signal: controller.signal, redirect: 'follow' });
    } catch (e) {
      throw fail(`download failed: ${(controller.signal.reason as Error)?.message ?? (e as Error).message}`, e);
    }
    if (response.status === 416 && offset > 0) {
      // The partial file is already whole; verify it below.
      await response.body?.cancel();
    } else if (!response.ok) {
      await response.body?.cancel();
      throw fail(`server answered ${response.status} ${response.statusText}`.trim());
    } else if (offset > 0 && response.status !== 206) {
      offset = 0; // no range support: start again
    }
    const hash = createHash(options.sha256 ? 'sha256' : 'sha1');
    if (offset > 0) await hashFile(part, hash);
    const length = Number(response.headers.get('content-length'));
    const total = response.status === 416 ? offset : Number.isFinite(length) && length > 0 ? offset + length : undefined;
    let received = offset;
    if (response.status !== 416 && response.body) {
      const fh = await open(part, offset > 0 ? 'a' : 'w');
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          armStall();
          await fh.write(chunk);
          hash.update(chunk);
          received += chunk.length;
          options.onProgress?.({ received, total, resumedFrom: offset });
        }
      } catch (e) {
        const why = controller.signal.aborted ? ((controller.signal.reason as Error)?.message ?? 'aborted') : (e as Error).message;
        throw fail(`download interrupted after ${received} bytes: ${why}; run the same command again to resume`, e);
      } finally {
        await fh.close();
      }
    }
    if (total !== undefined && received < total) throw fail(`download ended early (${received} of ${total} bytes); run it again to resume`);
    const digest = hash.digest('hex');
    const want = (options.sha256 ?? options.sha1)?.toLowerCase();
    if (want && digest !== want) {
      await rm(part, { force: true });
      throw new WhisperError('CHECKSUM_MISMATCH', `checksum mismatch for ${url}: got ${digest}, expected ${want}; the damaged file was deleted`);
    }
    await rename(part, dest);
    return { path: dest, bytes: received, resumedFrom: offset, checksum: digest };
  } finally {
    clearTimeout(stallTimer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
