#!/usr/bin/env node
// npm install hook: use a prebuilt binary when one loads, otherwise build the addon from source with
// cmake-js against whisper.cpp from the pinned nodejs-whisper package (or WHISPER_CPP_DIR).
//   PRISM_CUDA=1                 build the CUDA backend (needs the CUDA toolkit with cuBLAS)
//   CMAKE_CUDA_ARCHITECTURES=90  GPU architectures to build for (default: native)
//   PRISM_CPU_VARIANTS=1         portable build: all x86 CPU variants, the best one chosen at run time
//   PRISM_PATCHES=0              build whisper.cpp without our patch set (deps/patches)
//   WHISPER_CPP_DIR=/path        your own whisper.cpp checkout
//   --force                      rebuild even if a binary loads
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const on = (name) => /^(1|on|true|yes)$/i.test(process.env[name] ?? '');

function existingBinaryLoads() {
  // A child process, so that a broken binary cannot take this one down.
  const probe = spawnSync(process.execPath, ['-e', `require('node-gyp-build')(${JSON.stringify(root)}).systemInfo()`], { cwd: root, encoding: 'utf8' });
  return probe.status === 0;
}

if (!force && !on('PRISM_CUDA') && !on('PRISM_CPU_VARIANTS') && existingBinaryLoads()) {
  console.log('prism-whisper: using the existing native binary (npm run build:native rebuilds it)');
  process.exit(0);
}

const defines = [];
if (on('PRISM_CUDA')) {
  defines.push('--CDPRISM_CUDA=ON');
  defines.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.CMAKE_CUDA_ARCHITECTURES || 'native'}`);
}
if (on('PRISM_CPU_VARIANTS')) defines.push('--CDPRISM_CPU_VARIANTS=ON');
// deps/patches apply by default; PRISM_PATCHES=0 builds the pristine whisper.cpp (for comparisons)
defines.push(`--CDPRISM_PATCHES=${process.env.PRISM_PATCHES === '0' ? 'OFF' : 'ON'}`);
if (process.env.WHISPER_CPP_DIR) defines.push(`--CDWHISPER_CPP_DIR=${process.env.WHISPER_CPP_DIR}`);

const cmakeJs = join(dirname(fileURLToPath(import.meta.resolve('cmake-js/package.json'))), 'bin', 'cmake-js');
const jobs = String(process.env.PRISM_BUILD_JOBS || availableParallelism());
const args = [cmakeJs, 'compile', '--parallel', jobs, ...defines];
console.log(`prism-whisper: building the native addon (${defines.join(' ') || 'CPU'}) with ${jobs} jobs; this takes a few minutes`);
const build = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error(`
prism-whisper: building the native addon failed.
  - It needs cmake (>= 3.18) and a C++17 compiler (g++/clang++, or MSVC on Windows).
  - whisper.cpp comes from the nodejs-whisper package; set WHISPER_CPP_DIR to use another checkout.
  - For CUDA (PRISM_CUDA=1) the CUDA toolkit with cuBLAS must be installed; unset PRISM_CUDA for a CPU build.
  - Rebuild with: npm rebuild prism-whisper   (or, in this repository: npm run build:native)`);
  process.exit(build.status ?? 1);
}
