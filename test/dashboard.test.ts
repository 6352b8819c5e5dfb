/**
 * The dashboard server with a fake dictation host and supervisor: the token guards every route,
 * /metrics is Prometheus text whose histograms move with each dictation, the event stream delivers
 * dictations and samples only while watched, POST /api/repaste re-pastes, and the page is light.
 */
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { type IncomingHttpHeaders, request } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineStatus } from '../lib/engine/contract.js';
import { WhisperError } from '../lib/errors.js';
import type { DictationEvent, Repasted, Retried } from '../lib/host/dictation.js';
import { hotkeyHint, microphoneName } from '../lib/host/start.js';
import type { StageTimes } from '../lib/metrics/stages.js';
import { addPhrase, type DictationGroup, dictationItem, dictationState } from '../lib/web/dashboard/feed.js';
import { GpuProbe, parseNvidiaSmi } from '../lib/web/dashboard/gpu.js';
import { tickLabels, zeroRange } from '../lib/web/dashboard/page/axes.js';
import { PAGE_JS } from '../lib/web/dashboard/page/client.js';
import { type RunningDashboard, startDashboard } from '../lib/web/dashboard/server.js';

class FakeHost extends EventEmitter {
  state = 'idle';
  repasted = 0;
  repasteError: Error | undefined;
  /** what the next repaste() says it did */
  repasteAnswer: Repasted = { text: 'the last words', outcome: 'pasted' };
  counts = { dictations: 0, noSpeech: 0, tooShort: 0, cancelled: 0, failed: 0, historyErrors: 0 };
  status(): Record<string, unknown> {
    return { state: 'idle', counts: { ...this.counts }, latency: { total: { p50: 720, p95: 720, n: this.counts.dictations } }, microphone: 'ok' };
  }
  async repaste(): Promise<Repasted> {
    this.repasted++;
    if (this.repasteError) throw this.repasteError;
    return this.repasteAnswer;
  }
  retried: Array<{ id?: string; intoLastWindow?: boolean }> = [];
  retryError: Error | undefined;
  /** what retry() of an id says, and the record it emits as 'retried' */
  async retry(o: { id?: string; intoLastWindow?: boolean }): Promise<Retried> {
    this.retried.push(o);
    if (this.retryError) throw this.retryError;
    const record = { ...phrase(o.id ?? '', 'said again', 'D1', 1).record, timings: {} };
    this.emit('retried', record);
    return { id: o.id ?? '', text: 'said again', outcome: 'copied', hint: 'press Ctrl+V to paste', record };
  }
  /** kept WAVs by id */
  wavs = new Map<string, Buffer>();
  async keptAudio(id: string): Promise<Buffer> {
    const wav = this.wavs.get(id);
    if (!wav) throw new WhisperError('HISTORY_FAILED', `there is no history entry ${id}`);
    return wav;
  }
}

