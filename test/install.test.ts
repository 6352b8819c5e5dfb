/**
 * The install script's decision, as a user's install meets it: a prebuilt binary that loads is used
 * and nothing compiles; one that does not load (or none for this platform) leads to a build from
 * source, said in one line; a machine without cmake or a compiler is told what to install; PRISM_CUDA
 * says what it needs before anything starts. The package is a temporary copy (the script, its
 * prebuilds, this checkout's node_modules), and PATH holds only node and sh: nothing can compile.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from './helpers.js';

let pkg: string;
let bin: string;
const prebuilds = join(`${process.platform}-${process.arch}`);
/** util-linux `script`: runs a command on a terminal of its own */
const scriptTool = process.platform === 'linux' ? spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' }).stdout.trim() : '';

function install(env: NodeJS.ProcessEnv = {}): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [join(pkg, 'scripts', 'install.mjs')], { cwd: pkg, encoding: 'utf8', env: { HOME: process.env.HOME, PATH: bin, ...env } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  const work = mkdtempSync(join(tmpdir(), 'prism-install-'));
  pkg = join(work, 'pkg');
  bin = join(work, 'bin');
  mkdirSync(join(pkg, 'scripts'), { recursive: true });
  mkdirSync(bin);
  copyFileSync(join(root, 'scripts', 'install.mjs'), join(pkg, 'scripts', 'install.mjs'));
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'prism-whisper', type: 'module' }));
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'));
  symlinkSync(process.execPath, join(bin, 'node'));
  symlinkSync('/bin/sh', join(bin, 'sh'));
});

afterAll(() => rmSync(join(pkg, '..'), { recursive: true, force: true }));

describe.skipIf(process.platform === 'win32')('scripts/install.mjs without cmake or a compiler', () => {
  it('a prebuilt binary that loads: used, one line says so, nothing compiles', () => {
    mkdirSync(join(pkg, 'prebuilds', prebuilds), { recursive: true });
    copyFileSync(join(root, 'build', 'Release', 'prism_whisper.node'), join(pkg, 'prebuilds', prebuilds, 'prism-whisper.napi.node'));
    const r = install();
    expect(r.out.trim()).toMatch(
      new RegExp(`^prism-whisper: using the prebuilt binary prebuilds/${prebuilds}/prism-whisper\\.napi\\.node \\(it loads here\\); nothing to compile`),
    );
    expect(r.code).toBe(0);
    // the rebuild it names is the one for this install: -g when npm installs globally
    expect(r.out).toContain('(npm rebuild prism-whisper --foreground-scripts --build-from-source compiles one');
    expect(install({ npm_config_global: 'true' }).out).toContain('(npm rebuild -g prism-whisper --foreground-scripts --build-from-source compiles one');
  });

  it.skipIf(!scriptTool)("npm hides the script's output: the line still reaches the terminal (/dev/tty)", () => {
    // `script` gives the install a terminal, as a user's shell has; its output goes to a file, as under npm
    const log = join(pkg, '..', 'npm-hidden.log');
    const r = spawnSync(scriptTool, ['-qec', `node scripts/install.mjs >${log} 2>&1`, '/dev/null'], {
      cwd: pkg,
      encoding: 'utf8',
      env: { HOME: process.env.HOME, PATH: bin, SHELL: '/bin/sh' },
    });
    expect(r.status).toBe(0);
    const onTerminal = r.stdout.replaceAll('\r', '').replaceAll('\x1b[2K', ''); // it clears the line first (npm's spinner)
    expect(onTerminal).toMatch(/^prism-whisper: using the prebuilt binary .* nothing to compile/m);
    expect(readFileSync(log, 'utf8')).toMatch(/^prism-whisper: using the prebuilt binary/m); // and in npm's log of the script
  });

  it('a prebuilt binary that does not load (corrupt): a build from source, and what it needs when the tools are missing', () => {
    writeFileSync(join(pkg, 'prebuilds', prebuilds, 'prism-whisper.napi.node'), 'not a shared library');
    const r = install();
    expect(r.out).toMatch(/compiling the native addon \(the prebuilt binary does not load here \(.*\)\) needs cmake and a C\+\+ compiler/);
    expect(r.out).toMatch(/sudo apt install cmake g\+\+/);
    expect(r.code).toBe(1);
  });

  it('no prebuilt binary for this platform: says so', () => {
    rmSync(join(pkg, 'prebuilds'), { recursive: true, force: true });
    const r = install();
    expect(r.out).toMatch(new RegExp(`compiling the native addon \\(there is no prebuilt binary for ${prebuilds}\\) needs cmake`));
    expect(r.code).toBe(1);
  });

  it('PRISM_CUDA=1 says what it needs before it starts, and names the missing toolkit', () => {
    const r = install({ PRISM_CUDA: '1' });
    expect(r.out).toMatch(/PRISM_CUDA=1 builds whisper\.cpp with CUDA: it needs the CUDA toolkit \(nvcc and cuBLAS.*takes several minutes/);
    expect(r.out).toMatch(/nvcc is not on PATH .* install the CUDA toolkit/);
    expect(r.code).toBe(1);
  });

  it('--build-from-source (npm_config_build_from_source) compiles even when a binary loads', () => {
    mkdirSync(join(pkg, 'prebuilds', prebuilds), { recursive: true });
    copyFileSync(join(root, 'build', 'Release', 'prism_whisper.node'), join(pkg, 'prebuilds', prebuilds, 'prism-whisper.napi.node'));
    const r = install({ npm_config_build_from_source: 'true' });
    expect(r.out).toMatch(/compiling the native addon \(a build from source was asked for\) needs cmake/);
    expect(r.code).toBe(1);
  });
});
