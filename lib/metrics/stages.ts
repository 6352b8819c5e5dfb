/**
 * Per-stage latency: the stages of one dictation as a record, and a window of recent records
 * summarised as p50/p95 per stage (for status, the dashboard and the benchmark).
 */
import { percentile } from './stats.js';

export const STAGES = ['trigger', 'capture', 'endOfSpeech', 'transcription', 'paste', 'total'] as const;
export type Stage = (typeof STAGES)[number];
export type StageTimes = Partial<Record<Stage, number>>;

export interface Percentiles {
  p50: number;
  p95: number;
  n: number;
}

export class StageWindow {
  private readonly records: StageTimes[] = [];

  constructor(private readonly size = 200) {}

  add(t: StageTimes): void {
    this.records.push(t);
    if (this.records.length > this.size) this.records.shift();
  }

  get count(): number {
    return this.records.length;
  }

  summary(): Partial<Record<Stage, Percentiles>> {
    const out: Partial<Record<Stage, Percentiles>> = {};
    for (const s of STAGES) {
      const xs = this.records.map((r) => r[s]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (xs.length === 0) continue;
      xs.sort((a, b) => a - b);
      out[s] = { p50: percentile(xs, 50), p95: percentile(xs, 95), n: xs.length };
    }
    return out;
  }
}
