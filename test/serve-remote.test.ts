/**
 * The API on a real service (ServiceEngine over its socket) under concurrent load, RemoteEngine
 * against it, and how engine failures and hang-ups come out over HTTP (a stub engine).
 */
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../lib/audio/wav.js';
import type { Engine } from '../lib/engine/contract.js';
import { RemoteEngine } from '../lib/engine/remote.js';
import { AbortError, loadModel, readAudio, type Transcript, WhisperError, type WhisperModel } from '../lib/index.js';
import { ServiceClient } from '../lib/service/client.js';
import { servicePaths } from '../lib/service/home.js';
import { ServiceEngine } from '../lib/service/serviceEngine.js';
import { type RunningService, startService } from '../lib/service/start.js';
import { listenApi, type RunningApi } from '../lib/web/api.js';
import { JFK, models, SCRIPT_25 } from './helpers.js';

const TOKEN = 'remote-token';
let service: RunningService;
let engine: ServiceEngine;
let api: RunningApi;
let model: WhisperModel;
let jfk: Float32Array;

beforeAll(async () => {
  jfk = await readAudio(JFK);
  const paths = servicePaths(await mkdtemp(join(tmpdir(), 'prism-serve-')));
  service = await startService({ model: models().tiny, gpu: 'cpu', states: 2 }, paths);
  engine = new ServiceEngine(paths.socket, await ServiceClient.connect(paths.socket));
  api = await listenApi({ engine, health: () => engine.health(), token: TOKEN, port: 0 });
  model = await loadModel(models().tiny, { gpu: 'cpu' });
});

afterAll(async () => {
  await api?.close();
  engine?.close();
  await service?.stop();
  await model?.close();
});

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('on a running service', () => {
  it('/health reports the service state', async () => {
    expect(await (await fetch(`${api.url}/health`)).json()).toMatchObject({ status: 'ok', state: 'ready', backend: 'cpu' });
  });

  it('8 clients × 3 requests: every answer arrives once, with its own duration and the expected text', async () => {
    const clients = Array.from({ length: 8 }, (_, c) => 1 + c * 0.25); // seconds, distinct per client
    const expected = await model.transcribe(jfk.subarray(0, 16_000), { audioCtx: 'auto' });
    expect(expected.text).toBe(SCRIPT_25);
    const answers = await Promise.all(
      clients.map(async (seconds) => {
        const wav = new Blob([encodeWav(jfk.subarray(0, seconds * 16_000))]);
        const got: Array<{ duration: number; text: string }> = [];
        for (let i = 0; i < 3; i++) {
          const f = new FormData();
          f.append('file', wav, `c${seconds}-${i}.wav`);
          f.append('response_format', 'verbose_json');
          const r = await fetch(`${api.url}/v1/audio/transcriptions`, { method: 'POST', body: f, headers: { authorization: `Bearer ${TOKEN}` } });
          expect(r.status).toBe(200);
          got.push((await r.json()) as { duration: number; text: string });
        }
        return { seconds, got };
      }),
    );
    expect(answers.flatMap((a) => a.got)).toHaveLength(24);
    for (const a of answers) expect(a.got.map((g) => [g.duration, g.text])).toEqual([0, 1, 2].map(() => [a.seconds, expected.text]));
  });
});

describe('RemoteEngine', () => {
  it('returns what the local model returns', async () => {
    const remote = new RemoteEngine({ url: `${api.url}/v1`, token: TOKEN });
    const seen: unknown[] = [];
    const r = await remote.transcribe(jfk, { language: 'en', onSegment: (s) => seen.push(s) });
    const local = await model.transcribe(jfk, { audioCtx: 'auto' });
    expect(r.text).toBe(local.text);
    expect(r.text).toBe(SCRIPT_25);
    expect(r.segments).toEqual(local.segments);
    expect(seen).toEqual(local.segments);
    expect(r).toMatchObject({ language: 'en', audioMs: 11_000, backend: 'remote:cpu' });
  });

  it('a wrong token is CONFIG_INVALID, saying the token was refused', async () => {
    const e = await new RemoteEngine({ url: api.url, token: 'wrong' }).transcribe(jfk).catch((x: unknown) => x);
    expect(WhisperError.is(e, 'CONFIG_INVALID')).toBe(true);
    expect((e as Error).message).toMatch(/refused the token \(HTTP 401: incorrect API key\)/);
  });

  it('bad audio is BAD_AUDIO with the server message', async () => {
    const e = await new RemoteEngine({ url: api.url, token: TOKEN }).transcribe(jfk.subarray(0, 800)).catch((x: unknown) => x);
    expect(WhisperError.is(e, 'BAD_AUDIO')).toBe(true);
    expect((e as Error).message).toMatch(/refused the audio: audio is too short: 50 ms < 100 ms$/);
  });

  it('an unreachable server is SERVICE_UNAVAILABLE', async () => {
    const port = await deadPort();
    const e = await new RemoteEngine({ url: `http://127.0.0.1:${port}` }).transcribe(jfk).catch((x: unknown) => x);
    expect(WhisperError.is(e, 'SERVICE_UNAVAILABLE')).toBe(true);
    expect((e as Error).message).toBe(`cannot reach http://127.0.0.1:${port}/v1/audio/transcriptions: ECONNREFUSED`);
  });
});

