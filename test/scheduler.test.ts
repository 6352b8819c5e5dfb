import { describe, expect, it } from 'vitest';
import { AbortError } from '../lib/index.js';
import { StateScheduler } from '../lib/scheduler.js';

describe('StateScheduler', () => {
  it('gives a lone request every thread', async () => {
    const s = new StateScheduler(2, 8, true);
    expect(await s.acquire()).toMatchObject({ slot: 0, threads: 8 });
  });

  it('splits a burst evenly and never exceeds the thread budget', async () => {
    const s = new StateScheduler(2, 8, true);
    const leases = [s.acquire(), s.acquire(), s.acquire(), s.acquire()];
    const [a, b] = await Promise.all(leases.slice(0, 2));
    expect([a?.threads, b?.threads]).toEqual([4, 4]);
    expect(s.busy).toBe(2);
    expect(s.queued).toBe(2);
    s.release(a?.slot as number);
    const c = await leases[2];
    expect(c?.threads).toBe(4);
    expect(c?.queuedMs).toBeGreaterThanOrEqual(0);
  });

  it('makes a newcomer wait for cores rather than oversubscribe them', async () => {
    const s = new StateScheduler(2, 2, true);
    const first = await s.acquire();
    expect(first.threads).toBe(2);
    let started = false;
    const second = s.acquire().then((l) => {
      started = true;
      return l;
    });
    await new Promise((r) => setImmediate(r));
    expect(started).toBe(false);
    s.release(first.slot);
    expect((await second).threads).toBe(2);
  });

  it('on a GPU, shares the host threads of a burst but never makes a request wait for them', async () => {
    const s = new StateScheduler(4, 16, false);
    const alone = await s.acquire();
    expect(alone.threads).toBe(16); // a lone call gets every core for its mel and sampling
    const burst = await Promise.all([s.acquire(), s.acquire(), s.acquire()]);
    expect(burst.map((l) => l.threads)).toEqual([4, 4, 4]); // 16 / (1 running + 3 queued); none waits
  });

  it('close() starts what can start, rejects the rest, and refuses new requests', async () => {
    const s = new StateScheduler(1, 2, true);
    const a = s.acquire();
    const b = s.acquire();
    s.close();
    await expect(a).resolves.toMatchObject({ slot: 0 });
    await expect(b).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(s.acquire()).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('an interactive request takes the next free state ahead of every queued batch request', async () => {
    const s = new StateScheduler(2, 2, false);
    const running = await Promise.all([s.acquire(undefined, 'batch'), s.acquire(undefined, 'batch')]);
    const order: string[] = [];
    const queue = (name: string, priority: 'interactive' | 'batch') =>
      s.acquire(undefined, priority).then((l) => {
        order.push(name);
        return l;
      });
    const waiting = [queue('batch 1', 'batch'), queue('batch 2', 'batch'), queue('batch 3', 'batch'), queue('dictation', 'interactive'), queue('batch 4', 'batch')];
    await new Promise((r) => setImmediate(r));
    expect(s.queued).toBe(5);
    // with every state busy on batch work, the dictation waits for exactly one of them
    s.release((running[0] as { slot: number }).slot);
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['dictation']);
    s.release((running[1] as { slot: number }).slot);
    // then the batch queue in its order: each lease handed back lets the next one start
    for (const w of waiting) s.release((await w).slot);
    expect(order).toEqual(['dictation', 'batch 1', 'batch 2', 'batch 3', 'batch 4']);
  });

  it('an aborted waiter leaves the queue', async () => {
    const s = new StateScheduler(1, 1, true);
    await s.acquire();
    const ac = new AbortController();
    const waiting = s.acquire(ac.signal);
    await new Promise((r) => setImmediate(r));
    expect(s.queued).toBe(1);
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    expect(s.queued).toBe(0);
  });
});

describe('StateScheduler.idle', () => {
  it('resolves once every lease is back', async () => {
    const s = new StateScheduler(2, 2, true);
    await expect(s.idle()).resolves.toBeUndefined();
    const [a, b] = await Promise.all([s.acquire(), s.acquire()]);
    let idle = false;
    const waiting = s.idle().then(() => {
      idle = true;
    });
    s.release(a.slot);
    await new Promise((r) => setImmediate(r));
    expect(idle).toBe(false);
    s.release(b.slot);
    await waiting;
    expect(idle).toBe(true);
  });
});
