/**
 * CPU and memory of the daemon and of its engine process. The daemon measures itself
 * (process.cpuUsage); the engine is read from /proc on Linux and from `ps` elsewhere. Only called
 * while someone watches the page, or when /metrics is scraped.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** USER_HZ: the unit of /proc/<pid>/stat's CPU times, 100 on every Linux Node supports */
const TICKS_PER_SECOND = 100;

export interface ProcessSample {
  /** percent of one core since the previous sample (undefined on the first) */
  cpu: number | undefined;
  rssBytes: number;
}

/** Resident memory of a process in bytes, or undefined when it cannot be read (gone, other OS, no ps). */
export async function processMemory(pid: number): Promise<number | undefined> {
  return (await readProcess(pid))?.rssBytes;
}

/** CPU seconds used so far and resident memory of a process. */
async function readProcess(pid: number): Promise<{ cpuSeconds: number; rssBytes: number } | undefined> {
  try {
    if (process.platform === 'linux') {
      const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
      // the command name can hold spaces and parentheses: fields are counted after its closing ')'
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      return { cpuSeconds: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND, rssBytes: rssKiB * 1024 };
    }
    const { stdout } = await run('ps', ['-o', 'time=,rss=', '-p', String(pid)], { timeout: 1500 });
    const [time, rss] = stdout.trim().split(/\s+/);
    if (!time || !rss) return undefined;
    const parts = time.split(/[-:]/).map(Number).reverse(); // [ss.cc, mm, hh, dd]
    const cpuSeconds = (parts[0] ?? 0) + (parts[1] ?? 0) * 60 + (parts[2] ?? 0) * 3600 + (parts[3] ?? 0) * 86400;
    return { cpuSeconds, rssBytes: Number(rss) * 1024 };
  } catch {
    return undefined;
  }
}

/** The daemon's own CPU (percent of one core since the previous call) and memory. */
export function selfMeter(): () => ProcessSample {
  let last: { usage: NodeJS.CpuUsage; at: number } | undefined;
  return () => {
    const usage = process.cpuUsage();
    const at = performance.now();
    const cpu = last ? ((usage.user - last.usage.user + usage.system - last.usage.system) / 1000 / (at - last.at)) * 100 : undefined;
    last = { usage, at };
    return { cpu, rssBytes: process.memoryUsage.rss() };
  };
}

/** Another process's CPU (percent of one core since the previous call) and memory. */
export function pidMeter(): (pid: number) => Promise<ProcessSample | undefined> {
  let last: { cpuSeconds: number; at: number; pid: number } | undefined;
  return async (pid) => {
    const now = await readProcess(pid);
    if (!now) return undefined;
    const at = performance.now();
    // a restarted engine has a new pid: its first reading has nothing to compare with
    const prev = last?.pid === pid ? last : undefined;
    last = { cpuSeconds: now.cpuSeconds, at, pid };
    return { cpu: prev ? ((now.cpuSeconds - prev.cpuSeconds) / ((at - prev.at) / 1000)) * 100 : undefined, rssBytes: now.rssBytes };
  };
}
