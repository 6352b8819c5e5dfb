/**
 * Where code reads the time and sets its timers, so that tests drive time instead of sleeping
 * through it (test/helpers.ts has a manual clock). Milliseconds, monotonic.
 */
export interface Clock {
  now(): number;
  /** a timer; it keeps the process alive (Node's), unless `unref` is asked for */
  setTimeout(fn: () => void, ms: number, o?: { unref?: boolean }): unknown;
  clearTimeout(timer: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms, o) => {
    const timer = setTimeout(fn, ms);
    if (o?.unref) timer.unref();
    return timer;
  },
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
