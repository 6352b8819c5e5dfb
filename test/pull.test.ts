/** Models by name in the library: pullModel, resolveModel, and the `start` offer (ensureModel). */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureModel } from '../lib/cli/pull.js';
import { inspectModelFile, modelSource, pullModel, resolveModel } from '../lib/index.js';
import { models } from './helpers.js';

let cache: string;
let server: Server;
let base: string;
let payload: Buffer;
const saved = process.env.PRISM_WHISPER_CACHE;

beforeAll(async () => {
  payload = await readFile(models().tinyEn);
  server = createServer((_req, res) => void res.writeHead(200, { 'content-length': payload.length }).end(payload));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  if (saved === undefined) delete process.env.PRISM_WHISPER_CACHE;
  else process.env.PRISM_WHISPER_CACHE = saved;
});

beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'prism-cache-'));
  process.env.PRISM_WHISPER_CACHE = cache;
  return () => rm(cache, { recursive: true, force: true });
});

describe('pullModel', () => {
  it('makes a test model by name, without the network, and resolveModel finds it by every spelling', async () => {
    const path = await pullModel('test-tiny');
    expect(path).toBe(join(cache, 'ggml-test-tiny.bin'));
    expect((await inspectModelFile(path)).hparams.nAudioState).toBe(384);
    for (const name of ['test-tiny', 'ggml-test-tiny', 'ggml-test-tiny.bin']) expect(resolveModel(name)).toBe(path);
  });

  it('downloads a registry model from a mirror and checks it against the published checksum', async () => {
    // the mirror serves a test model under the official name: the registry's SHA-1 refuses it
    await expect(pullModel('tiny.en', { baseUrl: base })).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect(existsSync(join(cache, 'ggml-tiny.en.bin'))).toBe(false);
    expect(modelSource('ggml-tiny.en.bin', base)).toMatchObject({ kind: 'registry', name: 'tiny.en', url: `${base}/ggml-tiny.en.bin` });
  });

  it.skipIf(process.platform === 'win32')('never writes through a .part symbolic link planted in the cache (issue 25, item 5)', async () => {
    const victim = join(cache, 'victim.txt');
    await writeFile(victim, 'precious\n');
    await symlink(victim, join(cache, 'ggml-tiny.en.bin.part'));
    await expect(pullModel('tiny.en', { baseUrl: base })).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringMatching(/symbolic link/) });
    expect(await readFile(victim, 'utf8')).toBe('precious\n');
    expect(existsSync(join(cache, 'ggml-tiny.en.bin'))).toBe(false);
  });

  it('reports progress and honours an abort', async () => {
    const seen: number[] = [];
    const controller = new AbortController();
    const e = await pullModel('base.en', {
      baseUrl: base,
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p.received);
        controller.abort(new Error('enough'));
      },
    }).catch((x: unknown) => x);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(e).toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringMatching(/enough/) });
  });

  it('refuses names it does not know, and says how to get a known one that is missing', async () => {
    await expect(pullModel('huge-v9')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringMatching(/unknown model "huge-v9"/) });
    expect(() => resolveModel('base.en')).toThrow(/not downloaded yet \(142 MiB\); run: prism-dictate models pull base\.en \(or pullModel\('base\.en'\)/);
    expect(() => resolveModel('test-base')).toThrow(/models pull test-base \(random weights/);
    expect(() => resolveModel('/nowhere/model.bin')).toThrow(/model file not found/);
  });
});

describe('ensureModel (the offer at start)', () => {
  const quiet = (): void => undefined;
  const pulls: string[] = [];
  const pull = async (name: string): Promise<string> => {
    pulls.push(name);
    return name;
  };
  beforeEach(() => {
    pulls.length = 0;
  });

  it('asks on a terminal and pulls when the person agrees', async () => {
    const questions: string[] = [];
    await ensureModel('base.en', {
      yes: false,
      interactive: true,
      log: quiet,
      pull,
      ask: async (q) => {
        questions.push(q);
        return true;
      },
    });
    expect(questions).toEqual([expect.stringMatching(/base\.en \(142 MiB\) is not downloaded yet\. Download it now from https:\/\/huggingface\.co\//)]);
    expect(pulls).toEqual(['base.en']);
  });

  it('a "no" on the terminal names the way out', async () => {
    await expect(ensureModel('base.en', { yes: false, interactive: true, log: quiet, pull, ask: async () => false })).rejects.toMatchObject({
      code: 'MODEL_NOT_FOUND',
      message: expect.stringMatching(/run: prism-dictate models pull base\.en, or choose another with --model/),
    });
    expect(pulls).toEqual([]);
  });

  it('--yes pulls without asking; without a terminal nothing is asked', async () => {
    const ask = async (): Promise<boolean> => {
      throw new Error('asked');
    };
    await ensureModel('test-tiny', { yes: true, interactive: false, log: quiet, pull, ask });
    expect(pulls).toEqual(['test-tiny']);
    await expect(ensureModel('base.en', { yes: false, interactive: false, log: quiet, pull, ask })).rejects.toMatchObject({
      message: expect.stringMatching(/--yes, or PRISM_DICTATE_YES=1/),
    });
  });

  it('leaves paths, unknown names and models already there to the loader', async () => {
    await pullModel('test-tiny');
    for (const name of [models().tiny, 'test-tiny', '/nowhere/x.bin', 'my-own-name']) {
      await ensureModel(name, { yes: false, interactive: false, log: quiet, pull });
    }
    expect(pulls).toEqual([]);
  });
});
