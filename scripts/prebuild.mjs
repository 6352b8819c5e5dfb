#!/usr/bin/env node
// Builds the addon with cmake-js and lays it out the way prebuildify does (prebuilds/<platform>-<arch>/,
// found by node-gyp-build), together with the shared libraries a portable build needs:
// PRISM_CPU_VARIANTS=1 puts every x86 CPU variant of ggml next to the binary and the addon picks the
// best one for the machine at run time. The result is loaded in a child process before it counts.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (args, env = {}) => {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

// --from DIR packs an existing cmake-js build folder instead of building (default: build/).
const from = process.argv.includes('--from') ? join(root, process.argv[process.argv.indexOf('--from') + 1]) : undefined;
if (!from) run([join(root, 'scripts', 'install.mjs'), '--force']);
const buildDir = from ?? join(root, 'build');
const built = join(buildDir, 'Release');
const dest = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
rmSync(dest, { recursive: true, force: true });
mkdirSync(dest, { recursive: true });
copyFileSync(join(built, 'prism_whisper.node'), join(dest, 'prism-whisper.napi.node'));
// Shared libraries and loadable backends: whisper.cpp writes them to build/bin (build/Release on Windows).
for (const dir of [built, join(buildDir, 'bin'), join(buildDir, 'bin', 'Release')]) {
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir)) if (/\.(so(\.\d+)*|dylib|dll)$/.test(f)) copyFileSync(join(dir, f), join(dest, f));
}
console.log(`prebuild: ${readdirSync(dest).join(', ')}`);
run([join(root, 'bin', 'prism-dictate.js'), 'system'], { PRISM_WHISPER_BINARY: join(dest, 'prism-whisper.napi.node') });
