/**
 * Where code reads the time and sets its timers, so that tests drive time instead of sleeping
 * through it (test/helpers.ts has a manual clock). Milliseconds, monotonic.
 */
export interface Clock {
  now(): number;
  /** a timer that does not keep the process alive */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
