/**
 * The only door to the native addon: finds the binary (prebuilds/ or a source build, through
 * node-gyp-build), and describes its shape for TypeScript.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WhisperError } from './errors.js';

export interface NativeSegment {
  t0Ms: number;
  t1Ms: number;
  text: string;
  noSpeechProb: number;
}

export interface NativeTimings {
  melMs: number;
  encodeMs: number;
  decodeMs: number;
  totalMs: number;
  tokens: number;
  windows: number;
  /** decoder calls that built their graph vs ran the kept one again (patched whisper.cpp only: deps/patches/0003) */
  decoderGraphs?: { built: number; reused: number };
}

export interface NativeResult {
  text: string;
  segments: NativeSegment[];
  language: string;
  timings: NativeTimings;
}

export interface NativeTranscribeOptions {
  language: string;
  prompt?: string;
  translate?: boolean;
  beamSize?: number;
  audioCtx?: number;
  noTimestamps?: boolean;
  threads: number;
  temperatureFallback?: boolean;
}

export interface NativeInfo {
  type: string;
  multilingual: boolean;
  backend: string;
  deviceName: string;
  fallbackReason: string;
  systemInfo: string;
  states: number;
  nVocab: number;
  nAudioCtx: number;
  nTextLayer: number;
  nMels: number;
  ftype: number;
  modelBytes: number;
  stateBytes: number;
  loadMs: number;
  warmupMs: number;
}

export interface NativeModel {
  transcribe(slot: number, pcm: Float32Array, options: NativeTranscribeOptions, onSegment: ((s: NativeSegment) => void) | undefined, job: number): Promise<NativeResult>;
  abort(job: number): boolean;
  close(): Promise<void>;
  info(): NativeInfo | null;
}

export interface NativeLoadOptions {
  path: string;
  gpu: 'auto' | 'cuda' | 'cpu';
  device: number;
  states: number;
  flashAttn: boolean;
  warmup: boolean;
  warmupThreads: number;
}

export interface NativeDevice {
  name: string;
  description: string;
  type: 'cpu' | 'gpu' | 'accel';
  memoryFree: number;
  memoryTotal: number;
}

export interface NativeAddon {
  load(options: NativeLoadOptions): Promise<NativeModel>;
  loadBackends(dir: string): void;
  devices(): NativeDevice[];
  systemInfo(): string;
  whisperVersion: string;
  cuda: boolean;
  backendDl: boolean;
  /** aborts land between graph nodes (Linux builds), not only between whole encoder/decoder passes */
  fineAbort: boolean;
}

export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

let cached: NativeAddon | undefined;

/** Where the addon in use came from, for `system` and `doctor`. */
export interface NativeOrigin {
  file: string;
  /** a binary shipped in the package (prebuilds/), one compiled on this machine, or PRISM_WHISPER_BINARY */
  kind: 'prebuilt' | 'built here' | 'PRISM_WHISPER_BINARY';
  /** the ggml CPU backend chosen at run time in a portable build (e.g. "haswell"), read from the loaded libraries */
  cpuVariant?: string;
}

let origin: NativeOrigin | undefined;

/** The loaded addon's origin (loads it if needed). */
export function nativeOrigin(): NativeOrigin {
  nativeAddon();
  return origin as NativeOrigin;
}

/** Linux: the CPU variant library ggml loaded (libggml-cpu-<variant>.so), from this process's mappings. */
function loadedCpuVariant(): string | undefined {
  try {
    return /libggml-cpu-([\w.-]+?)\.so/.exec(readFileSync('/proc/self/maps', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

/** Loads the addon once; throws WhisperError('NATIVE_MISSING') with what was tried and how to fix it. */
export function nativeAddon(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  const override = process.env.PRISM_WHISPER_BINARY;
  try {
    let file: string;
    if (override) {
      tried.push(`PRISM_WHISPER_BINARY=${override}`);
      file = override;
    } else {
      tried.push(`node-gyp-build(${packageRoot}): build/Release/ and prebuilds/${process.platform}-${process.arch}/`);
      file = (require('node-gyp-build') as { resolve(dir: string): string }).resolve(packageRoot);
    }
    const addon = require(file) as NativeAddon;
    // A portable build keeps its CPU variants (and CUDA) as loadable backends: next to the binary in a
    // prebuild, in <build>/bin after a source build.
    if (addon.backendDl) {
      const dirs = [dirname(file), join(dirname(file), '..', 'bin')];
      const dir = dirs.find((d) => existsSync(d) && readdirSync(d).some((f) => f.includes('ggml-cpu')));
      if (!dir) throw new Error(`no ggml CPU backend found in ${dirs.join(' or ')}`);
      addon.loadBackends(dir);
    }
    const kind = override ? 'PRISM_WHISPER_BINARY' : file.split(/[\\/]/).includes('prebuilds') ? 'prebuilt' : 'built here';
    origin = { file, kind, ...(addon.backendDl ? { cpuVariant: loadedCpuVariant() ?? 'chosen at run time' } : {}) };
    cached = addon;
    return addon;
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0];
    throw new WhisperError(
      'NATIVE_MISSING',
      [
        `prism-whisper's native addon could not be loaded (${reason}).`,
        `Tried: ${tried.join('; ')}.`,
        'Fix: run "npm rebuild prism-whisper" (needs cmake and a C++17 compiler; PRISM_CUDA=1 for the CUDA build),',
        'or set PRISM_WHISPER_BINARY to a built prism_whisper.node.',
      ].join('\n'),
      { cause: e },
    );
  }
}
