#!/usr/bin/env node
// Builds the addon with cmake-js and lays it out the way prebuildify does (prebuilds/<platform>-<arch>/,
// found by node-gyp-build), together with the shared libraries a portable build needs: on x64 every
// CPU variant of ggml next to the binary, the addon picking the best one for the machine at run time.
// The result is loaded in a child process before it counts. `npm pack` runs it with --if-missing.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (args, env = {}) => {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const dest = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
// --if-missing (npm pack's prepack): a prebuild for this platform already there is what gets packed
// (the workflow's package job downloads every platform's; a test packs the checkout's own build).
if (process.argv.includes('--if-missing') && existsSync(join(dest, 'prism-whisper.napi.node'))) {
  console.log(`prebuild: ${dest.slice(root.length + 1)} is there; npm pack ships it (rm -r prebuilds to make a new one)`);
  process.exit(0);
}
// --from DIR packs an existing cmake-js build folder instead of building. Otherwise the build goes to
// build-variants/ (never the development build/): on x64 every CPU variant as a loadable backend
// (PRISM_CPU_VARIANTS=0 builds one for this CPU instead), elsewhere one build.
const from = process.argv.includes('--from') ? join(root, process.argv[process.argv.indexOf('--from') + 1]) : undefined;
if (!from) {
  const variants = process.env.PRISM_CPU_VARIANTS !== undefined ? /^(1|on|true|yes)$/i.test(process.env.PRISM_CPU_VARIANTS) : process.arch === 'x64';
  const cmakeJs = join(dirname(fileURLToPath(import.meta.resolve('cmake-js/package.json'))), 'bin', 'cmake-js');
  const defines = [`--CDPRISM_CPU_VARIANTS=${variants ? 'ON' : 'OFF'}`, `--CDPRISM_PATCHES=${process.env.PRISM_PATCHES === '0' ? 'OFF' : 'ON'}`];
  if (process.env.WHISPER_CPP_DIR) defines.push(`--CDWHISPER_CPP_DIR=${process.env.WHISPER_CPP_DIR}`);
  console.log(`prebuild: building ${variants ? 'the portable addon (every CPU variant)' : 'the addon'} in build-variants/ (several minutes)`);
  run([cmakeJs, 'compile', '-O', 'build-variants', '--parallel', String(availableParallelism()), ...defines]);
}
const buildDir = from ?? join(root, 'build-variants');
const built = join(buildDir, 'Release');
rmSync(dest, { recursive: true, force: true });
mkdirSync(dest, { recursive: true });
copyFileSync(join(built, 'prism_whisper.node'), join(dest, 'prism-whisper.napi.node'));
// Shared libraries and loadable backends: whisper.cpp writes them to build/bin (build/Release on Windows).
const libDirs = [built, join(buildDir, 'bin'), join(buildDir, 'bin', 'Release')].filter((d) => existsSync(d));
const libs = new Map(libDirs.flatMap((d) => readdirSync(d).map((f) => [f, join(d, f)])));

/** The sonames an ELF file needs (readelf), or undefined where readelf is missing. */
function needed(file) {
  const r = spawnSync('readelf', ['-d', file], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

if (process.platform === 'linux' && needed(join(built, 'prism_whisper.node'))) {
  // Each library the addon and the backends need, once, under the soname the loader asks for (a build
  // folder also holds libX.so development links and libX.so.1.9.1 files: three copies of one library,
  // and libraries nobody here loads); the CPU backends are modules, loaded by path (libggml-cpu-*.so).
  const modules = [...libs.keys()].filter((f) => /^libggml-[\w-]+\.so$/.test(f) && ![...libs.keys()].some((g) => g.startsWith(`${f}.`)));
  const queue = [join(built, 'prism_whisper.node'), ...modules.map((f) => libs.get(f))];
  for (const f of modules) copyFileSync(libs.get(f), join(dest, f));
  const shipped = new Set(modules);
  while (queue.length) {
    for (const soname of needed(queue.shift()) ?? []) {
      if (shipped.has(soname) || !libs.has(soname)) continue; // a system library, or one already in
      shipped.add(soname);
      copyFileSync(libs.get(soname), join(dest, soname)); // follows the soname link to the library itself
      queue.push(libs.get(soname));
    }
  }
} else {
  for (const [f, path] of libs) if (/\.(so(\.\d+)*|dylib|dll)$/.test(f)) copyFileSync(path, join(dest, f));
}
console.log(`prebuild: ${readdirSync(dest).join(', ')}`);
run([join(root, 'bin', 'prism-dictate.js'), 'system'], { PRISM_WHISPER_BINARY: join(dest, 'prism-whisper.napi.node') });
