/**
 * What the dashboard watches, as narrow interfaces: the dictation host (absent with --no-host) and
 * the supervisor. Tests pass EventEmitter-based fakes; the daemon passes the real ones.
 */
import type { WatchedEngine as Engine, EngineInfo } from '../../engine/contract.js';
import type { DictationEvent, Repasted } from '../../host/dictation.js';

export interface WatchedHost {
  on(event: 'dictation', listener: (e: DictationEvent) => void): unknown;
  on(event: 'state', listener: (state: string) => void): unknown;
  /** a dictation is over: all of it delivered (or dropped) and counted */
  on(event: 'finished', listener: () => void): unknown;
  off(event: 'dictation', listener: (e: DictationEvent) => void): unknown;
  off(event: 'state', listener: (state: string) => void): unknown;
  off(event: 'finished', listener: () => void): unknown;
  readonly state: string;
  status(): Record<string, unknown>;
  /** intoLastWindow: the page is in the browser, so the text goes to the window the dictation went to */
  repaste(o?: { intoLastWindow?: boolean }): Promise<Repasted>;
}

/** the engine: its model file and backend, its load, and its status (state, enginePid, restarts, errors by code, events) */
export type WatchedEngine = Pick<Engine, 'busy' | 'queued' | 'status'> & { readonly info?: EngineInfo };