describe('engine failures and hang-ups', () => {
  let stub: RunningApi;
  let behave: (signal: AbortSignal) => Promise<Transcript>;
  const aborted: boolean[] = [];

  beforeAll(async () => {
    const fake: Engine = { transcribe: (_pcm, o) => behave(o.signal as AbortSignal) };
    stub = await listenApi({ engine: fake, health: () => Promise.reject(new Error('no engine')), port: 0 });
  });
  afterAll(() => stub?.close(100));

  const transcript = (audioMs: number): Transcript => ({
    text: 'hello',
    segments: [],
    language: 'en',
    timings: { queueMs: 0, melMs: 0, encodeMs: 0, decodeMs: 0, totalMs: 0, tokens: 0, windows: 0 },
    backend: 'stub',
    audioMs,
    audioCtx: 1500,
  });

  it("duration is the engine's audioMs, not computed from the upload", async () => {
    behave = async () => transcript(1234);
    const r = await new RemoteEngine({ url: stub.url }).transcribe(jfk);
    expect(r).toMatchObject({ audioMs: 1234, text: 'hello', backend: 'remote:stub' });
  });

  it('an unavailable service is 503 (SERVICE_UNAVAILABLE to RemoteEngine), any other failure 500', async () => {
    behave = () => Promise.reject(new WhisperError('SERVICE_UNAVAILABLE', 'no service on /home/someone/.prism-dictate/service.sock (ENOENT)'));
    const e = await new RemoteEngine({ url: stub.url }).transcribe(jfk).catch((x: unknown) => x);
    expect(WhisperError.is(e, 'SERVICE_UNAVAILABLE')).toBe(true);
    // the HTTP client learns that it is unavailable, not where its socket lives
    expect((e as Error).message).toMatch(/failed \(HTTP 503\): the transcription service is unavailable; try again shortly$/);
    behave = () => Promise.reject(new WhisperError('TRANSCRIBE_FAILED', 'boom'));
    const f = new FormData();
    f.append('file', new Blob([encodeWav(jfk)]), 'a.wav');
    const five = await fetch(`${stub.url}/v1/audio/transcriptions`, { method: 'POST', body: f });
    expect(five.status).toBe(500);
    expect(await five.json()).toEqual({ error: { message: 'boom', type: 'server_error', param: null, code: 'transcribe_failed' } });
  });

  it('/health answers 503 when the engine cannot be reached', async () => {
    const r = await fetch(`${stub.url}/health`);
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ status: 'unavailable', state: 'unreachable', error: 'the transcription service is unavailable' });
  });

  it('a slow server times out as SERVICE_UNAVAILABLE; an aborted call is an AbortError; both cancel the engine request', async () => {
    behave = (signal) =>
      new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          aborted.push(true);
          reject(new AbortError());
        });
      });
    const slow = await new RemoteEngine({ url: stub.url, timeoutMs: 300 }).transcribe(jfk).catch((x: unknown) => x);
    expect(WhisperError.is(slow, 'SERVICE_UNAVAILABLE')).toBe(true);
    expect((slow as Error).message).toBe(`${stub.url}/v1/audio/transcriptions did not answer within 300 ms`);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const cancelled = await new RemoteEngine({ url: stub.url }).transcribe(jfk, { signal: controller.signal }).catch((x: unknown) => x);
    expect(cancelled).toBeInstanceOf(AbortError);
    await expect.poll(() => aborted.length).toBe(2);
  });
});
