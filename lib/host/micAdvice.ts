/**
 * What to tell a person whose install has no way to record: the command that helps for how this
 * package was installed. A global install (`npm install -g`) never looks at a `node_modules` in the
 * current folder, so "npm install naudiodon2" there does nothing for it; the sound server's client
 * (parec) needs no compiler at all, and naudiodon2 is built again by reinstalling the package.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { packageRoot } from '../native.js';
import { onPath } from './recorders.js';

/** global: npm install -g; local: a project's node_modules; checkout: this repository (or a copy). */
export type InstallKind = 'global' | 'local' | 'checkout';

export type PackageManager = 'apt' | 'dnf' | 'pacman' | 'zypper';

export interface AdviceContext {
  platform: NodeJS.Platform;
  install: InstallKind;
  /** the package's folder */
  root: string;
  packageManager?: PackageManager;
}

/**
 * By the package's path: in a project's node_modules the folder above holds the project's
 * package.json; a global prefix (<prefix>/lib/node_modules, or %APPDATA%\npm\node_modules) has none.
 */
export function installKind(root: string = packageRoot): InstallKind {
  const modules = dirname(root);
  if (basename(modules) !== 'node_modules') return 'checkout';
  const above = dirname(modules);
  if (basename(above) === 'lib' && !existsSync(join(above, 'package.json'))) return 'global';
  if (process.platform === 'win32' && basename(above).toLowerCase() === 'npm' && !existsSync(join(above, 'package.json'))) return 'global';
  return 'local';
}

export function packageManager(env: NodeJS.ProcessEnv = process.env): PackageManager | undefined {
  if (onPath('apt-get', env)) return 'apt';
  if (onPath('dnf', env)) return 'dnf';
  if (onPath('pacman', env)) return 'pacman';
  if (onPath('zypper', env)) return 'zypper';
  return undefined;
}

export function adviceContext(root: string = packageRoot): AdviceContext {
  return { platform: process.platform, install: installKind(root), root, packageManager: process.platform === 'linux' ? packageManager() : undefined };
}

const RECORDER_PACKAGE: Record<PackageManager, string> = {
  apt: 'sudo apt install pulseaudio-utils',
  dnf: 'sudo dnf install pulseaudio-utils',
  pacman: 'sudo pacman -S libpulse',
  zypper: 'sudo zypper install pulseaudio-utils',
};

const BUILD_TOOLS: Record<PackageManager, string> = {
  apt: 'sudo apt install build-essential python3',
  dnf: 'sudo dnf install gcc-c++ make python3',
  pacman: 'sudo pacman -S base-devel python',
  zypper: 'sudo zypper install gcc-c++ make python3',
};

/** The command that builds naudiodon2 again where this package lives. */
export function rebuildCommand(ctx: AdviceContext): string {
  if (ctx.install === 'global') return 'npm install -g prism-whisper';
  if (ctx.install === 'local') return `npm install naudiodon2 (in ${dirname(dirname(ctx.root))})`;
  return `npm install (in ${ctx.root})`;
}

function buildTools(ctx: AdviceContext): string {
  if (ctx.platform === 'darwin') return 'xcode-select --install';
  if (ctx.platform === 'win32') return 'Visual Studio Build Tools with the C++ workload';
  return ctx.packageManager ? BUILD_TOOLS[ctx.packageManager] : 'a C++ compiler, make and python3';
}

/** How to get a way to record, for a machine that has neither naudiodon2 nor a recorder on PATH. */
export function micFix(ctx: AdviceContext = adviceContext()): string {
  const rebuild = `install build tools (${buildTools(ctx)}), then ${rebuildCommand(ctx)} to build naudiodon2 (PortAudio)`;
  if (ctx.platform !== 'linux') return `Microphone capture needs naudiodon2 (PortAudio), which is not installed: ${rebuild}.`;
  const client = ctx.packageManager ? RECORDER_PACKAGE[ctx.packageManager] : "your distribution's pulseaudio-utils (parec) or alsa-utils (arecord) package";
  return `Microphone capture needs the sound server's recorder (parec) or naudiodon2 (PortAudio), and this machine has neither: ${client} (no compiler needed), or ${rebuild}.`;
}

/** Why a backend asked for by name cannot record here, and the fix. */
export function missingBackend(kind: 'portaudio' | 'parec' | 'arecord', ctx: AdviceContext = adviceContext()): string {
  if (kind === 'portaudio') {
    return `Microphone capture through PortAudio needs the optional dependency naudiodon2, which is not installed: install build tools (${buildTools(ctx)}), then ${rebuildCommand(ctx)}.`;
  }
  if (ctx.platform !== 'linux') return `${kind} records on Linux only.`;
  const pm = ctx.packageManager;
  const install =
    kind === 'parec' ? (pm ? RECORDER_PACKAGE[pm] : 'pulseaudio-utils') : pm === 'pacman' ? 'sudo pacman -S alsa-utils' : pm ? `sudo ${pm} install alsa-utils` : 'alsa-utils';
  return `${kind} is not on PATH: ${install}.`;
}
