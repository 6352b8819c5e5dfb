/**
 * What the dashboard watches, as narrow interfaces: the dictation host (absent with --no-host) and
 * the supervisor. Tests pass EventEmitter-based fakes; the daemon passes the real ones.
 */
import type { WatchedEngine as Engine, EngineInfo } from '../../engine/contract.js';
import type { DictationEvent, Repasted, Retried } from '../../host/dictation.js';
import type { DictationRecord } from '../../host/history.js';

export interface WatchedHost {
  on(event: 'dictation', listener: (e: DictationEvent) => void): unknown;
  on(event: 'state', listener: (state: string) => void): unknown;
  /** a dictation is over: all of it delivered (or dropped) and counted */
  on(event: 'finished', listener: () => void): unknown;
  /** the microphone's input level (RMS of each block, 0–1), listened to only while a page is open */
  on(event: 'meter', listener: (rms: number) => void): unknown;
  /** a kept phrase was transcribed again: its record as it is now */
  on(event: 'retried', listener: (record: DictationRecord) => void): unknown;
  off(event: 'dictation', listener: (e: DictationEvent) => void): unknown;
  off(event: 'state', listener: (state: string) => void): unknown;
  off(event: 'finished', listener: () => void): unknown;
  off(event: 'meter', listener: (rms: number) => void): unknown;
  off(event: 'retried', listener: (record: DictationRecord) => void): unknown;
  readonly state: string;
  status(): Record<string, unknown>;
  /** intoLastWindow: the page is in the browser, so the text goes to the window the dictation went to */
  repaste(o?: { intoLastWindow?: boolean }): Promise<Repasted>;
  /** transcribes history entry `id` again and delivers the text (intoLastWindow: as repaste) */
  retry(o: { id?: string; intoLastWindow?: boolean }): Promise<Retried>;
  /** the kept WAV of history entry `id` (HISTORY_FAILED when there is none) */
  keptAudio(id: string): Promise<Buffer>;
}

/** the engine: its model file and backend, its load, and its status (state, enginePid, restarts, errors by code, events) */
export type WatchedEngine = Pick<Engine, 'busy' | 'queued' | 'status'> & { readonly info?: EngineInfo };
