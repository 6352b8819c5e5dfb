#!/usr/bin/env node
// Builds upstream's own whisper-cli from the same whisper.cpp source the addon links (the pinned
// nodejs-whisper package, or WHISPER_CPP_DIR) into build-ref/, for the reference comparison test and
// the cold-process benchmark. Prints the binary's path. Reuses an existing build.
// --patched: the same, from a copy with deps/patches applied (deps/patch.cmake), into build-ref-patched/,
// for the patched-vs-pristine rows of the benchmark.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const pristine = process.env.WHISPER_CPP_DIR || join(dirname(require.resolve('nodejs-whisper/package.json')), 'cpp', 'whisper.cpp');
const patched = process.argv.includes('--patched');
const build = join(root, patched ? 'build-ref-patched' : 'build-ref');
const exe = join(build, 'bin', process.platform === 'win32' ? 'Release/whisper-cli.exe' : 'whisper-cli');

function run(args) {
  // cmake's progress goes to stderr: stdout carries only the binary's path.
  const r = spawnSync('cmake', args, { stdio: ['ignore', process.stderr, 'inherit'] });
  if (r.status !== 0) {
    console.error(`build-reference-cli: cmake ${args.join(' ')} failed`);
    process.exit(r.status ?? 1);
  }
}

let source = pristine;
if (patched) {
  // the patched copy is redone when a patch changes; cmake's build then recompiles what changed
  const r = spawnSync('cmake', [`-DSRC=${pristine}`, `-DDST=${join(build, 'whisper.cpp-src')}`, '-P', join(root, 'deps', 'patch.cmake')], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`build-reference-cli: ${r.stderr.trim()}`);
    process.exit(r.status ?? 1);
  }
  source = r.stderr.trim().split('\n').at(-1);
}
if (!existsSync(exe) || patched) {
  console.error(`build-reference-cli: building whisper-cli from ${source} (a few minutes, once)`);
  run(['-S', source, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DWHISPER_BUILD_TESTS=OFF', '-DWHISPER_SDL2=OFF', '-DGGML_NATIVE=ON']);
  run(['--build', build, '--config', 'Release', '--target', 'whisper-cli', '--parallel', String(availableParallelism())]);
}
process.stdout.write(`${exe}\n`);