class FakeEngine {
  busy = 1;
  queued = 2;
  restarts = 0;
  errors: Record<string, number> = {};
  status(): EngineStatus {
    // our own pid stands in for the engine process: its memory and CPU can be read
    const { restarts } = this;
    return {
      state: 'ready',
      backend: 'cpu',
      engine: 'primary',
      enginePid: process.pid,
      restarts,
      readyMs: 0,
      supervisorUptimeMs: 0,
      latency: {},
      errors: { ...this.errors },
      events: [],
    };
  }
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function call(port: number, path: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** What the page's own script sends with its POST: the token in X-Prism-Token (percent-encoded), as a same-origin fetch. */
function fromPage(token: string, port?: number): Record<string, string> {
  return {
    'x-prism-token': encodeURIComponent(token),
    'sec-fetch-site': 'same-origin',
    ...(port ? { origin: `http://127.0.0.1:${port}` } : {}),
  };
}

/** An open event stream: every event so far, and the first not yet taken of a kind (waiting for it if need be). */
function listen(
  port: number,
  token: string,
): Promise<{ events: Array<{ event: string; data: Record<string, unknown> }>; next(name: string): Promise<Record<string, unknown>>; close(): void }> {
  return new Promise((resolve, reject) => {
    const events: Array<{ event: string; data: Record<string, unknown> }> = [];
    const taken = new Set<number>();
    const waiters: Array<{ name: string; resolve: (d: Record<string, unknown>) => void }> = [];
    const serve = (): void => {
      for (const w of [...waiters]) {
        const i = events.findIndex((e, j) => e.event === w.name && !taken.has(j));
        if (i < 0) continue;
        taken.add(i);
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve((events[i] as { data: Record<string, unknown> }).data);
      }
    };
    const req = request({ host: '127.0.0.1', port, path: `/events?token=${token}` }, (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
        serve();
      });
      resolve({
        events,
        next: (name) =>
          new Promise((r) => {
            waiters.push({ name, resolve: r });
            serve();
          }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Prometheus text: every sample line `name{labels} value`, each family announced by HELP and TYPE. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\w+) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') types.set(meta[2] as string, meta[3] as string);
      continue;
    }
    const m = /^(\w+)(\{[^}]*\})? (-?[\d.e+-]+|NaN|\+Inf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    const family = (m[1] as string).replace(/_(bucket|sum|count)$/, '');
    if (!types.has(family) && !types.has(m[1] as string)) throw new Error(`no TYPE for ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

const TIMES: StageTimes = { trigger: 0.4, capture: 2100, endOfSpeech: 520, transcription: 180, paste: 12, total: 720 };

function dictation(id: string, text: string, times: StageTimes = TIMES, state = 'done'): DictationEvent {
  return { record: { id, at: '2025-01-02T03:04:05.000Z', seconds: 2.1, state, voicedMs: 1800, text, settings: {} } as DictationEvent['record'], times: { ...times } };
}

/** Phrase `n` of dictation `of`, as the host reports it: a history record (with its kept WAV) naming its dictation. */
function phrase(id: string, text: string, of: string, n: number, times: StageTimes = TIMES, state = 'done'): DictationEvent {
  return {
    record: {
      id,
      at: '2025-01-02T03:04:05.000Z',
      audio: `${id}.wav`,
      seconds: 1.5,
      state,
      voicedMs: 1200,
      text,
      settings: { dictation: of, phrase: n },
    } as DictationEvent['record'],
    times: { ...times },
  };
}

describe('dashboard server', () => {
  let dash: RunningDashboard | undefined;
  let home: string | undefined;
  afterEach(async () => {
    await dash?.stop();
    dash = undefined;
    if (home) await rm(home, { recursive: true, force: true });
    home = undefined;
  });

  async function start(o: { showText?: boolean; noHost?: boolean; intervalMs?: number } = {}) {
    const host = new FakeHost();
    const engine = new FakeEngine();
    home = await mkdtemp(join(tmpdir(), 'prism-dash-'));
    dash = await startDashboard({
      engine,
      host: o.noHost ? undefined : host,
      port: 0,
      showText: o.showText ?? true,
      home,
      intervalMs: o.intervalMs ?? 100,
      gpu: new GpuProbe('prism-no-such-nvidia-smi'),
    });
    return { host, engine, dash, port: dash.port, token: dash.token, home };
  }

  it('binds 127.0.0.1 with a 192-bit token, writes dashboard.json (0600) and removes it on stop', async () => {
    const s = await start();
    expect(s.dash.url).toBe(`http://127.0.0.1:${s.port}/?token=${s.token}`);
    expect(Buffer.from(s.token, 'base64url').length).toBe(24);
    const file = join(s.home, 'dashboard.json');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ url: s.dash.url, port: s.port, pid: process.pid });
    expect((await promisify(stat)(file)).mode & 0o777).toBe(0o600);
    const ext = s.dash.extension({ control: (r) => (r === 'mine' ? Promise.resolve({ ok: 1 }) : undefined), status: () => ({ host: { state: 'idle' } }) });
    expect(ext.status()).toEqual({ host: { state: 'idle' }, dashboard: { url: s.dash.url } });
    expect(await ext.control('mine')).toEqual({ ok: 1 });
    expect(ext.control('other')).toBeUndefined();
    await s.dash.stop();
    dash = undefined;
    await expect(readFile(file)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(call(s.port, `/?token=${s.token}`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('keeps its address across restarts: the token kept in the home (0600), the configured port; a taken port falls back to a free one', async () => {
    const first = await start();
    const tokenFile = join(first.home, 'dashboard-token');
    expect((await readFile(tokenFile, 'utf8')).trim()).toBe(first.token);
    expect((await promisify(stat)(tokenFile)).mode & 0o777).toBe(0o600);
    const port = first.port;
    await first.dash.stop();
    // the next start of the same home, on the port the first had: the same URL
    const again = await startDashboard({ engine: new FakeEngine(), port, showText: true, home: first.home, gpu: new GpuProbe('prism-no-such-nvidia-smi') });
    try {
      expect(again.url).toBe(first.dash.url);
      expect(again.portTaken).toBe(false);
      // a second daemon asking for the same port gets another one, with a token of its own, and says so
      const other = await startDashboard({ engine: new FakeEngine(), port, showText: true, token: 'a-token-from-the-config-0123', gpu: new GpuProbe('prism-no-such-nvidia-smi') });
      try {
        expect(other.portTaken).toBe(true);
        expect(other.port).not.toBe(port);
        expect(other.token).not.toBe('a-token-from-the-config-0123');
        expect(other.url).toBe(`http://127.0.0.1:${other.port}/?token=${other.token}`);
        expect(other.notice).toMatch(/dashboard\.token from the config is not accepted/);
      } finally {
        await other.stop();
      }
    } finally {
      await again.stop();
      dash = undefined;
    }
  });

  it('refuses every route without the token (401) or with a wrong one (403), and leaks nothing', async () => {
    const s = await start();
    s.host.emit('dictation', dictation('d1', 'secret words'));
    const wrongSameLength = `${s.token.slice(0, -1)}${s.token.endsWith('A') ? 'B' : 'A'}`;
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/app.js'],
      ['GET', '/uplot.js'],
      ['GET', '/events'],
      ['GET', '/metrics'],
      ['POST', '/api/repaste'],
      ['GET', '/nothing-here'],
    ] as const) {
      const none = await call(s.port, path, { method });
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(none.body.toString()).toMatch(/^token required\. Open the address that `prism-dictate dashboard` prints .*dashboard --open.*Authorization: Bearer <token>/);
      for (const wrong of [wrongSameLength, 'short', `${s.token}x`]) {
        const r = await call(s.port, `${path}?token=${wrong}`, { method });
        expect(r.status, `${method} ${path} ${wrong}`).toBe(403);
        expect(r.body.toString()).toMatch(/^wrong token\. Open the address that `prism-dictate dashboard` prints/);
      }
      expect((await call(s.port, path, { method, headers: { authorization: `Bearer ${wrongSameLength}` } })).status).toBe(403);
    }
    expect(s.host.repasted).toBe(0);
    // the right token, in the query or as a bearer token (a Prometheus scrape)
    expect((await call(s.port, `/?token=${s.token}`)).status).toBe(200);
    expect((await call(s.port, '/metrics', { headers: { authorization: `Bearer ${s.token}` } })).status).toBe(200);
    expect((await call(s.port, `/nothing-here?token=${s.token}`)).status).toBe(404);
  });

  it('/metrics is Prometheus text; stage histograms, counters and gauges move with dictations and engine events', async () => {
    const s = await start();
    const scrape = async (): Promise<Map<string, number>> => {
      const r = await call(s.port, `/metrics?token=${s.token}`);
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      return parsePrometheus(r.body.toString());
    };
    const before = await scrape();
    expect(before.get('prism_dictation_stage_seconds_count{stage="transcription"}')).toBeUndefined();
    expect(before.get('prism_fallbacks_total')).toBe(0);
    expect(before.get('prism_engine_restarts_total')).toBe(0);
    expect(before.get('prism_queue_depth{kind="running"}')).toBe(1);
    expect(before.get('prism_queue_depth{kind="waiting"}')).toBe(2);
    expect(before.get('prism_memory_bytes{process="daemon"}')).toBeGreaterThan(10 * 2 ** 20);
    expect(before.get('prism_memory_bytes{process="engine"}')).toBeGreaterThan(10 * 2 ** 20);

    s.host.emit('dictation', dictation('d1', 'one'));
    let m = await scrape();
    expect(m.get('prism_dictation_stage_seconds_count{stage="transcription"}')).toBe(1);
    expect(m.get('prism_dictation_stage_seconds_sum{stage="transcription"}')).toBeCloseTo(0.18, 9);
    expect(m.get('prism_dictation_stage_seconds_bucket{le="0.1",stage="transcription"}')).toBe(0);
    expect(m.get('prism_dictation_stage_seconds_bucket{le="0.25",stage="transcription"}')).toBe(1);
    expect(m.get('prism_dictation_stage_seconds_sum{stage="capture"}')).toBeCloseTo(2.1, 9);
    expect(m.get('prism_dictation_stage_seconds_bucket{le="0.001",stage="trigger"}')).toBe(1);
    expect(m.get('prism_dictation_stage_seconds_count{stage="total"}')).toBe(1);
    expect(m.get('prism_dictations_total{state="done"}')).toBe(1);
    expect(m.get('prism_transcription_requests_total{outcome="done"}')).toBe(1);

    s.host.emit('dictation', dictation('d2', 'two', { ...TIMES, transcription: 300 }));
    s.host.emit('dictation', dictation('d3', '', { trigger: 0.3, capture: 900 }, 'no-speech'));
    s.engine.restarts = 2;
    s.engine.errors = { TRANSCRIBE_FAILED: 3, QUEUE_FULL: 1 };
    s.dash.supervisorEvent({ at: 'now', event: 'fallback', detail: 'cuda → cpu after: boom' });
    s.dash.supervisorEvent({ at: 'now', event: 'crashed', detail: 'signal SIGKILL' });
    m = await scrape();
    expect(m.get('prism_dictation_stage_seconds_count{stage="transcription"}')).toBe(2);
    expect(m.get('prism_dictation_stage_seconds_sum{stage="transcription"}')).toBeCloseTo(0.48, 9);
    expect(m.get('prism_dictation_stage_seconds_count{stage="capture"}')).toBe(2); // no-speech is not a finished dictation
    expect(m.get('prism_dictations_total{state="done"}')).toBe(2);
    expect(m.get('prism_dictations_total{state="no-speech"}')).toBe(1);
    expect(m.get('prism_engine_restarts_total')).toBe(2);
    expect(m.get('prism_errors_total{code="TRANSCRIBE_FAILED"}')).toBe(3);
    expect(m.get('prism_errors_total{code="QUEUE_FULL"}')).toBe(1);
    expect(m.get('prism_fallbacks_total')).toBe(1);
    // counters follow the supervisor's totals, however often they are scraped
    s.engine.errors.TRANSCRIBE_FAILED = 4;
    m = await scrape();
    expect(m.get('prism_errors_total{code="TRANSCRIBE_FAILED"}')).toBe(4);
    expect(m.get('prism_engine_restarts_total')).toBe(2);
  });

  it('the event stream: a snapshot, then dictations, state and service events; samples only while watched', async () => {
    const s = await start({ intervalMs: 100 });
    s.host.emit('dictation', dictation('d0', 'before anyone watched'));
    const stream = await listen(s.port, s.token);
    const snapshot = await stream.next('snapshot');
    expect(snapshot.showText).toBe(true);
    expect((snapshot.recent as Array<{ id: string; phrases: Array<{ text: string }> }>).map((d) => [d.id, d.phrases.map((p) => p.text)])).toEqual([
      ['d0', ['before anyone watched']],
    ]);
    expect(snapshot.service).toMatchObject({ state: 'ready', backend: 'cpu', restarts: 0, fallbacks: 0, queue: { running: 1, waiting: 2 } });

    const sample = (await stream.next('sample')) as { sample: { daemon: { rssBytes: number }; engine: { rssBytes: number }; gpu: unknown } };
    expect(sample.sample.daemon.rssBytes).toBeGreaterThan(0);
    expect(sample.sample.engine.rssBytes).toBeGreaterThan(0);
    expect(sample.sample.gpu).toEqual({ none: 'no GPU' });
    const second = (await stream.next('sample')) as { sample: { daemon: { cpu: number } } };
    expect(typeof second.sample.daemon.cpu).toBe('number');

    const got = stream.next('dictation');
    s.host.counts.dictations = 1;
    s.host.emit('dictation', dictation('d1', 'hello there'));
    const d = (await got) as { item: Record<string, unknown>; dictation: Record<string, unknown>; host: { counts: { dictations: number } } };
    const item = { id: 'd1', dictation: 'd1', phrase: 1, at: '2025-01-02T03:04:05.000Z', state: 'done', seconds: 2.1, text: 'hello there', times: TIMES };
    expect(d.item).toEqual(item);
    expect(d.dictation).toEqual({ id: 'd1', at: item.at, state: 'done', phrases: [item] });
    expect(d.host.counts.dictations).toBe(1);

    const state = stream.next('state');
    s.host.emit('state', 'recording');
    expect(await state).toMatchObject({ state: 'recording', host: { counts: { dictations: 1 } } });
    // a dictation that ends with a silent phrase sends no 'dictation' event: its end still brings the count
    s.host.counts.dictations = 2;
    const finished = stream.next('state');
    s.host.emit('finished');
    expect(await finished).toMatchObject({ state: 'idle', host: { counts: { dictations: 2 } } });
    const service = stream.next('service');
    s.dash.supervisorEvent({ at: 'now', event: 'fallback', detail: 'cuda → cpu' });
    expect(await service).toMatchObject({ event: { event: 'fallback' }, service: { fallbacks: 1 } });

    expect(s.dash.feed.watchers).toBe(1);
    stream.close();
    await new Promise((r) => setTimeout(r, 150));
    expect(s.dash.feed.watchers).toBe(0);
    const kept = (s.dash.feed.snapshot().samples as unknown[]).length;
    await new Promise((r) => setTimeout(r, 400));
    expect((s.dash.feed.snapshot().samples as unknown[]).length).toBe(kept); // nobody watches: no sampling
  });

  it('dashboard.showText: false keeps dictated text off the stream and the repaste answer', async () => {
    const s = await start({ showText: false });
    const stream = await listen(s.port, s.token);
    await stream.next('snapshot');
    const got = stream.next('dictation');
    s.host.emit('dictation', dictation('d1', 'private words'));
    expect((await got).item).not.toHaveProperty('text');
    expect(JSON.stringify(stream.events)).not.toContain('private words');
    const r = await call(s.port, '/api/repaste', { method: 'POST', headers: fromPage(s.token) });
    expect(JSON.parse(r.body.toString())).toEqual({ pasted: true, outcome: 'pasted' });
    stream.close();
  });

  it('POST /api/repaste calls repaste(); other methods and failures are answered', async () => {
    const s = await start();
    const ok = await call(s.port, '/api/repaste', { method: 'POST', headers: fromPage(s.token, s.port) });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body.toString())).toEqual({ pasted: true, outcome: 'pasted', text: 'the last words' });
    expect(s.host.repasted).toBe(1);
    expect((await call(s.port, `/api/repaste?token=${s.token}`)).status).toBe(405);
    expect(s.host.repasted).toBe(1);
    s.host.repasteError = new WhisperError('HISTORY_FAILED', 'there is no dictated text to paste again');
    const failed = await call(s.port, '/api/repaste', { method: 'POST', headers: fromPage(s.token) });
    expect(failed.status).toBe(409);
    expect(JSON.parse(failed.body.toString())).toEqual({ error: 'there is no dictated text to paste again', code: 'HISTORY_FAILED' });
  });

  it('POST /api/repaste says copied (not pasted) when no keystroke could be sent, and how to paste it (issue 26)', async () => {
    const s = await start();
    s.host.repasteAnswer = { text: 'the last words', outcome: 'copied', hint: 'press Ctrl+V to paste (no way to send the paste keystroke here)' };
    const r = await call(s.port, '/api/repaste', { method: 'POST', headers: fromPage(s.token) });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({
      pasted: false,
      outcome: 'copied',
      hint: 'press Ctrl+V to paste (no way to send the paste keystroke here)',
      text: 'the last words',
    });
  });

  it('without a host (--no-host): a service-only view, and nothing to re-paste', async () => {
    const s = await start({ noHost: true });
    const stream = await listen(s.port, s.token);
    const snapshot = await stream.next('snapshot');
    expect(snapshot.host).toBeUndefined();
    expect(snapshot.service).toMatchObject({ state: 'ready' });
    stream.close();
    const r = await call(s.port, '/api/repaste', { method: 'POST', headers: fromPage(s.token) });
    expect(r.status).toBe(409);
    expect(s.host.repasted).toBe(0);
  });

  it('the page and everything it loads: gzipped, token-carrying, under 300 KB transferred', async () => {
    const s = await start();
    const gzip = { 'accept-encoding': 'gzip' };
    const page = await call(s.port, `/?token=${s.token}`, { headers: gzip });
    expect(page.status).toBe(200);
    expect(page.headers['content-encoding']).toBe('gzip');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    const html = (await call(s.port, `/?token=${s.token}`)).body.toString();
    const refs = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs).toEqual([`uplot.css?token=${s.token}`, `app.css?token=${s.token}`, `uplot.js?token=${s.token}`, `app.js?token=${s.token}`]);
    expect(html).not.toMatch(/https?:\/\//); // nothing from outside: it works offline
    let transferred = page.body.length;
    for (const ref of refs) {
      const r = await call(s.port, `/${ref}`, { headers: gzip });
      expect(r.status, ref).toBe(200);
      expect(r.headers['content-encoding']).toBe('gzip');
      expect(Number(r.headers['content-length'])).toBe(r.body.length);
      transferred += r.body.length;
    }
    const uplot = (await call(s.port, `/uplot.js?token=${s.token}`)).body.toString();
    expect(uplot).toContain('uPlot');
    console.log(`dashboard page: ${(transferred / 1024).toFixed(1)} KB transferred (gzip), ${refs.length + 1} requests`);
    expect(transferred).toBeLessThan(300 * 1024);
  });

  it('refuses a Host that is not ours (DNS rebinding) and a page from another origin, whatever the token', async () => {
    const s = await start();
    for (const path of ['/', '/app.js', '/events', '/metrics']) {
      for (const host of ['evil.example', `evil.example:${s.port}`, `127.0.0.1.evil.example:${s.port}`, `127.0.0.1:${s.port + 1}`]) {
        const r = await call(s.port, `${path}?token=${s.token}`, { headers: { host } });
        expect(r.status, `${path} Host: ${host}`).toBe(403);
        expect(r.body.toString()).toMatch(/^refused: Host/);
        expect(r.body.toString()).not.toContain('prism-dictate</h1>');
      }
      for (const origin of ['http://evil.example', `http://evil.example:${s.port}`, 'null', `http://127.0.0.1:${s.port + 1}`]) {
        const r = await call(s.port, `${path}?token=${s.token}`, { headers: { origin } });
        expect(r.status, `${path} Origin: ${origin}`).toBe(403);
      }
    }
    // the names the dashboard is ours under, and our own page's origin, pass
    for (const host of [`127.0.0.1:${s.port}`, `localhost:${s.port}`]) expect((await call(s.port, `/?token=${s.token}`, { headers: { host } })).status).toBe(200);
    expect((await call(s.port, `/metrics?token=${s.token}`, { headers: { origin: `http://localhost:${s.port}` } })).status).toBe(200);
    // a Prometheus scrape: the bearer token, no Origin
    expect((await call(s.port, '/metrics', { headers: { authorization: `Bearer ${s.token}` } })).status).toBe(200);
  });

  it('POST /api/repaste only from the page itself: a cross-site form POST with the token is refused (403)', async () => {
    const s = await start();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const refusals: Array<Record<string, string>> = [
      // a foreign page's <form method=post action="http://127.0.0.1:PORT/api/repaste?token=…">
      { ...form, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      // the same from a browser that sends neither Origin nor Sec-Fetch-Site: the token is only in the address
      form,
      // a foreign page's fetch with the token in the header (its preflight is never granted; refused even so)
      { 'x-prism-token': s.token, 'sec-fetch-site': 'cross-site' },
      { 'x-prism-token': s.token, origin: 'http://evil.example' },
      { authorization: `Bearer ${s.token}`, origin: 'null' },
    ];
    for (const headers of refusals) {
      const r = await call(s.port, `/api/repaste?token=${s.token}`, { method: 'POST', headers });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.body.toString()).toMatch(/^refused: /);
    }
    expect(s.host.repasted).toBe(0);
    // a preflight is not granted
    const preflight = await call(s.port, '/api/repaste', {
      method: 'OPTIONS',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-prism-token' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    // the page's own fetch, and curl with the bearer token
    expect((await call(s.port, '/api/repaste', { method: 'POST', headers: fromPage(s.token, s.port) })).status).toBe(200);
    expect((await call(s.port, '/api/repaste', { method: 'POST', headers: { authorization: `Bearer ${s.token}` } })).status).toBe(200);
    expect(s.host.repasted).toBe(2);
    // the page's script sends it that way
    const js = (await call(s.port, `/app.js?token=${s.token}`)).body.toString();
    expect(js).toContain("fetch('api/repaste', { method: 'POST', headers: { 'X-Prism-Token': encodeURIComponent(token) } })");
  });

  it('a token with + & # % (the user may write their own) is percent-encoded in every URL and accepted', async () => {
    const token = 'a+b&c#d%e f/g?h=i;0123';
    home = await mkdtemp(join(tmpdir(), 'prism-dash-'));
    const host = new FakeHost();
    dash = await startDashboard({ engine: new FakeEngine(), host, port: 0, token, showText: true, home, gpu: new GpuProbe('prism-no-such-nvidia-smi') });
    const { port } = dash;
    expect(dash.url).toBe(`http://127.0.0.1:${port}/?token=${encodeURIComponent(token)}`);
    expect(new URL(dash.url).searchParams.get('token')).toBe(token);
    expect(JSON.parse(await readFile(join(home, 'dashboard.json'), 'utf8')).url).toBe(dash.url);
    const u = new URL(dash.url);
    const page = await call(port, `${u.pathname}${u.search}`);
    expect(page.status).toBe(200);
    const refs = [...page.body.toString().matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs).toHaveLength(4);
    for (const ref of refs) {
      expect(ref).toContain(`?token=${encodeURIComponent(token)}`);
      expect((await call(port, `/${ref}`)).status, ref).toBe(200);
    }
    expect((await call(port, `/metrics${u.search}`)).status).toBe(200);
    expect((await call(port, '/metrics', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await call(port, '/api/repaste', { method: 'POST', headers: fromPage(token, port) })).status).toBe(200);
    expect(host.repasted).toBe(1);
  });

  it('a port someone else holds: the dashboard moves with a new token (the kept one is replaced), and says so', async () => {
    const s = await start();
    const old = s.token;
    await s.dash.stop();
    dash = undefined;
    // another user's program listens on the port first: a bookmark or a scrape of it hands it the token
    const squatter = createTcpServer((c) => c.destroy());
    await new Promise<void>((r) => squatter.listen(s.port, '127.0.0.1', r));
    try {
      dash = await startDashboard({ engine: new FakeEngine(), port: s.port, showText: true, home: s.home, gpu: new GpuProbe('prism-no-such-nvidia-smi') });
      expect(dash.portTaken).toBe(true);
      expect(dash.port).not.toBe(s.port);
      expect(dash.token).not.toBe(old);
      expect(dash.url).toBe(`http://127.0.0.1:${dash.port}/?token=${dash.token}`);
      expect((await readFile(join(s.home, 'dashboard-token'), 'utf8')).trim()).toBe(dash.token);
      expect((await promisify(stat)(join(s.home, 'dashboard-token'))).mode & 0o777).toBe(0o600);
      expect(dash.notice).toMatch(new RegExp(`^dashboard: port ${s.port} is taken .* on port ${dash.port} with a new token: the old token no longer works`));
      expect(dash.extension(undefined).status()).toEqual({ dashboard: { url: dash.url, notice: dash.notice } });
      // the token the squatter may have been handed opens nothing here
      expect((await call(dash.port, `/?token=${old}`)).status).toBe(403);
      expect((await call(dash.port, '/metrics', { headers: { authorization: `Bearer ${old}` } })).status).toBe(403);
      expect((await call(dash.port, `/?token=${dash.token}`)).status).toBe(200);
      const moved = dash.token;
      await dash.stop();
      dash = undefined;
      // nor later, once the port is free again: the new token is the one kept
      await new Promise((r) => squatter.close(r));
      dash = await startDashboard({ engine: new FakeEngine(), port: s.port, showText: true, home: s.home, gpu: new GpuProbe('prism-no-such-nvidia-smi') });
      expect(dash.portTaken).toBe(false);
      expect(dash.notice).toBeUndefined();
      expect(dash.token).toBe(moved);
      expect((await call(dash.port, `/?token=${old}`)).status).toBe(403);
    } finally {
      if (squatter.listening) await new Promise((r) => squatter.close(r));
    }
  });

  it('groups phrases under their dictation: one dictation of two phrases is one entry, in the order spoken', async () => {
    const s = await start();
    const stream = await listen(s.port, s.token);
    await stream.next('snapshot');
    const a = '20250102-030405-000-001';
    const b = '20250102-030407-000-002';
    const c = '20250102-030410-000-003';
    const sent = [stream.next('dictation'), stream.next('dictation'), stream.next('dictation')];
    s.host.emit('dictation', phrase(a, 'first part ', 'D1', 1, { trigger: 0.5, capture: 1500, endOfSpeech: 500, transcription: 100 }));
    s.host.emit('dictation', phrase(b, 'second part ', 'D1', 2, TIMES));
    s.host.emit('dictation', phrase(c, 'another one ', 'D2', 1, TIMES, 'copied'));
    const [, second, third] = (await Promise.all(sent)) as Array<{
      dictation: { id: string; state: string; phrases: Array<{ id: string; phrase: number; text: string; audio?: boolean }> };
    }>;
    expect(second?.dictation.id).toBe('D1');
    expect(second?.dictation.phrases.map((p) => [p.id, p.phrase, p.text, p.audio])).toEqual([
      [a, 1, 'first part ', true],
      [b, 2, 'second part ', true],
    ]);
    expect(third?.dictation).toMatchObject({ id: 'D2', state: 'copied' });
    const recent = s.dash.feed.snapshot().recent as Array<{ id: string; phrases: unknown[] }>;
    expect(recent.map((d) => [d.id, d.phrases.length])).toEqual([
      ['D1', 2],
      ['D2', 1],
    ]);
    stream.close();
  });

  it('GET /audio/<id>.wav serves a kept WAV of the history, token-guarded; nothing else', async () => {
    const s = await start();
    const id = '20250102-030405-000-001';
    const wav = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WAVEfmt '), Buffer.alloc(40)]);
    s.host.wavs.set(id, wav);
    const ok = await call(s.port, `/audio/${id}.wav?token=${s.token}`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('audio/wav');
    expect(ok.body.equals(wav)).toBe(true);
    expect((await call(s.port, `/audio/${id}.wav`)).status).toBe(401);
    expect((await call(s.port, `/audio/${id}.wav?token=${'A'.repeat(32)}`)).status).toBe(403);
    // not a history id, or no such entry: 404 (the host is never asked for a path)
    for (const bad of ['..%2Fconfig', '20250102-030405-000-002', 'x', '%2E%2E%2F%2E%2E%2Fetc%2Fpasswd']) {
      expect((await call(s.port, `/audio/${bad}.wav?token=${s.token}`)).status, bad).toBe(404);
    }
    expect((await call(s.port, `/audio/../dashboard-token?token=${s.token}`)).status).toBe(404);
    // the page's policy lets it play audio from its own origin
    const page = await call(s.port, `/?token=${s.token}`);
    expect(page.headers['content-security-policy']).toContain("media-src 'self'");
  });

  it('no audio where dashboard.showText is off (the voice is as private as the text)', async () => {
    const s = await start({ showText: false });
    const id = '20250102-030405-000-001';
    s.host.wavs.set(id, Buffer.from('RIFF....WAVE'));
    expect((await call(s.port, `/audio/${id}.wav?token=${s.token}`)).status).toBe(404);
    const stream = await listen(s.port, s.token);
    await stream.next('snapshot');
    const got = stream.next('dictation');
    s.host.emit('dictation', phrase(id, 'private', 'D1', 1));
    expect((await got).item).not.toHaveProperty('audio');
    stream.close();
  });

  it('POST /api/retry?id= transcribes that entry again, only from the page; the new text reaches the stream', async () => {
    const s = await start();
    const id = '20250102-030405-000-001';
    const stream = await listen(s.port, s.token);
    await stream.next('snapshot');
    const first = stream.next('dictation');
    s.host.emit('dictation', phrase(id, 'misheard', 'D1', 1));
    await first;
    const updated = stream.next('dictation');
    const r = await call(s.port, `/api/retry?id=${id}`, { method: 'POST', headers: fromPage(s.token, s.port) });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({ id, outcome: 'copied', hint: 'press Ctrl+V to paste', text: 'said again' });
    expect(s.host.retried).toEqual([{ id, intoLastWindow: true }]);
    const u = (await updated) as { dictation: { id: string; phrases: Array<{ id: string; text: string; times: StageTimes }> } };
    expect(u.dictation.phrases).toHaveLength(1); // in place, not a new phrase
    expect(u.dictation.phrases[0]).toMatchObject({ id, text: 'said again', times: TIMES });
    // guarded as repaste: GET, a form (token in the address), another site, a bad id
    expect((await call(s.port, `/api/retry?id=${id}&token=${s.token}`)).status).toBe(405);
    expect((await call(s.port, `/api/retry?id=${id}&token=${s.token}`, { method: 'POST' })).status).toBe(403);
    expect((await call(s.port, `/api/retry?id=${id}`, { method: 'POST', headers: { ...fromPage(s.token), 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    const bad = await call(s.port, '/api/retry?id=../x', { method: 'POST', headers: fromPage(s.token) });
    expect(bad.status).toBe(400);
    expect(s.host.retried).toHaveLength(1);
    s.host.retryError = new WhisperError('HISTORY_FAILED', 'there is no history entry');
    const failed = await call(s.port, `/api/retry?id=${id}`, { method: 'POST', headers: fromPage(s.token) });
    expect(failed.status).toBe(409);
    expect(JSON.parse(failed.body.toString())).toMatchObject({ code: 'HISTORY_FAILED' });
    stream.close();
  });

  it("the microphone's level: sent while a page is open, at most 10 times a second, the loudest of each 100 ms", async () => {
    const s = await start();
    expect(s.host.listenerCount('meter')).toBe(0); // nobody watching: not even a listener
    const stream = await listen(s.port, s.token);
    await stream.next('snapshot');
    expect(s.host.listenerCount('meter')).toBe(1);
    const t0 = Date.now();
    const first = stream.next('level');
    s.host.emit('meter', 0.25);
    expect(await first).toEqual({ rms: 0.25 });
    const second = stream.next('level');
    // a burst within 100 ms: one update, with the loudest
    for (const v of [0.1, 0.5, 0.2]) s.host.emit('meter', v);
    expect(await second).toEqual({ rms: 0.5 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
    expect(stream.events.filter((e) => e.event === 'level')).toHaveLength(2);
    stream.close();
    await expect.poll(() => s.host.listenerCount('meter')).toBe(0);
  });

  it('parses nvidia-smi, and a machine without it shows "no GPU"', async () => {
    expect(parseNvidiaSmi('37, 1024, 81559\n0, 5, 24576\n')).toEqual([
      { index: 0, utilization: 37, memoryUsedMiB: 1024, memoryTotalMiB: 81559 },
      { index: 1, utilization: 0, memoryUsedMiB: 5, memoryTotalMiB: 24576 },
    ]);
    expect(parseNvidiaSmi('[N/A], 10, 20\n')).toEqual([]);
    expect(await new GpuProbe('prism-no-such-nvidia-smi').sample()).toEqual({ none: 'no GPU' });
  });
});

describe('dashboard logic', () => {
  it("a dictation's state from its phrases", () => {
    expect(dictationState([{ state: 'done' }, { state: 'no-speech' }])).toBe('done');
    expect(dictationState([{ state: 'done' }, { state: 'failed' }])).toBe('failed');
    expect(dictationState([{ state: 'copied' }, { state: 'done' }])).toBe('copied');
    expect(dictationState([{ state: 'cancelled' }])).toBe('cancelled');
  });

  it('addPhrase groups by dictation, orders by phrase, replaces a phrase in place, and keeps the newest dictations', () => {
    const groups: DictationGroup[] = [];
    const item = (id: string, of: string, n: number, text: string) => dictationItem(phrase(id, text, of, n).record, TIMES, true);
    addPhrase(groups, item('p2', 'A', 2, 'two'));
    addPhrase(groups, item('p1', 'A', 1, 'one'));
    addPhrase(groups, item('p3', 'B', 1, 'three'), 2);
    expect(groups.map((g) => [g.id, g.phrases.map((p) => p.text)])).toEqual([
      ['A', ['one', 'two']],
      ['B', ['three']],
    ]);
    addPhrase(groups, item('p1', 'A', 1, 'one, again'));
    expect(groups[0]?.phrases.map((p) => p.text)).toEqual(['one, again', 'two']);
    addPhrase(groups, item('p4', 'C', 1, 'four'), 2);
    expect(groups.map((g) => g.id)).toEqual(['B', 'C']);
    // a record without a dictation (an older daemon's) is a dictation of its own
    expect(dictationItem({ id: 'x', at: 'now', seconds: 1, state: 'done' }, {}, true)).toMatchObject({ dictation: 'x', phrase: 1 });
  });

  it('the y axis starts at 0 and its labels never repeat (the capture chart read 4.4, 4.5, 4.5)', () => {
    expect(zeroRange(null, 4.4, 4.55)).toEqual([0, 4.55 * 1.1]);
    expect(zeroRange(null, null, null)).toEqual([0, 1]);
    expect(zeroRange(null, 0, 0)).toEqual([0, 1]);
    expect(zeroRange(null, -2, 3)[0]).toBeLessThan(-2);
    expect(tickLabels(null, [4.4, 4.45, 4.5, 4.55])).toEqual(['4.40', '4.45', '4.50', '4.55']);
    expect(tickLabels(null, [0, 0.25, 0.5, 0.75])).toEqual(['0.00', '0.25', '0.50', '0.75']);
    expect(tickLabels(null, [0, 1, 2, 3, 4])).toEqual(['0', '1', '2', '3', '4']);
    expect(tickLabels(null, [0, 1000, 2000, null])).toEqual(['0', '1000', '2000', '']);
    for (const splits of [
      [4.4, 4.45, 4.5],
      [0, 0.1, 0.2, 0.3],
      [0, 0.5, 1, 1.5],
      [0, 0.002, 0.004],
    ]) {
      const labels = tickLabels(null, splits);
      expect(new Set(labels).size, labels.join(' ')).toBe(labels.length);
    }
    // the page embeds these very functions
    expect(PAGE_JS).toContain(zeroRange.toString());
    expect(PAGE_JS).toContain(tickLabels.toString());
  });

  it('the hotkey hint names the chord and what to do with it in each mode', () => {
    expect(hotkeyHint('ctrl+alt+space', 'hold')).toBe('hold Ctrl+Alt+Space while you speak, release it to paste');
    expect(hotkeyHint('ctrl+alt+space', 'toggle')).toBe('press Ctrl+Alt+Space to start dictating, press it again to stop');
    expect(hotkeyHint('meta+alt+v', 'hybrid')).toBe('hold Meta+Alt+V while you speak (release to paste), or tap it to dictate hands-free and tap again to stop');
    expect(hotkeyHint('meta+alt+v', 'hybrid', false)).toBe('press Meta+Alt+V to start dictating, press it again to stop (this desktop reports presses only)');
  });

  it('the microphone by its name: PortAudio\'s "default" is the sound server\'s default source', async () => {
    const sources = async () => [
      { name: 'alsa_input.usb-mic', description: 'USB Headset Mic', isDefault: true },
      { name: 'other', description: 'Other', isDefault: false },
    ];
    expect(await microphoneName('default via PortAudio', sources)).toBe("USB Headset Mic (alsa_input.usb-mic, the sound server's default, via PortAudio)");
    expect(await microphoneName('pulse via PortAudio', sources)).toMatch(/^USB Headset Mic/);
    expect(await microphoneName('HDA Intel: ALC892 Analog (hw:0,0) via PortAudio', sources)).toBe('HDA Intel: ALC892 Analog (hw:0,0) via PortAudio');
    expect(await microphoneName('default via PortAudio', async () => undefined)).toBe('default via PortAudio'); // no sound server: as it is
  });
});
