/** `prism-dictate system`: what this build of the addon can use (CPU features, GPUs, whisper.cpp version). */
import type { Command } from 'commander';
import { type NativeOrigin, nativeAddon, nativeOrigin } from '../native.js';
import { report } from './exit.js';

export function systemCommand(program: Command): void {
  program
    .command('system')
    .description('show the native backend: whisper.cpp version, CPU features, GPUs')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      try {
        const addon = nativeAddon();
        const binary = nativeOrigin();
        const info = { whisperVersion: addon.whisperVersion, cudaBuild: addon.cuda, binary, systemInfo: addon.systemInfo().trim(), devices: addon.devices() };
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
          return;
        }
        process.stdout.write(`whisper.cpp ${info.whisperVersion}, ${info.cudaBuild ? 'CUDA build' : 'CPU build'}\n${describeBinary(binary)}\n${info.systemInfo}\n`);
        for (const d of info.devices)
          process.stdout.write(`device ${d.name}: ${d.description} (${d.type}${d.memoryTotal ? `, ${(d.memoryTotal / 2 ** 30).toFixed(1)} GiB` : ''})\n`);
      } catch (e) {
        report(e);
      }
    });
}

/** "binary: prebuilt (…), CPU variant haswell" */
export function describeBinary(b: NativeOrigin): string {
  return `binary: ${b.kind} (${b.file})${b.cpuVariant ? `, CPU variant ${b.cpuVariant}` : b.kind === 'built here' ? ", for this machine's CPU" : ''}`;
}
