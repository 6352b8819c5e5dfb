/**
 * An engine process outliving its supervisor. Nothing can take its answers any more, and it holds a
 * model (hundreds of MiB, a GPU context), so it ends at once: running calls die with it, queued ones
 * never start. Two paths notice the loss: the IPC channel's 'disconnect' on the main thread, and a
 * watch thread that polls the parent pid — the main thread can be blocked for seconds (a synchronous
 * check of several long clips, a hung call), and a blocked thread hears no 'disconnect'.
 */
import { appendFileSync, unlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

export interface OrphanOptions {
  /** the engine's socket, removed on the way out (nobody else will) */
  socketPath: string;
  /** how often the watch thread looks at the parent pid (default 200 ms) */
  pollMs?: number;
  /** test hook: a file that gets one line saying how the engine went */
  logFile?: string;
}

/**
 * Removes the socket, writes the log line, and ends the process with SIGKILL: not process.exit(),
 * which runs exit handlers and joins libuv's threadpool, so it waits for whatever a native call is
 * doing (a model still loading, the mel of an hour of audio) before the process ends.
 */
export function endOrphan(o: OrphanOptions, why: string): never {
  if (o.logFile) appendFileSync(o.logFile, `orphaned: ${why}\n`);
  try {
    unlinkSync(o.socketPath);
  } catch {
    // not listening yet, or gone already
  }
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL sent to this process');
}

// The watch thread: CommonJS, evaluated; sleeps on a futex between looks (no event loop, no timers).
const WATCH = `
const { workerData: o } = require('node:worker_threads');
const { appendFileSync, unlinkSync } = require('node:fs');
const nap = new Int32Array(new SharedArrayBuffer(4));
while (process.ppid === o.ppid) Atomics.wait(nap, 0, 0, o.pollMs);
try {
  if (o.logFile) appendFileSync(o.logFile, 'orphaned: the parent pid changed (seen by the watch thread)\\n');
} catch {}
try {
  unlinkSync(o.socketPath);
} catch {}
process.kill(process.pid, 'SIGKILL');
`;

/**
 * Ends this process as soon as its parent is gone, whatever its main thread is doing. Call it first
 * thing in a child process that must not outlive its parent; the thread does not keep the process up.
 */
export function watchParent(o: OrphanOptions): Worker {
  const worker = new Worker(WATCH, { eval: true, workerData: { ppid: process.ppid, pollMs: o.pollMs ?? 200, socketPath: o.socketPath, logFile: o.logFile } });
  worker.on('error', () => undefined); // a watch that failed leaves the 'disconnect' path; it never takes the engine down
  worker.unref();
  return worker;
}
