/**
 * Hands the model's inference states out to queued requests: interactive ones (a person waiting on a
 * dictation) first, then batch ones, each first come first served. An interactive request thus waits
 * for at most one running call to end, never behind the batch queue. On the CPU
 * it also shares the cores out: the threads of all running calls never exceed the budget (an
 * oversubscribed ggml thread pool spins and gets several times slower), and a burst of requests is
 * split evenly across the free states. On a GPU a burst shares the host threads the same way, without waiting.
 */
import { AbortError, WhisperError } from './errors.js';

export type Priority = 'interactive' | 'batch';

export interface Lease {
  slot: number;
  threads: number;
  queuedMs: number;
}

interface Waiter {
  enqueued: number;
  priority: Priority;
  resolve: (lease: Lease) => void;
  reject: (e: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: () => void;
}

export class StateScheduler {
  private readonly free: number[];
  private readonly threadsOf = new Map<number, number>();
  private readonly queue: Waiter[] = [];
  private threadsInUse = 0;
  private closed = false;

  constructor(
    readonly states: number,
    readonly threads: number,
    /**
     * false on a GPU, where threads only drive the host side (mel, sampling): a burst still shares
     * them out, but a request never waits for threads, only for a state
     */
    private readonly budgetThreads: boolean,
  ) {
    this.free = Array.from({ length: states }, (_, i) => i);
  }

  get busy(): number {
    return this.states - this.free.length;
  }

  get queued(): number {
    return this.queue.length;
  }

  acquire(signal?: AbortSignal, priority: Priority = 'interactive'): Promise<Lease> {
    if (this.closed) return Promise.reject(new WhisperError('CLOSED', 'the model is closed'));
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        enqueued: performance.now(),
        priority,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(new AbortError(undefined, { cause: signal?.reason }));
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.queue.push(waiter);
      // Dispatch after the current tick, so that a burst of calls is shared out as one.
      this.scheduleDispatch();
    });
  }

  release(slot: number): void {
    this.threadsInUse -= this.threadsOf.get(slot) ?? 0;
    this.threadsOf.delete(slot);
    this.free.push(slot);
    this.free.sort((a, b) => a - b);
    this.dispatch();
    if (this.busy === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private readonly idleWaiters: Array<() => void> = [];
  /** Resolves once every lease handed out has been released. */
  idle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts what can start now, rejects everything still queued; running calls finish on their own. */
  close(): void {
    this.dispatch();
    this.closed = true;
    for (const w of this.queue.splice(0)) {
      w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(new WhisperError('CLOSED', 'the model was closed before this request started'));
    }
  }

  private dispatchQueued = false;
  private scheduleDispatch(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0 && this.free.length > 0) {
      const demand = Math.min(this.states, this.busy + this.queue.length);
      let threads = Math.max(1, Math.floor(this.threads / demand));
      if (this.budgetThreads) {
        const available = this.threads - this.threadsInUse;
        if (available < 1) return;
        threads = Math.min(available, threads);
      }
      // the first interactive waiter, else the first of all (findIndex gives -1 when there is none)
      const interactive = this.queue.findIndex((w) => w.priority === 'interactive');
      const waiter = this.queue.splice(Math.max(interactive, 0), 1)[0] as Waiter;
      const slot = this.free.shift() as number;
      waiter.signal?.removeEventListener('abort', waiter.onAbort);
      this.threadsOf.set(slot, threads);
      this.threadsInUse += threads;
      waiter.resolve({ slot, threads, queuedMs: performance.now() - waiter.enqueued });
    }
  }
}
