#!/usr/bin/env node
// Checks (or with --fix, applies) clang-format on native/, using the clang-format npm package's binary.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const bin = join(dirname(require.resolve('clang-format/package.json')), 'index.js');
const files = readdirSync(join(root, 'native'))
  .filter((f) => /\.(cc|h)$/.test(f))
  .map((f) => join('native', f));
const fix = process.argv.includes('--fix');
const args = fix ? ['-i', ...files] : ['--dry-run', '--Werror', ...files];
const r = spawnSync(process.execPath, [bin, '--style=file', ...args], { cwd: root, stdio: 'inherit' });
if (r.status !== 0 && !fix) console.error('clang-format: run "npm run format" to fix native/');
process.exit(r.status ?? 1);
