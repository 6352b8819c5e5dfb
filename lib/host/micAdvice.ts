/**
 * What to tell a person whose install lacks something: the command that helps for how this package
 * was installed. A global install (`npm install -g`) never looks at a `node_modules` in the current
 * folder, so "npm install naudiodon2" there does nothing for it; the sound server's client (parec)
 * needs no compiler at all. Each command was tried on a packed tarball installed each way (issue 27):
 * - global: `cd <the package> && npm install --no-save --omit=dev naudiodon2@<version>` builds the
 *   module into the package's own node_modules (one package added, package.json untouched), and
 *   `PRISM_CUDA=1 npm rebuild -g prism-whisper` runs the package's build again;
 * - a project's dependency, or npx's cache (a project too): `npm install` in that project installs
 *   the optional module it is missing, `npm rebuild prism-whisper` there runs the build again;
 * - a checkout: `npm install` / `npm run build:native` in it.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { packageRoot } from '../native.js';
import { onPath } from './recorders.js';

/** global: npm install -g; local: a project's node_modules; npx: npx's cache; checkout: this repository (or a copy). */
export type InstallKind = 'global' | 'local' | 'npx' | 'checkout';

export type PackageManager = 'apt' | 'dnf' | 'pacman' | 'zypper';

export interface AdviceContext {
  platform: NodeJS.Platform;
  install: InstallKind;
  /** the package's folder */
  root: string;
  packageManager?: PackageManager;
  /** whether this user may write there (a global prefix owned by root is not): else the command takes sudo */
  writable?: boolean;
  /** the naudiodon2 version the package asks for (its optionalDependencies) */
  naudiodon?: string;
}

/**
 * By the package's path: in a project's node_modules the folder above holds the project's
 * package.json; a global prefix (<prefix>/lib/node_modules, or %APPDATA%\npm\node_modules) has none.
 */
export function installKind(root: string = packageRoot): InstallKind {
  const modules = dirname(root);
  if (basename(modules) === 'node_modules' && dirname(modules).split(sep).includes('_npx')) return 'npx';
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

/** The version of naudiodon2 the package at `root` asks for. */
function naudiodonVersion(root: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> };
    return pkg.optionalDependencies?.naudiodon2;
  } catch {
    return undefined;
  }
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export function adviceContext(root: string = packageRoot): AdviceContext {
  return {
    platform: process.platform,
    install: installKind(root),
    root,
    packageManager: process.platform === 'linux' ? packageManager() : undefined,
    writable: writable(root),
    naudiodon: naudiodonVersion(root),
  };
}

/** The folder npm works in for this install: the package itself (global, checkout) or the project that holds it. */
function projectDir(ctx: AdviceContext): string {
  return ctx.install === 'local' || ctx.install === 'npx' ? dirname(dirname(ctx.root)) : ctx.root;
}

/** `cd "<dir>" && ` for sh; `cd "<dir>"; ` for PowerShell (5 has no &&). */
function cdInto(dir: string, ctx: AdviceContext): string {
  return ctx.platform === 'win32' ? `cd "${dir}"; ` : `cd "${dir}" && `;
}

/** PRISM_CUDA=1 for the one command that follows, in sh or PowerShell. */
function cudaEnv(ctx: AdviceContext): string {
  return ctx.platform === 'win32' ? "$env:PRISM_CUDA='1'; " : `${sudo(ctx)}PRISM_CUDA=1 `;
}

/** sudo, where this user may not write the package's folder (a global prefix owned by root). */
function sudo(ctx: AdviceContext): string {
  return ctx.writable === false && ctx.platform !== 'win32' ? 'sudo ' : '';
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

/** The command that installs (builds) the missing naudiodon2 where this package looks for it. */
export function installMicCommand(ctx: AdviceContext): string {
  if (ctx.install === 'global') return `${cdInto(ctx.root, ctx)}${sudo(ctx)}npm install --no-save --omit=dev naudiodon2@${ctx.naudiodon ?? 'latest'}`;
  return `${cdInto(projectDir(ctx), ctx)}${sudo(ctx)}npm install`;
}

/** The command that builds naudiodon2 again where this package finds it (it is there but does not load). */
export function rebuildCommand(ctx: AdviceContext): string {
  return `${cdInto(projectDir(ctx), ctx)}${sudo(ctx)}npm rebuild naudiodon2 --foreground-scripts`;
}

/** The command that builds this package's addon again with CUDA, for how it was installed. */
export function cudaRebuildCommand(ctx: AdviceContext): string {
  if (ctx.install === 'global') return `${cudaEnv(ctx)}npm rebuild -g prism-whisper --foreground-scripts`;
  if (ctx.install === 'checkout') return `${cdInto(ctx.root, ctx)}${cudaEnv(ctx)}npm run build:native`;
  return `${cdInto(projectDir(ctx), ctx)}${cudaEnv(ctx)}npm rebuild prism-whisper --foreground-scripts`;
}

function buildTools(ctx: AdviceContext): string {
  if (ctx.platform === 'darwin') return 'xcode-select --install';
  if (ctx.platform === 'win32') return 'Visual Studio Build Tools with the C++ workload';
  return ctx.packageManager ? BUILD_TOOLS[ctx.packageManager] : 'a C++ compiler, make and python3';
}

/** How to get a way to record, for a machine that has neither naudiodon2 nor a recorder on PATH. */
export function micFix(ctx: AdviceContext = adviceContext()): string {
  const rebuild = `install build tools (${buildTools(ctx)}), then ${installMicCommand(ctx)} to build naudiodon2 (PortAudio)`;
  if (ctx.platform !== 'linux') return `Microphone capture needs naudiodon2 (PortAudio), which is not installed: ${rebuild}.`;
  const client = ctx.packageManager ? RECORDER_PACKAGE[ctx.packageManager] : "your distribution's pulseaudio-utils (parec) or alsa-utils (arecord) package";
  return `Microphone capture needs the sound server's recorder (parec) or naudiodon2 (PortAudio), and this machine has neither: ${client} (no compiler needed), or ${rebuild}.`;
}

/** Why a backend asked for by name cannot record here, and the fix. */
export function missingBackend(kind: 'portaudio' | 'parec' | 'arecord', ctx: AdviceContext = adviceContext()): string {
  if (kind === 'portaudio') {
    return `Microphone capture through PortAudio needs the optional dependency naudiodon2, which is not installed: install build tools (${buildTools(ctx)}), then ${installMicCommand(ctx)}.`;
  }
  if (ctx.platform !== 'linux') return `${kind} records on Linux only.`;
  const pm = ctx.packageManager;
  const install =
    kind === 'parec' ? (pm ? RECORDER_PACKAGE[pm] : 'pulseaudio-utils') : pm === 'pacman' ? 'sudo pacman -S alsa-utils' : pm ? `sudo ${pm} install alsa-utils` : 'alsa-utils';
  return `${kind} is not on PATH: ${install}.`;
}
