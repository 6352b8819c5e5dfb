/**
 * One health check of an engine process. A late answer is waited for while the engine keeps using CPU
 * (a loaded 2-core machine can delay a busy engine's answer past the deadline); an engine that used
 * none during a whole deadline is stopped or stuck, and one that answers nothing within 10 deadlines
 * is hung anyway.
 */
import type { ServiceClient } from './client.js';
import { cpuTimeMs } from './cpuTime.js';

/**
 * Resolves with why the engine counts as hung, or undefined when it answered (or when `current()`
 * turns false meanwhile: it was replaced, and its fate is no longer this check's business).
 */
export async function hungReason(client: ServiceClient, pid: number, deadlineMs: number, current: () => boolean): Promise<string | undefined> {
  // true when it answers; the error when it fails or gives up after 10 deadlines (the loop's end)
  const outcome = client.health(deadlineMs * 10).then(
    () => true as const,
    (err: Error) => err,
  );
  let cpu = await cpuTimeMs(pid);
  for (let waited = deadlineMs; ; waited += deadlineMs) {
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([outcome, new Promise<false>((r) => (timer = setTimeout(() => r(false), deadlineMs)))]);
    clearTimeout(timer);
    if (settled === true || !current()) return undefined;
    if (settled instanceof Error) return settled.message;
    const now = await cpuTimeMs(pid);
    if (now === undefined || cpu === undefined) return `no health answer within ${deadlineMs} ms`;
    if (now - cpu < 20) return `no health answer within ${waited} ms and no CPU used meanwhile (stopped or stuck)`;
    cpu = now;
  }
}
