/**
 * `serve`'s Realtime transcription WebSocket (issue 28, item 3) with the official client, the pinned
 * `openai` package's `openai/realtime/ws` (OpenAIRealtimeWS, 6.30.1), over wss:// with a self-signed
 * certificate: speech with pauses fed in real time (24 kHz PCM16, 40 ms appends), deltas then the
 * completed transcript of each phrase, equal to a batch transcription of that phrase; a client gone
 * mid-phrase; garbage, oversize and stalled clients; the token and the host/origin guard; two
 * sessions at once beside an HTTP upload.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resample } from '../lib/audio/resample.js';
import { encodeWav } from '../lib/audio/wav.js';
import { type Engine, loadModel, readAudio, type TranscribeOptions, type Transcript, type WhisperModel } from '../lib/index.js';
import { listenApi, type RunningApi } from '../lib/web/api.js';
import { audible, espeak, JFK, models, root, runCli, servedUrl } from './helpers.js';

const TOKEN = 'realtime-token-0123456789';
const RATE = 16000;
const WIRE_RATE = 24000;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

let dir: string;
let cert: Buffer;
let key: Buffer;
let model: WhisperModel;
let engine: Watched;
let api: RunningApi;
/** token-less, small limits: garbage, stalls, oversize */
let strict: RunningApi;
/** two spoken sentences with pauses at 16 kHz, and the same at 24 kHz as PCM16 */
let speech: Float32Array;
let wire: Buffer;

/** An engine over the model that counts its calls, how many run, and whether each was aborted. */
class Watched implements Engine {
  calls: Array<{ options: TranscribeOptions; done?: boolean; signalAborted?: boolean }> = [];
  running = 0;
  private waiters: Array<() => void> = [];
  constructor(private readonly inner: Engine) {}
  async transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<Transcript> {
    const call: Watched['calls'][number] = { options };
    this.calls.push(call);
    this.running++;
    for (const w of this.waiters.splice(0)) w();
    try {
      return await this.inner.transcribe(pcm, options);
    } finally {
      call.done = true;
      call.signalAborted = options.signal?.aborted ?? false;
      this.running--;
    }
  }
  /** resolves when the next call starts */
  started(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }
}

function withPauses(parts: Float32Array[], pausesMs: number[]): Float32Array {
  const out: number[] = [];
  for (const [i, ms] of pausesMs.entries()) {
    for (let k = 0; k < (ms * RATE) / 1000; k++) out.push(0);
    for (const x of parts[i] ?? []) out.push(x);
  }
  return Float32Array.from(out);
}

function pcm16(pcm: Float32Array): Buffer {
  const b = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round((pcm[i] as number) * 32767))), i * 2);
  return b;
}

/** Resolves when `check` holds, checked on every event of `rt` and every 50 ms; rejects after `ms`. */
function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (check()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

type Ev = Record<string, unknown> & { type: string };

interface Client {
  rt: OpenAIRealtimeWS;
  events: Ev[];
  errors: Error[];
  closed?: { code: number; reason: string };
  of(type: string): Ev[];
}

/** The official client on `server`, its events recorded; resolves once session.created arrived. */
async function connect(server: RunningApi, o: { token?: string; headers?: Record<string, string>; model?: string } = {}): Promise<Client> {
  const client = new OpenAI({ apiKey: o.token ?? TOKEN, baseURL: `${server.url}/v1` });
  const rt = new OpenAIRealtimeWS({ model: o.model ?? 'gpt-4o-transcribe', options: { ca: cert, ...(o.headers ? { headers: o.headers } : {}) } }, client);
  const c: Client = { rt, events: [], errors: [], of: (type) => c.events.filter((e) => e.type === type) };
  rt.on('event', (e) => c.events.push({ ...(e as unknown as Ev), at: performance.now() }));
  rt.on('error', (e) => c.errors.push(e));
  rt.socket.on('close', (code, reason) => {
    c.closed = { code, reason: reason.toString() };
  });
  await until(() => c.of('session.created').length > 0 || c.errors.length > 0 || c.closed !== undefined, 'session.created', 20_000);
  return c;
}

/** Sends `bytes` (24 kHz PCM16) in 40 ms appends at the pace they would be heard; stops early when `stop()` says so. */
function feed(c: Client, bytes: Buffer, stop: () => boolean = () => false): Promise<void> {
  const chunk = (WIRE_RATE / 25) * 2;
  const t0 = performance.now();
  return new Promise((resolve) => {
    let at = 0;
    const next = (): void => {
      if (stop() || c.closed || at >= bytes.length) {
        resolve();
        return;
      }
      c.rt.send({ type: 'input_audio_buffer.append', audio: bytes.subarray(at, at + chunk).toString('base64') });
      at += chunk;
      setTimeout(next, Math.max(0, t0 + (at / 2 / WIRE_RATE) * 1000 - performance.now()));
    };
    next();
  });
}

async function transcriptionSession(c: Client, turn: Record<string, unknown> | null = { type: 'server_vad', silence_duration_ms: 500 }): Promise<void> {
  c.rt.send({
    type: 'session.update',
    session: {
      type: 'transcription',
      audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, transcription: { model: 'gpt-4o-transcribe', language: 'en' }, turn_detection: turn as never } },
    },
  });
  await until(() => c.of('session.updated').length > 0, 'session.updated', 20_000);
}

