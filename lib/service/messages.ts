/** The JSON parts of the service's frames. */
import type { Transcript } from '../model.js';
import type { Priority } from '../scheduler.js';

export interface Welcome {
  protocol: number;
  pid: number;
  backend: string;
  model: string;
  states: number;
}

/** TRANSCRIBE options: what TranscribeOptions allows over the wire (no callbacks, no signals). */
export interface WireTranscribeOptions {
  language?: string;
  prompt?: string;
  greedy?: boolean;
  beamSize?: number;
  audioCtx?: 'auto' | number;
  noTimestamps?: boolean;
  translate?: boolean;
  /** 'batch' queues behind every interactive request (serve, file batches); default 'interactive' */
  priority?: Priority;
  /** send SEGMENT frames as segments are decoded */
  stream?: boolean;
}

export interface Health {
  ok: true;
  pid: number;
  uptimeMs: number;
  backend: string;
  busy: number;
  queued: number;
}

export interface WireError {
  code: string;
  message: string;
}

export type WireResult = Transcript;

const OPTION_KEYS = new Set(['language', 'prompt', 'greedy', 'beamSize', 'audioCtx', 'noTimestamps', 'translate', 'priority', 'stream']);

/** Keeps only known options; the model validates their values. */
export function wireOptions(json: unknown): WireTranscribeOptions {
  const out: Record<string, unknown> = {};
  if (json && typeof json === 'object') for (const [k, v] of Object.entries(json)) if (OPTION_KEYS.has(k)) out[k] = v;
  return out as WireTranscribeOptions;
}
