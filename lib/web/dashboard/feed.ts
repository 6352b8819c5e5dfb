/**
 * The live side of the page: Server-Sent Events to every open page. A page gets a snapshot when it
 * connects (recent dictations, service state, the last resource samples), then each phrase as it is
 * delivered (with the dictation it belongs to), recording state changes and service events as they
 * happen, a resource sample every ~2 s and the microphone's level at most 10 times a second.
 * Sampling and the level run only while at least one page is connected: with nobody watching there
 * is no timer and no listener at all, and the idle daemon costs nothing.
 *
 * A dictation (one trigger to its end) is cut into phrases at pauses, and the history keeps one record
 * per phrase, each naming its dictation (settings.dictation) and its place in it (settings.phrase):
 * the feed groups them back, so that the page counts dictations as dictations.
 */
import type { ServerResponse } from 'node:http';
import { basename } from 'node:path';
import type { EngineEvent } from '../../engine/contract.js';
import type { DictationEvent } from '../../host/dictation.js';
import { type DictationRecord, isHistoryId } from '../../host/history.js';
import type { StageTimes } from '../../metrics/stages.js';
import { GpuProbe, type GpuSample } from './gpu.js';
import { type ProcessSample, pidMeter, selfMeter } from './resources.js';
import type { WatchedEngine, WatchedHost } from './sources.js';

const KEEP_DICTATIONS = 50;
/** five minutes of samples at one per 2 s, so that a reopened page has a curve at once */
const KEEP_SAMPLES = 150;
/** the level is sent at most this often (ms): 10 updates a second */
const LEVEL_EVERY_MS = 100;

/** One phrase: one history record. */
export interface DictationItem {
  id: string;
  /** the dictation it belongs to (phrases of one dictation share it) */
  dictation: string;
  /** its place in the dictation, from 1 */
  phrase: number;
  at: string;
  state: string;
  seconds: number;
  /** absent when the config hides text (dashboard.showText: false) */
  text?: string;
  error?: string;
  times: StageTimes;
  /** how the text went out: paste, type, clipboard, stdout */
  delivered?: string;
  /** the window it was pasted or typed into, where the desktop says */
  window?: string;
  /** its audio is kept in the history: GET audio/<id>.wav plays it, POST api/retry?id=<id> transcribes it again */
  audio?: boolean;
}

/** One dictation: its phrases in the order spoken. */
export interface DictationGroup {
  id: string;
  /** when its first phrase was kept */
  at: string;
  state: string;
  phrases: DictationItem[];
}

/**
 * The state of a dictation from its phrases': failed when one failed, else copied when one was copied,
 * else done when one was delivered, else that of its last phrase (no-speech, cancelled).
 */
export function dictationState(phrases: Array<{ state: string }>): string {
  for (const s of ['failed', 'copied', 'done']) if (phrases.some((p) => p.state === s)) return s;
  return phrases.at(-1)?.state ?? 'captured';
}

/** A phrase as the page gets it (text only where shown). */
export function dictationItem(r: DictationRecord, times: StageTimes, showText: boolean): DictationItem {
  const settings = r.settings ?? {};
  const item: DictationItem = {
    id: r.id,
    dictation: typeof settings.dictation === 'string' ? settings.dictation : r.id,
    phrase: typeof settings.phrase === 'number' ? settings.phrase : 1,
    at: r.at,
    state: r.state,
    seconds: r.seconds,
    times: { ...times },
  };
  if (showText && r.text !== undefined) item.text = r.text;
  if (r.error) item.error = `${r.error.code}: ${r.error.message}`;
  if (r.delivered) item.delivered = r.delivered;
  if (r.window) item.window = r.window;
  // the voice is as private as the text: playable only where text is shown
  if (showText && r.audio && isHistoryId(r.id)) item.audio = true;
  return item;
}

/**
 * Puts a phrase into its dictation (a new one at the end, or in place of the same phrase: a retry),
 * keeping at most `keep` dictations; returns the dictation.
 */
export function addPhrase(groups: DictationGroup[], item: DictationItem, keep = KEEP_DICTATIONS): DictationGroup {
  let group = groups.find((g) => g.id === item.dictation);
  if (!group) {
    group = { id: item.dictation, at: item.at, state: item.state, phrases: [] };
    groups.push(group);
    while (groups.length > keep) groups.shift();
  }
  const i = group.phrases.findIndex((p) => p.id === item.id);
  if (i >= 0) group.phrases[i] = { ...item, times: Object.keys(item.times).length ? item.times : (group.phrases[i] as DictationItem).times };
  else {
    group.phrases.push(item);
    group.phrases.sort((a, b) => a.phrase - b.phrase);
  }
  group.at = group.phrases[0]?.at ?? group.at;
  group.state = dictationState(group.phrases);
  return group;
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
  private readonly recent: DictationGroup[] = [];
  private readonly samples: ResourceSample[] = [];
  private readonly events: EngineEvent[];
  private fallbacks: number;
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  private readonly gpu: GpuProbe;
  /** kept across pages, so that a page opened again gets a CPU figure from its first sample */
  private readonly selfCpu = selfMeter();
  private readonly engineCpu = pidMeter();
  private level: { peak: number; timer: NodeJS.Timeout | undefined; sentAt: number } = { peak: 0, timer: undefined, sentAt: 0 };
  private readonly onMeter = (rms: number): void => this.meter(rms);

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
    const item = dictationItem(e.record, e.times, this.o.showText);
    const dictation = addPhrase(this.recent, item);
    this.broadcast('dictation', { item, dictation, host: this.hostView() });
  }

  /** A kept phrase was transcribed again (retry): its new text and state, in place. */
  retried(r: DictationRecord): void {
    const item = dictationItem(r, r.timings ?? {}, this.o.showText);
    const dictation = addPhrase(this.recent, item);
    this.broadcast('dictation', { item, dictation, host: this.hostView() });
  }

  /** The microphone's level (RMS, 0–1): the loudest since the last one sent, at most every 100 ms. */
  private meter(rms: number): void {
    const l = this.level;
    l.peak = Math.max(l.peak, rms);
    if (l.timer) return;
    const send = (): void => {
      l.timer = undefined;
      l.sentAt = Date.now();
      this.broadcast('level', { rms: l.peak });
      l.peak = 0;
    };
    const wait = LEVEL_EVERY_MS - (Date.now() - l.sentAt);
    if (wait <= 0) send();
    else {
      l.timer = setTimeout(send, wait);
      l.timer.unref();
    }
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
    return h && { state: h.state, mode: h.mode, counts: h.counts, latency: h.latency, microphone: h.microphone };
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
    const self = this.selfCpu;
    const engine = this.engineCpu;
    this.o.host?.on('meter', this.onMeter);
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
    this.o.host?.off('meter', this.onMeter);
    clearTimeout(this.level.timer);
    this.level = { peak: 0, timer: undefined, sentAt: 0 };
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
