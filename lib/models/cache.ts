/** Where pulled models live, and how a model name or path resolves to a file. */
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

/** What a model name may be, everywhere (pull, path, rm, --model): no separators, no "..", so a name never leaves the cache. */
const MODEL_NAME = /^[A-Za-z0-9_][\w.-]*$/;

export function isModelName(name: string): boolean {
  return MODEL_NAME.test(name) && !name.includes('..');
}

/** Where a model of that name lives in the cache: a registry file name, or ggml-NAME.bin for one pulled by URL. */
export function localModelPath(name: string): string {
  if (!isModelName(name)) {
    throw new WhisperError('BAD_ARGUMENT', `"${name}" is not a usable model name (letters, digits, . _ -; no separators or "..")`);
  }
  return cachedModelPath(name) ?? join(modelCacheDir(), `ggml-${name}.bin`);
}
