/** The service over a real Unix socket: shared state pool, cancellation, bad clients, load. */
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, loadModel, readAudio, type Segment, type WhisperModel } from '../lib/index.js';
import { ServiceClient } from '../lib/service/client.js';
import { encodeFrame, FrameDecoder, FrameType } from '../lib/service/protocol.js';
import { ServiceServer } from '../lib/service/server.js';
import { ServiceEngine } from '../lib/service/serviceEngine.js';
import { JFK, models, SCRIPT_25 } from './helpers.js';

const posix = process.platform !== 'win32';
let dir: string;
let model: WhisperModel;
let server: ServiceServer;
let jfk: Float32Array;
const socketPath = (name: string) => (posix ? join(dir, name) : `\\\\.\\pipe\\prism-test-${process.pid}-${name}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prism-svc-'));
  jfk = await readAudio(JFK);
  model = await loadModel(models().tiny, { states: 2 });
  server = await ServiceServer.listen({ socketPath: socketPath('main.sock'), model, maxQueue: 64 });
});

afterAll(async () => {
  await server?.close();
  await model?.close();
});

describe('service', () => {
  it.skipIf(!posix)('listens on a socket only its user can use', () => {
    expect(statSync(server.socketPath).mode & 0o777).toBe(0o600);
  });

  it('transcribes exactly as the library does, segments streamed first', async () => {
    const client = await ServiceClient.connect(server.socketPath);
    expect(client.welcome).toMatchObject({ protocol: 1, backend: 'cpu', states: 2 });
    const seen: Segment[] = [];
    const remote = await client.transcribe(jfk, { audioCtx: 'auto', onSegment: (s) => seen.push(s) });
    const local = await model.transcribe(jfk, { audioCtx: 'auto' });
    expect(remote.text).toBe(SCRIPT_25);
    expect(remote.segments).toEqual(local.segments);
    expect(seen).toEqual(remote.segments);
    expect(await client.health()).toMatchObject({ ok: true, backend: 'cpu', busy: 0 });
    client.close();
  });

  it('round trip without inference (5 s of silence): every request answered as silence (the time printed; the bench measures it)', async () => {
    const client = await ServiceClient.connect(server.socketPath);
    const silence = new Float32Array(5 * 16000);
    const times: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      const r = await client.transcribe(silence);
      times.push(performance.now() - t0);
      expect(r.skipped).toBe('silence');
    }
    times.sort((a, b) => a - b);
    const p50 = times[30] as number;
    console.log(`IPC round trip, 5 s utterance, no inference: p50 ${p50.toFixed(2)} ms, p95 ${(times[57] as number).toFixed(2)} ms`);
    client.close();
  });

  it('cancels a request when the client asks, and rejects with AbortError', async () => {
    const client = await ServiceClient.connect(server.socketPath);
    const ac = new AbortController();
    const p = client.transcribe(jfk, { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(p).rejects.toBeInstanceOf(AbortError);
    expect((await client.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
    client.close();
  });

  it('aborts the requests of a client that disconnects, without touching the others', async () => {
    const other = await ServiceClient.connect(server.socketPath);
    const theirs = other.transcribe(jfk);
    const leaving = await ServiceClient.connect(server.socketPath);
    void leaving.transcribe(jfk).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
    leaving.close();
    expect((await theirs).text).toBe(SCRIPT_25);
    for (let i = 0; i < 50 && model.busy > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(model.busy).toBe(0);
    other.close();
  });

  it('disconnects a client that sends a malformed or oversized frame; others carry on', async () => {
    const good = await ServiceClient.connect(server.socketPath);
    const inFlight = good.transcribe(jfk, { audioCtx: 'auto' });
    const foreign = encodeFrame(FrameType.Health, 1);
    foreign.writeUInt8(9, 4); // protocol version 9
    for (const bad of [Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3]), foreign]) {
      const raw = connect(server.socketPath);
      const decoder = new FrameDecoder();
      const replies: unknown[] = [];
      raw.on('data', (c: Buffer) => replies.push(...decoder.push(c).map((f) => f.json)));
      await new Promise<void>((r) => raw.once('connect', r));
      raw.write(bad);
      await new Promise<void>((r) => raw.once('close', () => r()));
      expect(replies).toEqual([expect.objectContaining({ code: 'PROTOCOL' })]);
    }
    expect((await inFlight).text).toBe(SCRIPT_25);
    expect((await good.health()).ok).toBe(true);
    good.close();
  });

  it('closes a connection whose frame stops arriving (a length prefix, then nothing)', async () => {
    const quick = await ServiceServer.listen({ socketPath: socketPath('stall.sock'), model, frameTimeoutMs: 200 });
    const raw = connect(quick.socketPath);
    const decoder = new FrameDecoder();
    const replies: unknown[] = [];
    raw.on('data', (c: Buffer) => replies.push(...decoder.push(c).map((f) => f.json)));
    await new Promise<void>((r) => raw.once('connect', r));
    const prefix = Buffer.alloc(14);
    prefix.writeUInt32LE(128 << 20);
    raw.write(prefix);
    await new Promise<void>((r) => raw.once('close', () => r()));
    expect(replies).toEqual([expect.objectContaining({ code: 'PROTOCOL', message: expect.stringMatching(/stopped arriving/) })]);
    await quick.close();
  });

  it('audio over the hour the library takes is BAD_AUDIO before a byte is sent; the connection carries on', async () => {
    const client = await ServiceClient.connect(server.socketPath);
    await expect(client.transcribe(new Float32Array(3601 * 16000))).rejects.toMatchObject({ code: 'BAD_AUDIO', message: expect.stringMatching(/too long/) });
    expect((await client.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
    client.close();
  });

  it('refuses a batch request when the queue is full, with QUEUE_FULL; never an interactive one', async () => {
    const small = await ServiceServer.listen({ socketPath: socketPath('small.sock'), model, maxQueue: 1 });
    const client = await ServiceClient.connect(small.socketPath);
    const batch = Array.from({ length: 6 }, () => client.transcribe(jfk, { audioCtx: 'auto', priority: 'batch' }));
    const interactive = client.transcribe(jfk, { audioCtx: 'auto' });
    const results = await Promise.allSettled(batch);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'QUEUE_FULL' });
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(3);
    expect((await interactive).text).toBe(SCRIPT_25);
    client.close();
    await small.close();
  });

  it.skipIf(!posix)('will not start twice on one socket, and replaces a stale one', async () => {
    await expect(ServiceServer.listen({ socketPath: server.socketPath, model })).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: expect.stringMatching(/already running/),
    });
    const stale = socketPath('stale.sock');
    await writeFile(stale, '');
    const s = await ServiceServer.listen({ socketPath: stale, model });
    expect((await (await ServiceClient.connect(stale)).health()).ok).toBe(true);
    await s.close();
    expect(existsSync(stale)).toBe(false);
    await expect(ServiceClient.connect(stale, 300)).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  });

  it('8 clients × 25 requests: every result arrives once, to the right request', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => ServiceClient.connect(server.socketPath)));
    const seen = new Set<number>();
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < 25; i++) {
          const samples = 16000 + (c * 25 + i) * 160; // a unique length per request: 1.00 s + n × 10 ms
          const pcm = i % 5 === 0 ? jfk.subarray(0, samples) : new Float32Array(samples);
          const r = await client.transcribe(pcm, { audioCtx: 'auto' });
          expect(r.audioMs).toBe(samples / 16);
          expect(seen.has(r.audioMs)).toBe(false);
          seen.add(r.audioMs);
          if (i % 5 === 0) expect(r.text.length).toBeGreaterThan(0);
          else expect(r.skipped).toBe('silence');
        }
      }),
    );
    expect(seen.size).toBe(200);
    for (const c of clients) c.close();
  });
});

describe('serve over the service (ServiceEngine)', () => {
  it.skipIf(!posix)('outlives a service restart: the first request after it is answered, not refused with 503', async () => {
    const path = socketPath('restart.sock');
    const before = await ServiceServer.listen({ socketPath: path, model });
    const engine = new ServiceEngine(path, await ServiceClient.connect(path));
    try {
      expect((await engine.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
      await before.close();
      const after = await ServiceServer.listen({ socketPath: path, model });
      try {
        expect((await engine.transcribe(jfk, { audioCtx: 'auto' })).text).toBe(SCRIPT_25);
      } finally {
        await after.close();
      }
      // with no service at all, it says so (one new connection tried, no loop)
      await expect(engine.transcribe(jfk, { audioCtx: 'auto' })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    } finally {
      engine.close();
    }
  });
});
