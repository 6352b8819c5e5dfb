/**
 * The daemon's service without a model of its own: with `start --engine URL` and
 * `remote.fallback: false` nothing is loaded here — the socket (toggle, status, transcribe …) stays
 * and every transcription goes to the remote server. It stands where the supervisor stands: it is
 * what the socket server serves and what the dashboard watches.
 */
import { percentile } from '../metrics/stats.js';
import type { TranscribeOptions, Transcript } from '../model.js';
import type { Engine, EngineInfo, EngineStatus, WatchedEngine } from './contract.js';

const RECENT = 100;

export class RemoteOnlyEngine implements WatchedEngine {
  busy = 0;
  readonly queued = 0;
  readonly info: EngineInfo;
  private readonly started = performance.now();
  private readonly recent: number[] = [];
  private readonly errors: Record<string, number> = {};

  constructor(
    private readonly remote: Engine,
    url: string,
  ) {
    this.info = { backend: `remote ${url}`, path: url, states: 1 };
  }

  async transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<Transcript> {
    this.busy++;
    try {
      const t = await this.remote.transcribe(pcm, options);
      this.recent.push(t.timings.totalMs);
      if (this.recent.length > RECENT) this.recent.shift();
      return t;
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'TRANSCRIBE_FAILED';
      this.errors[code] = (this.errors[code] ?? 0) + 1;
      throw e;
    } finally {
      this.busy--;
    }
  }

  /** The supervisor's status fields that apply: one "engine", the remote server, always ready (a failure is per request). */
  status(): EngineStatus {
    const sorted = [...this.recent].sort((a, b) => a - b);
    return {
      state: 'ready',
      backend: this.info.backend,
      engine: 'remote',
      enginePid: null,
      readyMs: 0,
      supervisorUptimeMs: performance.now() - this.started,
      restarts: 0,
      latency: sorted.length ? { totalMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95) } } : {},
      errors: { ...this.errors },
      events: [],
    };
  }
}
