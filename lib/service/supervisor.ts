/**
 * Keeps the engine process alive: starts it and waits until the model is loaded and warm, checks
 * its health on a deadline, restarts it with backoff when it crashes or hangs, retries the request
 * in flight once from its saved audio, and falls back to the CPU when the GPU engine keeps failing.
 * Every state change is an event visible in status(). This file is the policy; starting one engine
 * process is engineLaunch.ts, one health check is health.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { type EngineEvent, type EngineInfo, type EngineState, type EngineStatus, LATENCY_STAGES, type WatchedEngine } from '../engine/contract.js';
import { AbortError, WhisperError } from '../errors.js';
import { percentile } from '../metrics/stats.js';
import type { TranscribeOptions, Transcript } from '../model.js';
import { type LaunchedEngine, launchEngine } from './engineLaunch.js';
import type { EngineConfig } from './engineProcess.js';
import { hungReason } from './health.js';

export interface SupervisorOptions {
  model: string;
  gpu?: 'auto' | 'cuda' | 'cpu';
  states?: number;
  threads?: number;
  /** the engines' private socket (each engine appends its generation: engine-1.sock, engine-2.sock …) */
  socketPath: string;
  /** model to use after falling back to the CPU (default: the same) */
  fallbackModel?: string;
  /** health checks while a request is in flight (default 500 ms) … */
  healthIntervalMs?: number;
  /** … and while idle (default 5 s: an idle daemon should not wake its engine every second) */
  idleHealthIntervalMs?: number;
  /**
   * a health answer later than this (default 500 ms) kills the engine if it used no CPU meanwhile
   * (stopped, or stuck); a busy one gets up to 10× as long (off Linux, where CPU time is not read: 1×)
   */
  healthTimeoutMs?: number;
  loadTimeoutMs?: number;
  /** GPU engine failures (start or crash) before switching to the CPU */
  fallbackAfter?: number;
  /** switch to the fallback engine after `slowCount` requests in a row slower than `slowMs` (off by default) */
  slowMs?: number;
  slowCount?: number;
  /**
   * after an automatic fallback, start the primary engine again this long later and move back to it
   * once it is loaded and warm (doubling, up to an hour, each time it fails or falls back again);
   * 0: never (default 5 minutes). A switch on request is never undone.
   */
  probePrimaryMs?: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** every event as it happens (the daemon tells the user about crashes and fallbacks) */
  onEvent?: (e: EngineEvent) => void;
}