/** The items of a session: per item, its events in order. */
function items(c: Client): Map<string, Ev[]> {
  const m = new Map<string, Ev[]>();
  for (const e of c.events) {
    const id = e.item_id as string | undefined;
    if (!id) continue;
    m.set(id, [...(m.get(id) ?? []), e]);
  }
  return m;
}

/** Checks a server-VAD session's phrases as a client relies on them; returns the transcripts in order. */
async function checkPhrases(c: Client, minPhrases: number): Promise<string[]> {
  const completed = c.of('conversation.item.input_audio_transcription.completed');
  expect(completed.length).toBeGreaterThanOrEqual(minPhrases);
  expect(c.of('input_audio_buffer.speech_started').length).toBe(completed.length);
  expect(c.of('input_audio_buffer.speech_stopped').length).toBe(completed.length);
  const byItem = items(c);
  const texts: string[] = [];
  let previous: string | undefined;
  for (const done of completed) {
    const evs = byItem.get(done.item_id as string) as Ev[];
    const types = evs.map((e) => e.type);
    expect(types[0]).toBe('input_audio_buffer.speech_started');
    expect(types.at(-1)).toBe('conversation.item.input_audio_transcription.completed');
    expect(types.indexOf('input_audio_buffer.speech_stopped')).toBeLessThan(types.indexOf('input_audio_buffer.committed'));
    const started = evs[0] as Ev;
    const stopped = evs.find((e) => e.type === 'input_audio_buffer.speech_stopped') as Ev;
    const deltas = evs.filter((e) => e.type === 'conversation.item.input_audio_transcription.delta').map((e) => e.delta as string);
    const transcript = done.transcript as string;
    // deltas are words appended, never taken back: where the final continues them, they add up to it
    if (transcript.startsWith(deltas.join(''))) expect(deltas.join('')).toBe(transcript);
    if (transcript) expect(deltas.length).toBeGreaterThan(0);
    // the transcript is a batch transcription of the phrase's audio (with the previous phrase as prompt)
    const from = Math.round(((started.audio_start_ms as number) * RATE) / 1000);
    const to = Math.round(((stopped.audio_end_ms as number) * RATE) / 1000);
    const batch = await model.transcribe(resample(resample(speech, RATE, WIRE_RATE), WIRE_RATE, RATE).slice(from, to), {
      language: 'en',
      ...(previous ? { prompt: previous } : {}),
      audioCtx: 'auto',
    });
    expect(transcript).toBe(batch.text);
    expect(done.usage).toMatchObject({ type: 'duration' });
    texts.push(transcript);
    previous = transcript;
  }
  return texts;
}

