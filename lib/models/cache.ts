/** Where pulled models live, and how a model name or path resolves to a file. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { WhisperError } from '../errors.js';
import { registryEntry } from './registry.js';

/** PRISM_WHISPER_CACHE, else $PRISM_DICTATE_HOME/models, else the platform's cache folder. */
export function modelCacheDir(): string {
  if (process.env.PRISM_WHISPER_CACHE) return process.env.PRISM_WHISPER_CACHE;
  if (process.env.PRISM_DICTATE_HOME) return join(process.env.PRISM_DICTATE_HOME, 'models');
  const home = homedir();
  if (process.platform === 'darwin') return join(home, 'Library', 'Caches', 'prism-whisper', 'models');
  if (process.platform === 'win32') return join(process.env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'prism-whisper', 'Cache', 'models');
  return join(process.env.XDG_CACHE_HOME || join(home, '.cache'), 'prism-whisper', 'models');
}

export function cachedModelPath(name: string): string | undefined {
  const entry = registryEntry(name);
  return entry ? join(modelCacheDir(), entry.file) : undefined;
}

/** Where a model of that name lives in the cache: a registry file name, or ggml-NAME.bin for one pulled by URL. */
export function localModelPath(name: string): string {
  return cachedModelPath(name) ?? join(modelCacheDir(), `ggml-${name}.bin`);
}

/** A path that exists, or a registry name that has been pulled. */
export function resolveModel(nameOrPath: string): string {
  if (typeof nameOrPath !== 'string' || nameOrPath.length === 0) throw new WhisperError('BAD_ARGUMENT', 'a model path or name is required');
  if (existsSync(nameOrPath)) return nameOrPath;
  const cached = cachedModelPath(nameOrPath);
  if (cached) {
    if (existsSync(cached)) return cached;
    throw new WhisperError('MODEL_NOT_FOUND', `model "${nameOrPath}" is not downloaded yet; run: npx prism-dictate models pull ${nameOrPath}`);
  }
  throw new WhisperError('MODEL_NOT_FOUND', `model file not found: ${nameOrPath} (and it is not a model name; see: npx prism-dictate models list)`);
}
