/**
 * As a new user: `npm pack`, the tarball installed into an empty project, the README's library quick
 * start run verbatim (as .mjs, and as .ts in an ES-module project, type-checked against the installed
 * types), and `prism-dictate` from that install. The tarball carries the addon as a prebuild
 * (scripts/prebuild.mjs --from build: the binary this checkout built), so the install compiles nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JFK, root, SCRIPT_25 } from './helpers.js';

let app: string;
let cache: string;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** The README's first code block after a heading, verbatim. */
function readmeBlock(heading: string, lang: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const from = readme.indexOf(heading);
  expect(from, heading).toBeGreaterThan(-1);
  const block = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(readme.slice(from));
  expect(block, `${heading}: a ${lang} block`).not.toBeNull();
  return (block as RegExpExecArray)[1] as string;
}

function run(cmd: string, args: string[], cwd: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, PRISM_WHISPER_CACHE: cache, PRISM_DICTATE_HOME: join(app, '.home') }, timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  const work = mkdtempSync(join(tmpdir(), 'prism-fresh-'));
  app = join(work, 'app');
  cache = join(work, 'cache');
  mkdirSync(app);
  execFileSync(process.execPath, [join(root, 'scripts', 'prebuild.mjs'), '--from', 'build'], { cwd: root, stdio: 'ignore' });
  execFileSync(npm, ['pack', '--silent', '--pack-destination', work], { cwd: root, stdio: 'ignore' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz')) as string;
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', version: '1.0.0', private: true, type: 'module' }));
  const install = run(npm, ['install', '--no-audit', '--no-fund', join(work, tarball)], app);
  expect(install.code, install.err).toBe(0);
}, 600_000);

afterAll(() => {
  if (app) rmSync(join(app, '..'), { recursive: true, force: true });
});

describe('a fresh project with the packed package', () => {
  it('the README quick start runs as pasted (.mjs)', () => {
    writeFileSync(join(app, 'quickstart.mjs'), readmeBlock('## Quick start (library)', 'js'));
    const r = run(process.execPath, ['quickstart.mjs'], app);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(SCRIPT_25);
    expect(r.out).toMatch(/encodeMs/);
  });

  it('the same quick start as a .ts file type-checks against the installed types and runs', () => {
    writeFileSync(join(app, 'quickstart.ts'), readmeBlock('## Quick start (library)', 'js'));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = [
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--skipLibCheck',
      '--types',
      'node',
      '--typeRoots',
      join(root, 'node_modules', '@types'),
      'quickstart.ts',
    ];
    const compiled = run(process.execPath, [tsc, ...args], app);
    expect(compiled.code, compiled.out + compiled.err).toBe(0);
    const r = run(process.execPath, ['quickstart.js'], app);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(SCRIPT_25);
  });

  it('the CommonJS form loads it with import()', () => {
    const line = readmeBlock('From CommonJS', 'js').trim().replace(/;.*$/, ';');
    writeFileSync(join(app, 'quickstart.cjs'), `(async () => {\n${line}\nconsole.log(typeof loadModel, typeof pullModel, typeof readAudio, typeof samplePath);\n})();\n`);
    const r = run(process.execPath, ['quickstart.cjs'], app);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe('function function function function');
  });

  it.skipIf(process.platform === 'win32')('npm rebuild prism-whisper with cmake and the compiler hidden: the prebuild is used, nothing compiles', () => {
    const bin = join(app, '..', 'bin');
    mkdirSync(bin, { recursive: true });
    for (const [name, target] of [
      ['node', process.execPath],
      ['sh', '/bin/sh'],
    ] as const)
      symlinkSync(target, join(bin, name));
    const npmCli = join(dirname(process.execPath), 'npm');
    const r = spawnSync(npmCli, ['rebuild', 'prism-whisper', '--foreground-scripts'], {
      cwd: app,
      encoding: 'utf8',
      env: { HOME: process.env.HOME, PATH: bin, npm_config_cache: join(app, '..', 'npm-cache') },
      timeout: 120_000,
    });
    const out = `${r.stdout}${r.stderr}`;
    expect(r.status, out).toBe(0);
    expect(out).toMatch(/prism-whisper: using the prebuilt binary prebuilds\/\S+\/prism-whisper\.napi\.node \(it loads here\); nothing to compile/);
    expect(existsSync(join(app, 'node_modules', 'prism-whisper', 'build'))).toBe(false);
    const system = run(join(app, 'node_modules', '.bin', 'prism-dictate'), ['system'], app);
    expect(system.out).toMatch(/binary: prebuilt \(.*prebuilds/);
  });

  it('prism-dictate from that install: a test model by name, then transcribe', () => {
    const bin = join(app, 'node_modules', '.bin', 'prism-dictate');
    const pulled = run(bin, ['models', 'pull', 'test-tiny', '--quiet'], app);
    expect(pulled.code, pulled.err).toBe(0);
    const r = run(bin, ['transcribe', '--model', 'test-tiny', JFK], app);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(SCRIPT_25);
  });
});
