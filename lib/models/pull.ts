/**
 * Models by name: what a name stands for, and `pullModel`, which puts it in the cache — a registry
 * model downloaded (resumable, checksum-verified), a test model (`test-tiny`, `test-base.en`, …)
 * generated here with random weights, without the network.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WhisperError } from '../errors.js';
import { isModelName, localModelPath, modelCacheDir } from './cache.js';
import { type DownloadProgress, download } from './download.js';
import { makeTestModel } from './generate/testModel.js';
import { modelUrl, type RegistryEntry, registryEntry } from './registry.js';
import { MODEL_SIZES, type ModelSize } from './shapes.js';

/** What a model name stands for. */
export type ModelSource =
  | { kind: 'registry'; name: string; entry: RegistryEntry; path: string; url: string }
  | { kind: 'test'; name: string; size: ModelSize; english: boolean; path: string };

/** The registry or test model a name (`base.en`, `ggml-base.en.bin`, `test-tiny`) stands for; undefined for anything else. */
export function modelSource(name: string, baseUrl?: string): ModelSource | undefined {
  const bare = name.replace(/^ggml-/, '').replace(/\.bin$/, '');
  const entry = registryEntry(bare);
  if (entry) return { kind: 'registry', name: entry.name, entry, path: join(modelCacheDir(), entry.file), url: modelUrl(entry, baseUrl) };
  const test = /^test-(.+?)(\.en)?$/.exec(bare);
  if (test && (MODEL_SIZES as readonly string[]).includes(test[1] as string)) {
    return { kind: 'test', name: bare, size: test[1] as ModelSize, english: test[2] !== undefined, path: localModelPath(bare) };
  }
  return undefined;
}

export interface PullOptions {
  /** download progress (registry models) */
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** fetch again (or generate again) even when the file is there */
  force?: boolean;
  /** a mirror of the official files (default: PRISM_MODEL_BASE_URL, else Hugging Face) */
  baseUrl?: string;
  /** called once when another process is pulling the same model; this one waits for it */
  onWait?: () => void;
}

/**
 * Puts a model in the cache by name and returns its path: `pullModel('base.en')` downloads the
 * official file (verified against its published checksum, resumed if interrupted);
 * `pullModel('test-tiny')` generates a random-weight test model. A model already there is not fetched again.
 */
export async function pullModel(name: string, options: PullOptions = {}): Promise<string> {
  const source = modelSource(name, options.baseUrl);
  if (!source) throw new WhisperError('MODEL_NOT_FOUND', `unknown model "${name}"; the names are listed by: prism-dictate models list`);
  if (existsSync(source.path) && !options.force) return source.path;
  if (source.kind === 'test') {
    options.signal?.throwIfAborted();
    await makeTestModel(source.path, { size: source.size, english: source.english });
    return source.path;
  }
  const { entry } = source;
  const result = await download({
    url: source.url,
    dest: source.path,
    sha1: entry.sha1,
    sha256: entry.sha256,
    onProgress: options.onProgress,
    signal: options.signal,
    onWait: options.onWait,
  });
  return result.path;
}

/**
 * The file for a model path or name: a path that exists, or a model in the cache by name (`base.en`,
 * `ggml-base.en.bin`, `test-tiny`, or a name pulled with --url). A known model that is not there yet
 * throws MODEL_NOT_FOUND naming the command (or `pullModel`) that gets it.
 */
export function resolveModel(nameOrPath: string): string {
  if (typeof nameOrPath !== 'string' || nameOrPath.length === 0) throw new WhisperError('BAD_ARGUMENT', 'a model path or name is required');
  if (existsSync(nameOrPath)) return nameOrPath;
  if (!isModelName(nameOrPath)) throw new WhisperError('MODEL_NOT_FOUND', `model file not found: ${nameOrPath}`);
  const source = modelSource(nameOrPath);
  if (source && existsSync(source.path)) return source.path;
  const local = localModelPath(nameOrPath);
  if (existsSync(local)) return local;
  if (source?.kind === 'registry') {
    throw new WhisperError(
      'MODEL_NOT_FOUND',
      `model "${source.name}" is not downloaded yet (${source.entry.mib} MiB); run: prism-dictate models pull ${source.name} (or pullModel('${source.name}') in code)`,
    );
  }
  if (source?.kind === 'test') {
    throw new WhisperError('MODEL_NOT_FOUND', `test model "${source.name}" is not made yet; run: prism-dictate models pull ${source.name} (random weights, made here in seconds)`);
  }
  throw new WhisperError('MODEL_NOT_FOUND', `model file not found: ${nameOrPath} (and it is not a model name; see: prism-dictate models list)`);
}
