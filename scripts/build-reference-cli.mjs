#!/usr/bin/env node
// Builds upstream's own whisper-cli from the same whisper.cpp source the addon links (the pinned
// nodejs-whisper package, or WHISPER_CPP_DIR) into build-ref/, for the reference comparison test and
// the cold-process benchmark. Prints the binary's path. Reuses an existing build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const source = process.env.WHISPER_CPP_DIR || join(dirname(require.resolve('nodejs-whisper/package.json')), 'cpp', 'whisper.cpp');
const build = join(root, 'build-ref');
const exe = join(build, 'bin', process.platform === 'win32' ? 'Release/whisper-cli.exe' : 'whisper-cli');

function run(args) {
  // cmake's progress goes to stderr: stdout carries only the binary's path.
  const r = spawnSync('cmake', args, { stdio: ['ignore', process.stderr, 'inherit'] });
  if (r.status !== 0) {
    console.error(`build-reference-cli: cmake ${args.join(' ')} failed`);
    process.exit(r.status ?? 1);
  }
}

if (!existsSync(exe)) {
  console.error(`build-reference-cli: building whisper-cli from ${source} (a few minutes, once)`);
  run(['-S', source, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DWHISPER_BUILD_TESTS=OFF', '-DWHISPER_SDL2=OFF', '-DGGML_NATIVE=ON']);
  run(['--build', build, '--config', 'Release', '--target', 'whisper-cli', '--parallel', String(availableParallelism())]);
}
process.stdout.write(`${exe}\n`);
