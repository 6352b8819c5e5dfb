#!/usr/bin/env node
// `npm run test:asan`: the addon built with AddressSanitizer (and UBSan) into build-asan/, then the
// library's native-lifetime tests run on it: load/transcribe/abort/close, concurrent states, worker
// threads terminated mid-call, exit while busy, GC of an unclosed model, many load/close cycles. As
// better-sqlite3 runs its debug build: a use-after-free or an overflow in the addon (or in our
// whisper.cpp patches) fails the run with ASan's report instead of passing by luck.
//
// Node itself is not instrumented, so the ASan runtime is preloaded (LD_PRELOAD) into every node
// process the tests start, and leak detection is off (Node does not free everything at exit).
// Linux with gcc or clang; ~6 min to build on 2 cores, once (incremental after).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TESTS = ['test/model.test.ts', 'test/worker-threads.test.ts', 'test/lifetime.test.ts', 'test/leak.test.ts', 'test/patches.test.ts', 'test/whisper-fixes.test.ts'];

function run(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (process.platform !== 'linux') {
  console.error('test:asan: Linux only (the ASan runtime is preloaded into node)');
  process.exit(1);
}
const runtime = spawnSync('cc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
if (!runtime.startsWith('/')) {
  console.error('test:asan: the compiler has no libasan.so (gcc: apt install libasan8, or the gcc package)');
  process.exit(1);
}

const sanitize = '-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined';
const cmakeJs = join(dirname(fileURLToPath(import.meta.resolve('cmake-js/package.json'))), 'bin', 'cmake-js');
if (!process.argv.includes('--no-build')) {
  run(process.execPath, [
    cmakeJs,
    'compile',
    '-O',
    'build-asan',
    '--parallel',
    String(availableParallelism()),
    // cmake-js sets CMAKE_CXX_FLAGS itself: the sanitizers go into the configuration's flags
    '--CDCMAKE_BUILD_TYPE=RelWithDebInfo',
    `--CDCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g ${sanitize}`,
    `--CDCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g ${sanitize}`,
    '--CDCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined',
  ]);
}
// cmake-js names the output folder after its own configuration (Release)
const binary = ['Release', 'RelWithDebInfo'].map((c) => join(root, 'build-asan', c, 'prism_whisper.node')).find((f) => existsSync(f));
if (!binary) {
  console.error('test:asan: no build-asan/*/prism_whisper.node after the build');
  process.exit(1);
}
const env = {
  ...process.env,
  PRISM_WHISPER_BINARY: binary,
  LD_PRELOAD: `${runtime}${process.env.LD_PRELOAD ? ` ${process.env.LD_PRELOAD}` : ''}`,
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
  // sanitized code runs 2-5× slower: the abort-latency bounds are for release builds
  PRISM_SANITIZED: '1',
};
run(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...TESTS], env);