beforeAll(async () => {
  if (!hasOpenssl) return;
  dir = mkdtempSync(join(tmpdir(), 'prism-realtime-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ].concat(['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]),
    { stdio: 'ignore' },
  );
  cert = readFileSync(join(dir, 'cert.pem'));
  key = readFileSync(join(dir, 'key.pem'));
  model = await loadModel(models().tiny, { states: 2 });
  engine = new Watched(model);
  const health = () => ({ state: 'ready', backend: model.info.backend, model: model.info.path });
  api = await listenApi({ engine, health, token: TOKEN, port: 0, tls: { cert, key } });
  strict = await listenApi({
    engine,
    health,
    port: 0,
    tls: { cert, key },
    realtime: { maxBadEvents: 3, idleMs: 1500, maxPayloadBytes: 64 * 1024, maxSessionMs: 20_000 },
  });
  const a = espeak('The quick brown fox jumps over the lazy dog.');
  const b = espeak('Ask not what your country can do for you.');
  const jfk = await readAudio(JFK);
  const parts = a && b ? [audible(await readAudio(a)), audible(await readAudio(b))] : [jfk.slice(0, 3.5 * RATE), jfk.slice(5.5 * RATE)];
  speech = withPauses(parts, [600, 1500, 1200]);
  wire = pcm16(resample(speech, RATE, WIRE_RATE));
});

afterAll(async () => {
  await api?.close(100);
  await strict?.close(100);
  await model?.close();
});

