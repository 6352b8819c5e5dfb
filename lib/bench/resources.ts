/** Peak RSS, model and state memory, GPU memory per state, and the CPU an idle loaded model uses. */
import { loadModel } from '../model.js';
import { nativeAddon } from '../native.js';
import type { BenchContext } from './context.js';

export interface Resources {
  peakRssMiB: number;
  modelMiB: number;
  stateMiB: number;
  gpuMiBPerState: number | undefined;
  idleCpuPercent: number;
  idleSeconds: number;
}

function gpuFreeBytes(): number | undefined {
  const gpu = nativeAddon()
    .devices()
    .find((d) => d.type === 'gpu');
  return gpu?.memoryFree;
}

export async function resources(ctx: BenchContext): Promise<Resources> {
  const mib = (b: number): number => b / 2 ** 20;
  let gpuMiBPerState: number | undefined;
  if (ctx.model.info.backend !== 'cpu') {
    // Free GPU memory with one state, then with three: the difference over two is one state.
    const one = await loadModel(ctx.modelPath, { gpu: ctx.gpu, states: 1, warmup: false });
    const freeOne = gpuFreeBytes();
    await one.close();
    const three = await loadModel(ctx.modelPath, { gpu: ctx.gpu, states: 3, warmup: false });
    const freeThree = gpuFreeBytes();
    await three.close();
    if (freeOne !== undefined && freeThree !== undefined) gpuMiBPerState = mib(freeOne - freeThree) / 2;
  }
  const idleSeconds = ctx.quick ? 1 : 5;
  const before = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const used = process.cpuUsage(before);
  const wall = (performance.now() - t0) * 1000;
  return {
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    modelMiB: mib(ctx.model.info.memory.modelBytes),
    stateMiB: mib(ctx.model.info.memory.stateBytes / ctx.model.info.states),
    gpuMiBPerState,
    idleCpuPercent: ((used.user + used.system) / wall) * 100,
    idleSeconds,
  };
}
