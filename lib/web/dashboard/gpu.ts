/**
 * GPU utilisation and memory from nvidia-smi, when the machine has one. A missing nvidia-smi is
 * remembered, so that a machine without an NVIDIA GPU does not spawn a failing process every 2 s.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GpuSample {
  index: number;
  utilization: number;
  memoryUsedMiB: number;
  memoryTotalMiB: number;
}

/** `nvidia-smi --format=csv,noheader,nounits` lines: "37, 1024, 81559" per GPU. */
export function parseNvidiaSmi(csv: string): GpuSample[] {
  return csv
    .split('\n')
    .map((line) => line.split(',').map((x) => Number(x.trim())))
    .filter((f) => f.length === 3 && f.every(Number.isFinite))
    .map(([utilization, used, total], index) => ({ index, utilization: utilization as number, memoryUsedMiB: used as number, memoryTotalMiB: total as number }));
}

export class GpuProbe {
  private absent: string | undefined;

  constructor(private readonly command = 'nvidia-smi') {}

  /** The GPUs now, or why there are none to show ("no GPU"). */
  async sample(): Promise<{ gpus: GpuSample[] } | { none: string }> {
    if (this.absent) return { none: this.absent };
    try {
      const { stdout } = await run(this.command, ['--query-gpu=utilization.gpu,memory.used,memory.total', '--format=csv,noheader,nounits'], { timeout: 1500 });
      const gpus = parseNvidiaSmi(stdout);
      return gpus.length ? { gpus } : { none: 'no GPU' };
    } catch (e) {
      // not installed: remember; any other failure (a busy driver, a timeout) may pass
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') this.absent = 'no GPU';
      return { none: 'no GPU' };
    }
  }
}