describe.skipIf(!hasOpenssl)('Realtime transcription over wss:// with the official client (openai 6.30.1)', () => {
  it('speech with pauses fed in real time: speech started/stopped, deltas then completed per phrase, each equal to batch', async () => {
    const c = await connect(api);
    const created = c.of('session.created')[0] as Ev;
    expect(created.session).toMatchObject({ type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: { type: 'server_vad' } } } });
    await transcriptionSession(c);
    expect((c.of('session.updated')[0] as Ev).session).toMatchObject({ audio: { input: { transcription: { model: 'gpt-4o-transcribe', language: 'en' } } } });
    const calls = engine.calls.length;
    await feed(c, wire);
    await until(() => c.of('conversation.item.input_audio_transcription.completed').length >= 2, 'two completed transcripts');
    const texts = await checkPhrases(c, 2);
    expect(texts.every((t) => t.length > 0)).toBe(true);
    // every decode of the session was an interactive one
    expect(engine.calls.slice(calls).every((k) => k.options.priority === 'interactive')).toBe(true);
    expect(c.errors).toEqual([]);
    // the VAD's events come as the audio is heard: a phrase's speech_stopped before its transcript's decode ends
    const byItem = items(c);
    const at = (evs: Ev[], type: string): number => (evs.find((e) => e.type === type) as Ev).at as number;
    const latencies = [...byItem.values()].map((evs) => at(evs, 'conversation.item.input_audio_transcription.completed') - at(evs, 'input_audio_buffer.speech_stopped'));
    const deltas = c.of('conversation.item.input_audio_transcription.delta').length;
    // deltas while the phrase was still spoken (before its speech_stopped): none on a CPU too loaded for two previews to agree
    const live = [...byItem.values()].filter((evs) => {
      const first = evs.findIndex((e) => e.type.endsWith('.delta'));
      return first >= 0 && first < evs.findIndex((e) => e.type === 'input_audio_buffer.speech_stopped');
    }).length;
    console.log(
      `realtime (test-tiny, this CPU): ${texts.length} phrases, ${deltas} deltas, ${live} phrases with text before their end; speech_stopped → completed ${latencies.map((l) => l.toFixed(0)).join(', ')} ms`,
    );
    c.rt.close();
    await until(() => api.realtime.active === 0, 'the session to be freed');
  });

  it('turn detection off: nothing is cut until the client commits; commit transcribes the buffer as one batch; clear drops it', async () => {
    const c = await connect(api);
    await transcriptionSession(c, null);
    const clip = wire.subarray(0, (wire.length / 2) & ~1);
    await feed(c, clip);
    expect(c.of('input_audio_buffer.speech_started')).toEqual([]);
    c.rt.send({ type: 'input_audio_buffer.commit' });
    await until(() => c.of('conversation.item.input_audio_transcription.completed').length === 1, 'the committed transcript');
    const done = c.of('conversation.item.input_audio_transcription.completed')[0] as Ev;
    const samples = resample(speech, RATE, WIRE_RATE).subarray(0, clip.length / 2);
    const batch = await model.transcribe(
      resample(
        Float32Array.from(samples, (x) => Math.round(x * 32767) / 32768),
        WIRE_RATE,
        RATE,
      ),
      { language: 'en', audioCtx: 'auto' },
    );
    expect(done.transcript).toBe(batch.text);
    expect(c.of('input_audio_buffer.committed').map((e) => e.item_id)).toEqual([done.item_id]);
    // an empty commit is an error in OpenAI's shape, the session goes on
    c.rt.send({ type: 'input_audio_buffer.commit', event_id: 'evt_empty' });
    await until(() => c.errors.length === 1, 'the empty-commit error');
    expect(c.of('error')[0]?.error).toMatchObject({ type: 'invalid_request_error', code: 'input_audio_buffer_commit_empty', event_id: 'evt_empty' });
    await feed(c, wire.subarray(0, 9600));
    c.rt.send({ type: 'input_audio_buffer.clear' });
    await until(() => c.of('input_audio_buffer.cleared').length === 1, 'cleared');
    c.rt.send({ type: 'input_audio_buffer.commit' });
    await until(() => c.errors.length === 2, 'the commit after clear to be refused');
    c.rt.close();
  });

  it('a client that disconnects mid-phrase: its decode is aborted and the session freed', async () => {
    const c = await connect(api);
    await transcriptionSession(c);
    let gone = false;
    const started = engine.started();
    const feeding = feed(c, wire, () => gone);
    await started; // a preview of the first phrase is decoding
    const call = engine.calls.at(-1) as Watched['calls'][number];
    c.rt.close();
    gone = true;
    await feeding;
    await until(() => api.realtime.active === 0 && engine.running === 0, 'the session and its decode to end');
    expect(call.done).toBe(true);
    expect(call.signalAborted).toBe(true);
    expect(c.of('conversation.item.input_audio_transcription.completed')).toEqual([]);
  });

  it('two sessions at once beside an HTTP upload over https', async () => {
    const [a, b] = await Promise.all([connect(api), connect(api)]);
    await Promise.all([transcriptionSession(a as Client), transcriptionSession(b as Client)]);
    const http = new OpenAI({ apiKey: TOKEN, baseURL: `${api.url}/v1`, fetchOptions: { dispatcher: new Agent({ connect: { ca: cert } }) } as never });
    const jfk = await readAudio(JFK);
    const upload = http.audio.transcriptions.create({ file: await toFile(encodeWav(jfk), 'jfk.wav'), model: 'whisper-1' });
    await Promise.all([feed(a as Client, wire), feed(b as Client, wire)]);
    const local = await model.transcribe(jfk, { audioCtx: 'auto' });
    expect((await upload).text).toBe(local.text);
    for (const c of [a, b] as Client[]) {
      await until(() => c.of('conversation.item.input_audio_transcription.completed').length >= 2, 'two transcripts in each session');
      await checkPhrases(c, 2);
      expect(c.errors).toEqual([]);
      c.rt.close();
    }
  });

  it('no token, a wrong token, a foreign Origin on a token-less server: refused at the upgrade', async () => {
    const none = await connect(api, { token: '' });
    const wrong = await connect(api, { token: 'not-the-token' });
    const foreign = await connect(strict, { headers: { Origin: 'https://evil.example' } });
    const rebound = await connect(strict, { headers: { Host: `evil.example:${new URL(strict.url).port}` } });
    for (const [c, status] of [
      [none, 401],
      [wrong, 401],
      [foreign, 403],
      [rebound, 403],
    ] as const) {
      expect(c.of('session.created')).toEqual([]);
      expect(c.errors.map((e) => e.message).join()).toContain(`Unexpected server response: ${status}`);
    }
    // the local client of the token-less server is welcome
    const local = await connect(strict);
    expect(local.of('session.created').length).toBe(1);
    local.rt.close();
    // a conversation session is not served
    const conversation = await connect(api, { model: 'gpt-realtime' });
    conversation.rt.send({ type: 'session.update', session: { type: 'realtime' } as never });
    await until(() => conversation.errors.length > 0, 'the refusal of a realtime session');
    expect(conversation.of('error')[0]?.error).toMatchObject({ code: 'unsupported_session_type', param: 'session.type' });
    conversation.rt.close();
  });

  it('garbage: bad JSON and unknown events get error events, repeated garbage closes the session (1008); an oversize message closes it (1009)', async () => {
    const c = await connect(strict);
    c.rt.socket.send('this is not json');
    await until(() => c.errors.length === 1, 'the bad-JSON error');
    expect(c.of('error')[0]?.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    c.rt.send({ type: 'response.create' } as never);
    c.rt.send({ type: 'input_audio_buffer.append', audio: '***' });
    await until(() => c.closed !== undefined, 'the close after garbage');
    expect(c.of('error').map((e) => (e.error as { code: string }).code)).toEqual(['invalid_json', 'unsupported_event', 'invalid_value', 'too_many_bad_events']);
    expect(c.closed?.code).toBe(1008);
    // a good event between bad ones starts the count again
    const d = await connect(strict);
    for (const m of ['{', '{"type":"nope"}']) d.rt.socket.send(m);
    await transcriptionSession(d);
    d.rt.socket.send('{');
    await until(() => d.errors.length === 3, 'three errors');
    expect(d.closed).toBeUndefined();
    d.rt.socket.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(100 * 1024).toString('base64') }));
    await until(() => d.closed !== undefined, 'the close of an oversize message');
    expect(d.closed?.code).toBe(1009);
    await until(() => strict.realtime.active === 0, 'the sessions to be freed');
  });

  it('a stalled client (no message for idleMs) is told and closed', async () => {
    const c = await connect(strict);
    await until(() => c.closed !== undefined, 'the close of a stalled session', 20_000);
    expect(c.closed?.code).toBe(1008);
    expect(c.of('error').at(-1)?.error).toMatchObject({ code: 'session_idle' });
    expect(strict.realtime.active).toBe(0);
  });

  it('bounds: one append of more than maxAppendMs, audio faster than real time beyond the burst, a session past maxSessionMs', async () => {
    const c = await connect(api);
    await transcriptionSession(c);
    const silence = (s: number): string => Buffer.alloc(s * WIRE_RATE * 2).toString('base64');
    c.rt.send({ type: 'input_audio_buffer.append', audio: silence(11), event_id: 'evt_big' });
    await until(() => c.errors.length === 1, 'the refusal of an 11 s append');
    expect(c.of('error')[0]?.error).toMatchObject({ code: 'audio_too_large', param: 'audio', event_id: 'evt_big' });
    // the default burst is 30 s ahead of the clock: the fourth 10 s append at once is too fast
    for (let i = 0; i < 4; i++) c.rt.send({ type: 'input_audio_buffer.append', audio: silence(10) });
    await until(() => c.errors.length === 2, 'the refusal of audio sent too fast');
    expect(c.of('error')[1]?.error).toMatchObject({ type: 'rate_limit_error', code: 'audio_rate_exceeded' });
    expect(c.closed).toBeUndefined();
    c.rt.close();
    const short = await listenApi({ engine, health: () => ({ state: 'ready', backend: 'cpu', model: 'x' }), port: 0, tls: { cert, key }, realtime: { maxSessionMs: 800 } });
    try {
      const d = await connect(short);
      await until(() => d.closed !== undefined, 'the close of an expired session', 20_000);
      expect(d.closed?.code).toBe(1008);
      expect(d.of('error').at(-1)?.error).toMatchObject({ code: 'session_expired' });
    } finally {
      await short.close(100);
    }
  });

  it('a session holds one of the in-progress slots the HTTP API counts: over the cap, uploads and upgrades get 429', async () => {
    const one = await listenApi({ engine: model, health: () => ({ state: 'ready', backend: 'cpu', model: 'x' }), port: 0, tls: { cert, key }, token: TOKEN, maxPending: 1 });
    try {
      const http = new OpenAI({ apiKey: TOKEN, baseURL: `${one.url}/v1`, maxRetries: 0, fetchOptions: { dispatcher: new Agent({ connect: { ca: cert } }) } as never });
      const upload = async (): Promise<unknown> =>
        http.audio.transcriptions.create({ file: await toFile(encodeWav(new Float32Array(RATE)), 'a.wav'), model: 'whisper-1' }).catch((e: unknown) => e);
      const c = await connect(one);
      expect(c.of('session.created').length).toBe(1);
      expect(await upload()).toMatchObject({ status: 429 });
      const second = await connect(one);
      expect(second.errors.map((e) => e.message).join()).toContain('Unexpected server response: 429');
      c.rt.close();
      await until(() => one.realtime.active === 0, 'the session to be freed');
      expect(await upload()).toMatchObject({ text: expect.any(String) });
    } finally {
      await one.close(100);
    }
  });

  it('closing the server closes live sessions with 1001 (going away)', async () => {
    const other = await listenApi({ engine, health: () => ({ state: 'ready', backend: 'cpu', model: 'x' }), port: 0, tls: { cert, key } });
    const c = await connect(other);
    await transcriptionSession(c);
    await other.close(5000);
    await until(() => c.closed !== undefined, 'the close');
    expect(c.closed?.code).toBe(1001);
    expect(c.of('error').at(-1)?.error).toMatchObject({ code: 'shutting_down' });
  });
});

