/**
 * /metrics: the daemon in Prometheus text format, on a registry of its own (never prom-client's
 * global one, so that an embedding application's metrics stay apart). No default metrics: their
 * event-loop monitor would tick all the time, and the idle daemon must stay quiet. Stage histograms
 * and dictation counters move on each dictation; the engine's counters and gauges are read from the
 * supervisor when scraped.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineEvent } from '../../engine/contract.js';
import type { DictationEvent } from '../../host/dictation.js';
import { STAGES } from '../../metrics/stages.js';
import { processMemory } from './resources.js';
import type { WatchedEngine } from './sources.js';

/** seconds: from a key-down (milliseconds) to a long utterance (a minute) */
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Adds to `counter` what a monotonic count grew by since the last scrape. */
function deltaCounter(counter: Counter<string>, seen: Map<string, number>, key: string, now: number, labels?: Record<string, string>): void {
  const grew = now - (seen.get(key) ?? 0);
  if (grew > 0) {
    if (labels) counter.inc(labels, grew);
    else counter.inc(grew);
  }
  seen.set(key, now);
}

export class DashboardMetrics {
  readonly registry = new Registry();
  private readonly stageSeconds: Histogram<'stage'>;
  private readonly dictations: Counter<'state'>;
  private readonly requests: Counter<'outcome'>;
  private readonly fallbacks: Counter;

  constructor(engine: WatchedEngine) {
    const registers = [this.registry];
    this.stageSeconds = new Histogram({
      name: 'prism_dictation_stage_seconds',
      help: 'Time spent in each stage of a dictation (trigger, capture, endOfSpeech, transcription, paste, total)',
      labelNames: ['stage'],
      buckets: BUCKETS,
      registers,
    });
    this.dictations = new Counter({
      name: 'prism_dictations_total',
      help: 'Dictations finished, by outcome (done, no-speech, failed, cancelled)',
      labelNames: ['state'],
      registers,
    });
    this.requests = new Counter({
      name: 'prism_transcription_requests_total',
      help: 'Transcription requests the dictation host sent to the engine, by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.fallbacks = new Counter({ name: 'prism_fallbacks_total', help: 'Moves to the fallback (CPU) engine, automatic or requested', registers });
    const seen = new Map<string, number>();
    new Counter({
      name: 'prism_engine_restarts_total',
      help: 'Engine process restarts (after a crash, a hang or a switch)',
      registers,
      collect() {
        deltaCounter(this, seen, 'restarts', Number(engine.status().restarts ?? 0));
      },
    });
    new Counter({
      name: 'prism_errors_total',
      help: 'Failed transcription requests at the engine, by error code',
      labelNames: ['code'],
      registers,
      collect() {
        const errors = (engine.status().errors ?? {}) as Record<string, number>;
        for (const [code, n] of Object.entries(errors)) deltaCounter(this, seen, `error:${code}`, n, { code });
      },
    });
    new Gauge({
      name: 'prism_queue_depth',
      help: 'Transcription requests running and waiting at the engine',
      labelNames: ['kind'],
      registers,
      collect() {
        this.set({ kind: 'running' }, engine.busy);
        this.set({ kind: 'waiting' }, engine.queued);
      },
    });
    new Gauge({
      name: 'prism_memory_bytes',
      help: 'Resident memory of the daemon and of its engine process',
      labelNames: ['process'],
      registers,
      async collect() {
        this.set({ process: 'daemon' }, process.memoryUsage.rss());
        const pid = engine.status().enginePid;
        const rss = typeof pid === 'number' ? await processMemory(pid) : undefined;
        if (rss === undefined) this.remove({ process: 'engine' });
        else this.set({ process: 'engine' }, rss);
      },
    });
  }

  dictation(e: DictationEvent): void {
    const state = e.record.state;
    this.dictations.inc({ state });
    if (state !== 'done' && state !== 'copied') {
      if (state === 'failed' || state === 'cancelled') this.requests.inc({ outcome: state });
      return;
    }
    if (e.times.transcription !== undefined) this.requests.inc({ outcome: 'done' });
    for (const stage of STAGES) {
      const ms = e.times[stage];
      if (typeof ms === 'number' && Number.isFinite(ms)) this.stageSeconds.observe({ stage }, ms / 1000);
    }
  }

  supervisorEvent(e: EngineEvent): void {
    if (e.event === 'fallback' || (e.event === 'switched' && /fallback/.test(e.detail))) this.fallbacks.inc();
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
