/**
 * Early answers reach fetch clients (issue 25, item 8): 401, 413 and 429 go out before the body is
 * read, and Node's fetch (undici, under the official OpenAI SDK) used to lose them to `fetch failed:
 * EPIPE` when the server closed with the upload still coming. The server now drains what is left
 * of the body (within bounds) after answering, so the SDK sees the status it was sent.
 */
import { Worker } from 'node:worker_threads';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../lib/audio/wav.js';
import type { Engine } from '../lib/engine/contract.js';
import { listenApi, type RunningApi } from '../lib/web/api.js';
import { STUB_TRANSCRIPT, stubHealth, tone } from './helpers.js';

const TOKEN = 'early-token';
const transcript = STUB_TRANSCRIPT;

/** Every transcription waits here until the test lets it go; `started` counts the ones waiting. */
let release: () => void = () => {};
let held = new Promise<void>((r) => {
  release = r;
});
let started = 0;
const engine: Engine = {
  transcribe: async () => {
    started++;
    await held;
    return transcript;
  },
};
const health = stubHealth;

let api: RunningApi;
const wav = encodeWav(tone(11)); // 352 KB, the size of the jfk clip
const big = Buffer.alloc(6 * 1024 * 1024, 1); // bigger than what the sockets buffer between the two ends

beforeAll(async () => {
  api = await listenApi({ engine, health, token: TOKEN, port: 0, maxBytes: 1024 * 1024, maxPending: 2 });
});

afterAll(async () => {
  release();
  await api?.close(100);
});

/**
 * The official client, in a thread of its own: what it sees of N concurrent uploads of `file`
 * (the HTTP status, 'ok', or the connection error's code). In the server's own thread the race
 * that loses early answers rarely shows; a client on its own event loop, as in real use, hits it
 * on nearly every request.
 */
const CLIENTS = `
const { workerData, parentPort } = require('node:worker_threads');
const { default: OpenAI, toFile } = require('openai');
const { url, key, n, file } = workerData;
const seen = (e) => (e instanceof OpenAI.APIError && !(e instanceof OpenAI.APIConnectionError) ? e.status : String(e.cause?.code ?? e.cause?.cause?.code ?? e.message));
Promise.all(
  Array.from({ length: n }, async () => {
    const client = new OpenAI({ baseURL: url + '/v1', apiKey: key, maxRetries: 0, timeout: 60000 });
    const upload = await toFile(Buffer.from(file), 'a.wav');
    return client.audio.transcriptions.create({ file: upload, model: 'whisper-1' }).then((t) => t.text, seen);
  }),
).then((outcomes) => parentPort.postMessage(outcomes));
`;

function upload(file: Buffer, o: { key?: string; n?: number } = {}): Promise<Array<number | string>> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CLIENTS, { eval: true, workerData: { url: api.url, key: o.key ?? TOKEN, n: o.n ?? 1, file } });
    w.once('message', (m: Array<number | string>) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

const times = <T>(n: number, v: T): T[] => Array.from({ length: n }, () => v);

describe('the official openai client sees early answers', () => {
  it('a wrong key: 401 (AuthenticationError), not a connection error, whatever the upload size', async () => {
    expect(await upload(wav, { key: 'wrong', n: 10 })).toEqual(times(10, 401));
    expect(await upload(big, { key: 'wrong' })).toEqual([401]);
  });

  it('a file over the size limit: 413', async () => {
    expect(await upload(big, { n: 3 })).toEqual(times(3, 413));
  });

  it('over the concurrency limit: every extra request sees 429 (RateLimitError), and the held ones finish', async () => {
    const first = upload(wav, { n: 2 });
    await expect.poll(() => started, { timeout: 60_000 }).toBe(2);
    expect(await upload(wav, { n: 30 })).toEqual(times(30, 429));
    release();
    held = Promise.resolve();
    expect(await first).toEqual(['hello', 'hello']);
  });

  it('after all that, the next request on the same server is answered', async () => {
    expect(await upload(wav)).toEqual(['hello']);
  });

  it('in the same thread too (the SDK itself): AuthenticationError and a 413 APIError', async () => {
    const bad = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    const e = await bad.audio.transcriptions.create({ file: await toFile(big, 'a.wav'), model: 'whisper-1' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.AuthenticationError);
    const good = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
    const f = await good.audio.transcriptions.create({ file: await toFile(big, 'a.wav'), model: 'whisper-1' }).catch((x: unknown) => x);
    expect(f).not.toBeInstanceOf(OpenAI.APIConnectionError);
    expect((f as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((f as Error).message).toMatch(/larger than this server's limit of 1 MiB/);
  });
});