/** p50/p95 per stage over the recent requests. */
function latencySummary(recent: Transcript['timings'][]): EngineStatus['latency'] {
  const out: EngineStatus['latency'] = {};
  for (const stage of LATENCY_STAGES) {
    const sorted = recent.map((t) => t[stage]).sort((a, b) => a - b);
    if (sorted.length) out[stage] = { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
  }
  return out;
}

type Engine = LaunchedEngine;

/** Errors after which a GPU engine's CUDA context cannot be trusted: restart it, as after a crash. */
export function isGpuFault(e: unknown): boolean {
  return /CUDA error|cudaError|CUBLAS_STATUS|illegal memory access|device-side assert|unspecified launch failure|GGML_ASSERT.*cuda/i.test((e as Error)?.message ?? '');
}

export class Supervisor implements WatchedEngine {
  private engine: Engine | undefined;
  private starting: Promise<Engine> | undefined;
  private state: EngineState = 'stopped';
  private gpu: 'auto' | 'cuda' | 'cpu';
  private model: string;
  private active: 'primary' | 'fallback' = 'primary';
  private slowStreak = 0;
  private generation = 0;
  private failures = 0;
  private restarts = 0;
  private inFlight = 0;
  private lastReadyMs = 0;
  private readonly events: EngineEvent[] = [];
  /** the last requests' stage timings, and failures by code, for status() */
  private readonly recent: Transcript['timings'][] = [];
  private readonly errors: Record<string, number> = {};
  private readonly startedAt = Date.now();
  private healthTimer: NodeJS.Timeout | undefined;
  private nextHealthAt = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private probeDelayMs: number;
  private stopping = false;

  constructor(private readonly o: SupervisorOptions) {
    this.gpu = o.gpu ?? 'auto';
    this.model = o.model;
    this.probeDelayMs = o.probePrimaryMs ?? 300_000;
  }

  get info(): EngineInfo {
    const r = this.engine?.ready;
    return { backend: r?.backend ?? 'none', path: r?.path ?? this.model, states: r?.states ?? this.o.states ?? 1 };
  }

  get busy(): number {
    return Math.min(this.inFlight, this.info.states);
  }

  get queued(): number {
    return Math.max(0, this.inFlight - this.info.states);
  }

  status(): EngineStatus {
    return {
      state: this.state,
      enginePid: this.engine?.child.pid ?? null,
      backend: this.info.backend,
      gpu: this.gpu,
      engine: this.active,
      restarts: this.restarts,
      readyMs: this.lastReadyMs,
      supervisorUptimeMs: Date.now() - this.startedAt,
      latency: latencySummary(this.recent),
      errors: { ...this.errors },
      events: this.events.slice(-50),
    };
  }

  /** Starts the engine; resolves once the model is loaded and warm. */
  async start(): Promise<void> {
    this.stopping = false;
    await this.ensure();
    this.scheduleHealth();
  }

  /** The next health check: soon while requests are in flight, rarely while idle. */
  private scheduleHealth(delayMs = this.inFlight > 0 ? (this.o.healthIntervalMs ?? 500) : (this.o.idleHealthIntervalMs ?? 5000)): void {
    clearTimeout(this.healthTimer);
    if (this.stopping) return;
    this.nextHealthAt = performance.now() + delayMs;
    this.healthTimer = setTimeout(() => void this.checkHealth().finally(() => this.scheduleHealth()), delayMs);
    this.healthTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.healthTimer);
    clearTimeout(this.probeTimer);
    // An engine being started now is stopped too, once it is there.
    if (this.starting) await this.starting.catch(() => undefined);
    const e = this.engine;
    this.engine = undefined;
    if (e) {
      e.client.close();
      const exited = new Promise((r) => e.child.once('exit', r));
      e.child.kill('SIGTERM');
      const timer = setTimeout(() => e.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    this.state = 'stopped';
    // after a start that failed there was nothing to stop: its failure was the last word
    if (e) this.note('stopped', 'on request');
  }

  async transcribe(pcm: Float32Array, options: TranscribeOptions = {}): Promise<Transcript> {
    this.inFlight++;
    // A request that hangs the engine is found within the busy interval, not the idle one.
    const busyMs = this.o.healthIntervalMs ?? 500;
    if (this.healthTimer && this.nextHealthAt - performance.now() > busyMs) this.scheduleHealth(busyMs);
    try {
      for (let attempt = 1; ; attempt++) {
        const engine = await this.ensure();
        try {
          const result = await engine.client.transcribe(pcm, options);
          if (!result.skipped) {
            this.recent.push(result.timings);
            if (this.recent.length > 200) this.recent.shift();
            this.watchLatency(result.timings.totalMs);
          }
          return result;
        } catch (e) {
          // The engine died under this request, or reported a GPU fault after which its CUDA context cannot
          // be trusted: it is restarted, and the request is retried once from the audio kept here.
          const gpuFault = !this.stopping && isGpuFault(e);
          const died = (WhisperError.is(e, 'SERVICE_UNAVAILABLE') && !this.stopping) || gpuFault;
          if (gpuFault) this.lost(engine.child, `reported a GPU error: ${(e as Error).message}`);
          else if (died) this.lost(engine.child, `connection lost (${(e as Error).message})`);
          if (!died || attempt >= 2) {
            const err = died ? new WhisperError('TRANSCRIBE_FAILED', `the engine failed twice on this utterance: ${(e as Error).message}`, { cause: e }) : (e as Error);
            const code = (err as { code?: string }).code ?? 'UNKNOWN';
            this.errors[code] = (this.errors[code] ?? 0) + 1;
            throw err;
          }
          if (options.signal?.aborted) throw new AbortError();
          this.o.log?.(`retrying a request after the engine died (${(e as Error).message})`);
        }
      }
    } finally {
      this.inFlight--;
    }
  }

  /**
   * CONTROL requests: { action: 'switch', to: 'primary' | 'fallback' } swaps the engine (the new one
   * is started before the old one goes; requests on the old one are retried on the new).
   */
  async control(request: unknown): Promise<EngineStatus> {
    const r = request as { action?: string; to?: string };
    if (r?.action !== 'switch' || (r.to !== 'primary' && r.to !== 'fallback'))
      throw new WhisperError('BAD_ARGUMENT', "control takes { action: 'switch', to: 'primary' | 'fallback' }");
    clearTimeout(this.probeTimer);
    this.probeDelayMs = this.o.probePrimaryMs ?? 300_000;
    await this.switchTo(r.to, 'on request');
    return this.status();
  }

  private useFallback(): void {
    this.active = 'fallback';
    this.gpu = 'cpu';
    this.model = this.o.fallbackModel ?? this.o.model;
    this.failures = 0;
  }

  private async switchTo(target: 'primary' | 'fallback', why: string): Promise<void> {
    if (target === this.active) return;
    const old = this.engine;
    if (target === 'fallback') this.useFallback();
    else {
      this.active = 'primary';
      this.gpu = this.o.gpu ?? 'auto';
      this.model = this.o.model;
    }
    this.slowStreak = 0;
    this.engine = undefined;
    await this.ensure();
    this.note('switched', `to the ${target} engine (${this.gpu}, ${this.model}) ${why}`);
    if (old) old.child.kill('SIGTERM');
  }

  /** After an automatic fallback: try the primary engine again later (see probePrimaryMs). */
  private scheduleProbe(): void {
    clearTimeout(this.probeTimer);
    if (!this.probeDelayMs || this.stopping) return;
    const delay = this.probeDelayMs;
    this.probeDelayMs = Math.min(3_600_000, delay * 2); // a probe that fails, or a primary that fails again, waits longer
    this.probeTimer = setTimeout(() => void this.probe(), delay);
    this.probeTimer.unref();
  }

  /**
   * Starts the primary engine next to the fallback one, which keeps serving; once the primary is loaded
   * and warm it takes over (requests on the old engine are retried on it). If it cannot start, the
   * fallback stays and the next probe waits twice as long.
   */
  private async probe(): Promise<void> {
    if (this.active !== 'fallback' || this.stopping) return;
    const gpu = this.o.gpu ?? 'auto';
    this.note('probe', `starting the primary engine (${gpu}, ${this.o.model}) to see whether it works again`);
    let fresh: Engine;
    try {
      fresh = await this.launch(this.o.model, gpu);
    } catch (e) {
      this.note('probe', `the primary engine still fails: ${(e as Error).message}; staying on the fallback`);
      this.scheduleProbe();
      return;
    }
    if (this.active !== 'fallback' || this.stopping) {
      fresh.client.close();
      fresh.child.kill('SIGTERM');
      return;
    }
    const old = this.engine;
    this.active = 'primary';
    this.gpu = gpu;
    this.model = this.o.model;
    this.failures = 0;
    this.slowStreak = 0;
    this.engine = fresh;
    this.note('switched', `back to the primary engine (${fresh.ready.backend}, ${this.model}) after a healthy probe`);
    if (old) old.child.kill('SIGTERM');
  }

  /** The origin roadmap's auto-switch: a run of slow requests moves work to the fallback engine. */
  private watchLatency(totalMs: number): void {
    const { slowMs, slowCount = 3 } = this.o;
    if (slowMs === undefined || this.active === 'fallback') return;
    this.slowStreak = totalMs > slowMs ? this.slowStreak + 1 : 0;
    if (this.slowStreak >= slowCount)
      void this.switchTo('fallback', `after ${slowCount} requests in a row slower than ${slowMs} ms`).then(
        () => this.scheduleProbe(),
        (e: Error) => this.note('failed', e.message),
      );
  }

  private note(event: EngineEvent['event'], detail: string): void {
    const e: EngineEvent = { at: new Date().toISOString(), event, detail };
    this.events.push(e);
    this.o.log?.(`${event}: ${detail}`);
    this.o.onEvent?.(e);
  }

  private ensure(): Promise<Engine> {
    if (this.engine) return Promise.resolve(this.engine);
    if (this.stopping) return Promise.reject(new WhisperError('SERVICE_UNAVAILABLE', 'the service is stopping'));
    this.starting ??= this.launchWithRetries().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async launchWithRetries(): Promise<Engine> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** (attempt - 1))));
      this.state = this.restarts > 0 || attempt > 0 ? 'restarting' : 'starting';
      try {
        const engine = await this.launch();
        this.engine = engine;
        this.state = 'ready';
        return engine;
      } catch (e) {
        const err = e as WhisperError;
        if (this.stopping) throw err;
        this.failures++;
        const gpuTrouble = this.gpu !== 'cpu' && (err.code === 'GPU_UNAVAILABLE' || this.failures >= (this.o.fallbackAfter ?? 3));
        if (gpuTrouble) {
          this.note('fallback', `${this.gpu} → cpu after: ${err.message}`);
          this.useFallback();
          this.scheduleProbe();
          continue;
        }
        // A model that cannot load will not load next time either: say so instead of looping.
        if (['MODEL_NOT_FOUND', 'MODEL_INVALID', 'BAD_ARGUMENT'].includes(err.code) || attempt >= 5) {
          this.state = 'failed';
          this.note('failed', err.message);
          throw err;
        }
      }
    }
  }

  private async launch(model = this.model, gpu = this.gpu): Promise<Engine> {
    const started = performance.now();
    const socketPath = process.platform === 'win32' ? `${this.o.socketPath}-${++this.generation}` : `${this.o.socketPath.replace(/\.sock$/, '')}-${++this.generation}.sock`;
    const config: EngineConfig = { model, gpu, states: this.o.states ?? 1, threads: this.o.threads, socketPath };
    const engine = await launchEngine(config, { timeoutMs: this.o.loadTimeoutMs ?? 120_000, env: this.o.env, stopping: () => this.stopping });
    this.lastReadyMs = performance.now() - started;
    const { child, ready } = engine;
    child.once('exit', (code, signal) => {
      // A killed engine cannot remove its own socket.
      if (process.platform !== 'win32') void rm(socketPath, { force: true });
      this.lost(child, `exited (${signal ?? `code ${code}`})`);
    });
    const what = `${ready.backend}, pid ${ready.pid}, ready in ${this.lastReadyMs.toFixed(0)} ms`;
    if (this.restarts > 0 || this.events.length > 0) this.note('restarted', what);
    else this.note('started', what);
    return engine;
  }

  /**
   * The engine died, was killed, or its connection broke (whichever is noticed first): forget it,
   * make sure it is gone, and start another. Requests that were on it fail with SERVICE_UNAVAILABLE
   * and retry on the new one.
   */
  private lost(child: ChildProcess, why: string): void {
    if (this.engine?.child !== child) return;
    this.engine = undefined;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (this.stopping) return;
    this.restarts++;
    this.failures++;
    this.note('crashed', why);
    void this.ensure().catch(() => undefined);
  }

  /** One health check (health.ts); a hung engine is killed, and lost() replaces it. */
  private async checkHealth(): Promise<void> {
    const e = this.engine;
    const pid = e?.child.pid;
    if (!e || pid === undefined || this.stopping) return;
    const why = await hungReason(e.client, pid, this.o.healthTimeoutMs ?? 500, () => this.engine === e);
    if (why === undefined || this.engine !== e) return;
    this.note('hung', `${why}; killing pid ${pid}`);
    e.child.kill('SIGKILL');
  }
}
