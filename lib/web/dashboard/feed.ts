/**
 * The live side of the page: Server-Sent Events to every open page. A page gets a snapshot when it
 * connects (recent dictations, service state, the last resource samples), then each dictation,
 * recording state change and service event as it happens, and a resource sample every ~2 s.
 * Sampling runs only while at least one page is connected: with nobody watching there is no timer
 * at all, and the idle daemon costs nothing.
 */
import type { ServerResponse } from 'node:http';
import { basename } from 'node:path';
import type { EngineEvent } from '../../engine/contract.js';
import type { DictationEvent } from '../../host/dictation.js';
import type { StageTimes } from '../../metrics/stages.js';
import { GpuProbe, type GpuSample } from './gpu.js';
import { type ProcessSample, pidMeter, selfMeter } from './resources.js';
import type { WatchedEngine, WatchedHost } from './sources.js';

const KEEP_DICTATIONS = 50;
/** five minutes of samples at one per 2 s, so that a reopened page has a curve at once */
const KEEP_SAMPLES = 150;

export interface DictationItem {
  id: string;
  at: string;
  state: string;
  seconds: number;
  /** absent when the config hides text (dashboard.showText: false) */
  text?: string;
  error?: string;
  times: StageTimes;
}

export interface ResourceSample {
  /** ms since the epoch */
  at: number;
  daemon: ProcessSample;
  engine?: ProcessSample;
  gpu: { gpus: GpuSample[] } | { none: string };
}

export interface LiveFeedOptions {
  engine: WatchedEngine;
  host?: WatchedHost;
  /** send dictated text to the page (dashboard.showText) */
  showText: boolean;
  intervalMs?: number;
  gpu?: GpuProbe;
  /** the dictation host's setup: microphone, hotkey, mode, output */
  about?: () => Record<string, string>;
}

export class LiveFeed {
  private readonly clients = new Set<ServerResponse>();
  private readonly recent: DictationItem[] = [];
  private readonly samples: ResourceSample[] = [];
  private readonly events: EngineEvent[];
  private fallbacks: number;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  private readonly gpu: GpuProbe;

  constructor(private readonly o: LiveFeedOptions) {
    this.gpu = o.gpu ?? new GpuProbe();
    // what happened before the dashboard started (a fallback while the service was starting)
    this.events = ((o.engine.status().events ?? []) as EngineEvent[]).slice(-KEEP_DICTATIONS);
    this.fallbacks = this.events.filter((e) => e.event === 'fallback').length;
  }

  get watchers(): number {
    return this.clients.size;
  }

  /** Turns a response into an event stream: snapshot first, then everything live until the page goes. */
  attach(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.socket?.setNoDelay(true);
    res.write('retry: 2000\n\n');
    this.send(res, 'snapshot', this.snapshot());
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stopSampling();
    });
    if (this.clients.size === 1) this.startSampling();
  }

  dictation(e: DictationEvent): void {
    const r = e.record;
    const item: DictationItem = { id: r.id, at: r.at, state: r.state, seconds: r.seconds, times: { ...e.times } };
    if (this.o.showText && r.text !== undefined) item.text = r.text;
    if (r.error) item.error = `${r.error.code}: ${r.error.message}`;
    this.recent.push(item);
    if (this.recent.length > KEEP_DICTATIONS) this.recent.shift();
    this.broadcast('dictation', { item, host: this.hostView() });
  }

  /** Recording started or stopped, or a dictation finished (its counts are in the host view). */
  recordingState(state: string): void {
    this.broadcast('state', { state, host: this.hostView() });
  }

  supervisorEvent(e: EngineEvent): void {
    this.events.push(e);
    if (this.events.length > KEEP_DICTATIONS) this.events.shift();
    if (e.event === 'fallback') this.fallbacks++;
    this.broadcast('service', { event: e, service: this.serviceView() });
  }

  snapshot(): Record<string, unknown> {
    return {
      showText: this.o.showText,
      about: this.about(),
      host: this.hostView(),
      service: this.serviceView(),
      recent: this.recent,
      samples: this.samples,
      events: this.events,
    };
  }

  /** Ends every stream (the daemon is stopping). */
  close(): void {
    this.stopSampling();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  /** The model and backend (from the engine), and the host's setup. */
  private about(): Record<string, string> {
    const info = this.o.engine.info;
    return { model: info ? basename(info.path) : '–', backend: info?.backend ?? String(this.o.engine.status().backend ?? '–'), ...this.o.about?.() };
  }

  private hostView(): Record<string, unknown> | undefined {
    const h = this.o.host?.status();
    return h && { state: h.state, counts: h.counts, latency: h.latency, microphone: h.microphone };
  }

  private serviceView(): Record<string, unknown> {
    const s = this.o.engine.status();
    return {
      state: s.state,
      backend: s.backend,
      engine: s.engine,
      enginePid: s.enginePid,
      restarts: s.restarts,
      errors: s.errors,
      fallbacks: this.fallbacks,
      queue: { running: this.o.engine.busy, waiting: this.o.engine.queued },
    };
  }

  private startSampling(): void {
    const self = selfMeter();
    const engine = pidMeter();
    const tick = async (): Promise<void> => {
      if (this.sampling) return; // a slow nvidia-smi: skip a beat rather than pile up
      this.sampling = true;
      try {
        const pid = this.o.engine.status().enginePid;
        const [engineSample, gpu] = await Promise.all([typeof pid === 'number' ? engine(pid) : undefined, this.gpu.sample()]);
        const sample: ResourceSample = { at: Date.now(), daemon: self(), gpu, ...(engineSample ? { engine: engineSample } : {}) };
        this.samples.push(sample);
        if (this.samples.length > KEEP_SAMPLES) this.samples.shift();
        this.broadcast('sample', { sample, service: this.serviceView() });
      } finally {
        this.sampling = false;
      }
    };
    void tick();
    this.timer = setInterval(() => void tick(), this.o.intervalMs ?? 2000);
    this.timer.unref();
  }

  private stopSampling(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.clients) res.write(frame);
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }
}
