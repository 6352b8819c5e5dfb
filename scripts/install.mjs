#!/usr/bin/env node
// npm install hook: use a prebuilt binary when one loads, otherwise build the addon from source with
// cmake-js against whisper.cpp from the pinned nodejs-whisper package (or WHISPER_CPP_DIR).
//   PRISM_CUDA=1                 build the CUDA backend (needs the CUDA toolkit with cuBLAS)
//   CMAKE_CUDA_ARCHITECTURES=90  GPU architectures to build for (default: native)
//   PRISM_CPU_VARIANTS=1         portable build: all x86 CPU variants, the best one chosen at run time
//   PRISM_PATCHES=0              build whisper.cpp without our patch set (deps/patches)
//   WHISPER_CPP_DIR=/path        your own whisper.cpp checkout
//   --force, --build-from-source compile even if a binary loads (npm install --build-from-source too)
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const force = process.argv.includes('--force');
const on = (name) => /^(1|on|true|yes)$/i.test(process.env[name] ?? '');
// the rebuild command for how this install was made: npm sets npm_config_global for `npm install -g`
const rebuild = `npm rebuild${on('npm_config_global') ? ' -g' : ''} prism-whisper --foreground-scripts`;

// The binary node-gyp-build would load (build/Release, else prebuilds/<platform>-<arch>), probed in a
// child process so that a broken one cannot take this one down: { file } or { error }.
function probeBinary() {
  const code = `const f = require('node-gyp-build').resolve(${JSON.stringify(root)}); require(f).systemInfo(); process.stdout.write(f)`;
  const probe = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' });
  if (probe.status === 0) return { file: probe.stdout.trim() };
  const why = (probe.stderr || '').split('\n').find((l) => /Error|error:/.test(l)) ?? `exit ${probe.status}`;
  return { error: why.trim() };
}

function which(tool) {
  return process.platform === 'win32'
    ? spawnSync('where', [tool], { stdio: 'ignore' }).status === 0
    : spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

// npm (7 and later) hides what an install script prints unless it fails, so a user would never learn
// whether a prebuilt binary was used or a build is running: each of our lines also goes to the terminal
// itself (/dev/tty) when neither output is one. Without a terminal (CI), npm's log of the script has it.
function tell(line, stream = process.stdout) {
  stream.write(`${line}\n`);
  if (process.stdout.isTTY || process.stderr.isTTY) return;
  try {
    const tty = openSync('/dev/tty', 'w');
    writeSync(tty, `\r\x1b[2K${line}\n`); // from the line's start: npm's spinner may stand there
    closeSync(tty);
  } catch {} // no terminal
}

// Microphone: an optional dependency's failed build (naudiodon2 without a compiler) is silent; when
// neither PortAudio nor the sound server's recorder (parec, arecord) is there, say so.
async function warnNoMicrophone() {
  if (process.platform !== 'linux' && process.platform !== 'darwin') return;
  let portaudio = false;
  try {
    const main = createRequire(join(root, 'package.json')).resolve('naudiodon2');
    portaudio = existsSync(join(dirname(main), 'build', 'Release', 'naudiodon.node'));
  } catch {}
  if (portaudio || (process.platform === 'linux' && (which('parec') || which('arecord')))) return;
  let fix = 'Microphone capture needs parec (pulseaudio-utils) or naudiodon2 (PortAudio), and this machine has neither: prism-dictate doctor says how to get one.';
  try {
    fix = (await import(pathToFileURL(join(root, 'dist', 'host', 'micAdvice.js')).href)).micFix();
  } catch {}
  tell(`prism-whisper: ${fix}`, process.stderr);
}
await warnNoMicrophone();

const fromSource = force || on('npm_config_build_from_source') || process.argv.includes('--build-from-source');
const cuda = on('PRISM_CUDA');
let reason;
if (fromSource) reason = 'a build from source was asked for';
else if (cuda) reason = 'PRISM_CUDA=1: the CUDA build is always compiled here (the CUDA libraries cannot be shipped)';
else if (on('PRISM_CPU_VARIANTS')) reason = 'PRISM_CPU_VARIANTS=1 asks for a portable build';
else {
  const probe = probeBinary();
  if (probe.file) {
    const kind = probe.file.split(/[\\/]/).includes('prebuilds') ? 'the prebuilt binary' : 'the binary built earlier';
    tell(`prism-whisper: using ${kind} ${probe.file.slice(root.length + 1)} (it loads here); nothing to compile (${rebuild} --build-from-source compiles one for this CPU)`);
    process.exit(0);
  }
  reason = /Cannot find module|No native build was found/.test(probe.error)
    ? `there is no prebuilt binary for ${process.platform}-${process.arch}`
    : `the prebuilt binary does not load here (${probe.error})`;
}

if (cuda) {
  console.log(
    'prism-whisper: PRISM_CUDA=1 builds whisper.cpp with CUDA: it needs the CUDA toolkit (nvcc and cuBLAS, CUDA 12 or newer), cmake and a C++17 compiler, and takes several minutes; CMAKE_CUDA_ARCHITECTURES picks the GPUs (default: the ones in this machine, e.g. 90 for an H100/H200).',
  );
  const inCudaPath = process.env.CUDA_PATH && spawnSync(join(process.env.CUDA_PATH, 'bin', 'nvcc'), ['--version'], { stdio: 'ignore' }).status === 0;
  if (!which('nvcc') && !inCudaPath) {
    console.error(
      "prism-whisper: PRISM_CUDA=1, but nvcc is not on PATH (nor in $CUDA_PATH/bin): install the CUDA toolkit (developer.nvidia.com/cuda-downloads, or the distribution's nvidia-cuda-toolkit) and put its bin folder on PATH, or unset PRISM_CUDA for the CPU build.",
    );
    process.exit(1);
  }
}
const missing = [];
if (!which('cmake')) missing.push('cmake');
if (process.platform !== 'win32' && !['c++', 'g++', 'clang++'].some(which)) missing.push('a C++ compiler (c++, g++ or clang++)');
if (missing.length) {
  console.error(
    `prism-whisper: compiling the native addon (${reason}) needs ${missing.join(' and ')}, which this machine lacks: install them (Debian/Ubuntu: sudo apt install cmake g++; macOS: xcode-select --install and brew install cmake; Windows: Visual Studio Build Tools with the C++ workload, and cmake), then ${rebuild}.`,
  );
  process.exit(1);
}
tell(`prism-whisper: compiling the native addon because ${reason}`);

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
tell(`prism-whisper: building the native addon (${defines.join(' ') || 'CPU'}) with ${jobs} jobs; this takes a few minutes`);
const build = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error(`
prism-whisper: building the native addon failed.
  - It needs cmake (>= 3.18) and a C++17 compiler (g++/clang++, or MSVC on Windows).
  - whisper.cpp comes from the nodejs-whisper package; set WHISPER_CPP_DIR to use another checkout.
  - For CUDA (PRISM_CUDA=1) the CUDA toolkit with cuBLAS must be installed; unset PRISM_CUDA for a CPU build.
  - Rebuild with: ${rebuild}   (or, in this repository: npm run build:native)`);
  process.exit(build.status ?? 1);
}
tell('prism-whisper: the native addon is built (build/Release); prism-dictate system shows what it uses');
