/**
 * The one contract of a transcription engine, and the status an engine reports. Everything that
 * transcribes — the model in this process, the supervised engine process, the running service over
 * its socket, a remote server over HTTP, the fallback between two of them — is an `Engine`; the
 * dictation host, the HTTP API and `transcribe` take any of them. What a socket serves is a
 * `ServedEngine`: it also says what it runs on and how busy it is (a loaded `WhisperModel` is one:
 * the engine process serves it). What the daemon serves and the dashboard watches is a
 * `WatchedEngine`: it also reports how it has been doing (the supervisor, or the remote server when
 * no model runs here).
 */
import type { TranscribeOptions, Transcript } from '../model.js';

export interface Engine {
  transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<Transcript>;
  /** frees what the engine holds (a model, a connection); engines that hold nothing have none */
  close?(): Promise<void> | void;
}

/** What a served engine runs: the backend (cpu, cuda, remote URL), the model file or URL, how many calls at once. */
export interface EngineInfo {
  backend: string;
  path: string;
  states: number;
}

export type EngineState = 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped';

/** A change of the engine's life, kept in its status and shown by `status` and the dashboard. */
export interface EngineEvent {
  /** ISO time */
  at: string;
  event: 'started' | 'crashed' | 'hung' | 'restarted' | 'fallback' | 'switched' | 'probe' | 'failed' | 'stopped';
  detail: string;
}

export const LATENCY_STAGES = ['queueMs', 'melMs', 'encodeMs', 'decodeMs', 'totalMs'] as const;
export type LatencyStage = (typeof LATENCY_STAGES)[number];

export interface EngineStatus {
  state: EngineState;
  backend: string;
  /** which engine serves: the supervisor's primary or fallback, or a remote server */
  engine: 'primary' | 'fallback' | 'remote';
  /** the engine process, when it runs in one */
  enginePid: number | null;
  /** the GPU mode asked for (auto, cuda, cpu); absent for a remote engine */
  gpu?: string;
  restarts: number;
  /** how long the engine took to become ready, last time */
  readyMs: number;
  supervisorUptimeMs: number;
  /** p50/p95 over the recent requests, per stage (stages the engine does not report are absent) */
  latency: Partial<Record<LatencyStage, { p50: number; p95: number }>>;
  /** failed requests by error code */
  errors: Record<string, number>;
  events: EngineEvent[];
}

export interface ServedEngine extends Engine {
  readonly info: EngineInfo;
  /** calls running now, and calls waiting for a state */
  readonly busy: number;
  readonly queued: number;
  /** the fields a STATUS reply adds, when the engine keeps them */
  status?(): EngineStatus;
  /** CONTROL requests (the supervisor's engine switch); resolves with the new status */
  control?(request: unknown): Promise<EngineStatus>;
}

export interface WatchedEngine extends ServedEngine {
  status(): EngineStatus;
}