describe('serve --tls-cert/--tls-key', () => {
  const home = (): string => mkdtempSync(join(tmpdir(), 'prism-rt-cli-'));

  it('one without the other, or a file that is not PEM, is refused with a clear error (exit 2)', async () => {
    const r = await runCli(['serve', '--tls-cert', '/nonexistent/cert.pem', '--port', '0'], { PRISM_DICTATE_HOME: home() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--tls-cert needs --tls-key too');
    const k = await runCli(['serve', '--tls-key', '/nonexistent/key.pem', '--port', '0'], { PRISM_DICTATE_HOME: home() });
    expect(k.stderr).toContain('--tls-key needs --tls-cert too');
    const bad = await runCli(['serve', '--tls-cert', JFK, '--tls-key', JFK, '--port', '0'], { PRISM_DICTATE_HOME: home() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`--tls-cert ${JFK}: not a PEM file`);
  });

  it.skipIf(!hasOpenssl || process.platform === 'win32')('serves https and wss on one port; SIGTERM closes a live session with 1001 and exits 0', async () => {
    const child = spawn(
      process.execPath,
      [join(root, 'bin', 'prism-dictate.js'), 'serve', '--port', '0', '--token', TOKEN, '--model', models().tiny, '--gpu', 'cpu', '--states', '1'].concat([
        '--tls-cert',
        join(dir, 'cert.pem'),
        '--tls-key',
        join(dir, 'key.pem'),
      ]),
      { env: { ...process.env, PRISM_DICTATE_HOME: home(), PRISM_DICTATE_API_TOKEN: '' } },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const url = await servedUrl(child, () => stderr);
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1\/audio\/transcriptions$/);
    await until(() => stderr.includes('/v1/realtime'), 'the realtime line', 20_000);
    expect(stderr).toMatch(/realtime transcription \(OpenAI's Realtime API over WebSocket\) on wss:\/\/127\.0\.0\.1:\d+\/v1\/realtime\n/);
    const base = url.replace(/\/v1\/audio\/transcriptions$/, '');
    const c = await connect({ url: base } as RunningApi);
    await transcriptionSession(c);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await until(() => c.closed !== undefined, 'the close');
    expect(c.closed?.code).toBe(1001);
    expect(c.of('error').at(-1)?.error).toMatchObject({ code: 'shutting_down' });
  });
});
