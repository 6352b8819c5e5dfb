/**
 * Generates the test models once per source version (cached in test/.models, keyed by a hash of
 * the generator's sources) and hands their paths to the tests.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { makeTestModel } from '../../lib/models/generate/testModel.js';

const root = join(import.meta.dirname, '..', '..');

export const MODELS = {
  tiny: { size: 'tiny', script: 25 },
  tinyEn: { size: 'tiny', english: true, script: 10 },
  base: { size: 'base', script: 25 },
} as const;

export default async function setup(project: TestProject): Promise<void> {
  // the generated models are kept until the generator's sources (or the shapes they use) change
  const hash = createHash('sha1');
  const generator = join(root, 'lib', 'models', 'generate');
  for (const f of readdirSync(generator).sort()) hash.update(readFileSync(join(generator, f)));
  hash.update(readFileSync(join(root, 'lib', 'models', 'shapes.ts')));
  const key = hash.digest('hex').slice(0, 12);
  const dir = join(root, 'test', '.models');
  mkdirSync(dir, { recursive: true });
  for (const old of readdirSync(dir)) if (!old.includes(key)) rmSync(join(dir, old), { force: true });
  const paths: Record<string, string> = {};
  for (const [name, opts] of Object.entries(MODELS)) {
    const path = join(dir, `${name}-${key}.bin`);
    if (!existsSync(path)) await makeTestModel(path, { ...opts, seed: 1 });
    paths[name] = path;
  }
  project.provide('models', paths);
}

declare module 'vitest' {
  export interface ProvidedContext {
    models: Record<keyof typeof MODELS, string>;
  }
}
