/** prism-dictate as a person runs it: the built CLI in a child process, isolated by PRISM_DICTATE_HOME. */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostLines } from '../lib/cli/service.js';
import { vadSchema } from '../lib/config/schema.js';
import { servicePaths } from '../lib/service/home.js';
import { ServiceServer } from '../lib/service/server.js';
import { JFK, models, root, runCli, SCRIPT_10, SCRIPT_25 } from './helpers.js';

let home: string;
let server: Server;
let base: string;
let payload: Buffer;

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args, { PRISM_DICTATE_HOME: home, ...env });
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'prism-home-'));
  payload = await readFile(models().tinyEn);
  server = createServer((req, res) => {
    if (!req.url?.endsWith('.bin')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': payload.length }).end(payload);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('prism-dictate models', () => {
  it('lists the official models, none pulled yet', async () => {
    const r = await cli(['models', 'list', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { cache: string; models: Array<{ name: string; pulled: boolean }> };
    expect(out.cache).toBe(join(home, 'models'));
    expect(out.models.map((m) => m.name)).toEqual(expect.arrayContaining(['tiny', 'base.en', 'medium', 'large-v3-turbo', 'large-v3-turbo-q5_0']));
    expect(out.models.every((m) => !m.pulled)).toBe(true);
  });

  it('pulls a model by URL with a checksum, then path and rm find it', async () => {
    const sha256 = createHash('sha256').update(payload).digest('hex');
    const pulled = await cli(['models', 'pull', 'mine', '--url', `${base}/ggml-mine.bin`, '--sha256', sha256]);
    expect(pulled.stderr).toBe('');
    expect(pulled.code).toBe(0);
    const file = pulled.stdout.trim();
    expect(file).toBe(join(home, 'models', 'ggml-mine.bin'));
    expect((await cli(['models', 'path', 'mine'])).stdout.trim()).toBe(file);
    const removed = await cli(['models', 'rm', 'mine']);
    expect(removed.code).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect((await cli(['models', 'path', 'mine'])).code).toBe(3);
  });

  it('a model pulled by URL under a name is what --model NAME loads', async () => {
    const sha256 = createHash('sha256').update(payload).digest('hex');
    const pulled = await cli(['models', 'pull', 'named', '--url', `${base}/ggml-mine.bin`, '--sha256', sha256]);
    expect(pulled.code).toBe(0);
    // the payload is the tiny.en test model (a 10-word planted script): it loads and says it
    const r = await cli(['transcribe', '--model', 'named', '--gpu', 'cpu', JFK]);
    expect(r.stderr).not.toMatch(/MODEL_NOT_FOUND|not found/);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(SCRIPT_10);
    await cli(['models', 'rm', 'named']);
  });

  it('a name with separators or ".." never reaches outside the cache (rm, path, pull): exit 2', async () => {
    const victim = join(home, 'precious.bin');
    writeFileSync(victim, 'keep me');
    for (const name of ['../precious', 'x/../../precious', '..', '/tmp/x', 'a\\b']) {
      for (const args of [
        ['rm', name],
        ['path', name],
        ['pull', name, '--url', `${base}/ggml-mine.bin`, '--sha256', '0'.repeat(64)],
      ]) {
        const r = await cli(['models', ...args]);
        expect(r.code, `models ${args.join(' ')}`).toBe(2);
        expect(r.stderr).toMatch(/not a usable model name/);
      }
    }
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
  });

  it('refuses a download whose checksum is wrong (exit 5) and leaves nothing behind', async () => {
    const r = await cli(['models', 'pull', 'tiny.en', '--quiet'], { PRISM_MODEL_BASE_URL: base });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/checksum mismatch.*CHECKSUM_MISMATCH/s);
    expect(existsSync(join(home, 'models', 'ggml-tiny.en.bin'))).toBe(false);
    expect(existsSync(join(home, 'models', 'ggml-tiny.en.bin.part'))).toBe(false);
  });

  it('explains unknown names and missing arguments', async () => {
    const unknown = await cli(['models', 'pull', 'huge-v9']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/unknown model "huge-v9"/);
    const noSum = await cli(['models', 'pull', 'x', '--url', `${base}/x.bin`]);
    expect(noSum.code).toBe(2);
    expect(noSum.stderr).toMatch(/--sha256/);
    expect((await cli(['models', 'frobnicate'])).code).toBe(2);
  });

  it('makes a test model', async () => {
    const out = join(home, 'made.bin');
    const r = await cli(['models', 'make-test', 'tiny', '--english', '--script', 'hello,world', '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ path: out, size: 'tiny', english: true, expectedText: ' hello world' });
  });
});

describe('the first run: no model yet', () => {
  it('test models by name: pulled (made here), listed, and what --model test-tiny.en / ggml-test-tiny.en loads', async () => {
    const pulled = await cli(['models', 'pull', 'test-tiny.en', '--quiet']);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout.trim()).toBe(join(home, 'models', 'ggml-test-tiny.en.bin'));
    const list = await cli(['models', 'list']);
    expect(list.stdout).toMatch(/\* test-tiny\.en +\d+ MiB {2}test model \(random weights\)/);
    for (const name of ['test-tiny.en', 'ggml-test-tiny.en', 'ggml-test-tiny.en.bin']) {
      const r = await cli(['transcribe', JFK, '--model', name]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout.trim()).toBe(SCRIPT_25);
    }
  });

  it('start without a terminal and without the model: says what to run, exits 3, starts nothing', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'prism-first-'));
    try {
      const r = await cli(['start', '--no-host'], { PRISM_DICTATE_HOME: fresh, PRISM_MODEL: '' });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/model "base\.en" is not downloaded yet; run: prism-dictate models pull base\.en \(or start with --yes/);
      expect(r.stderr).not.toMatch(/stopped: on request/);
      expect(r.stderr.match(/not downloaded/g)).toHaveLength(1); // said once
      expect(existsSync(join(fresh, 'service.pid'))).toBe(false);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  it('start --yes fetches the missing model first (here from a mirror whose file fails the checksum: exit 5, the cause named, nothing left)', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'prism-first-'));
    try {
      const r = await cli(['start', '--no-host', '--yes', '--model', 'tiny.en'], { PRISM_DICTATE_HOME: fresh, PRISM_MODEL_BASE_URL: base });
      expect(r.stderr).toMatch(/downloading tiny\.en \(75 MiB\)/);
      expect(r.code).toBe(5);
      expect(r.stderr).toMatch(/checksum mismatch/);
      expect(existsSync(join(fresh, 'models', 'ggml-tiny.en.bin'))).toBe(false);
      expect(existsSync(join(fresh, 'service.pid'))).toBe(false);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });
});

describe('prism-dictate transcribe', () => {
  it('prints the text, or one JSON object per file', async () => {
    const plain = await cli(['transcribe', '--model', models().tiny, JFK]);
    expect(plain.code).toBe(0);
    expect(plain.stdout.trim()).toBe(SCRIPT_25);
    const json = await cli(['transcribe', '--json', '--audio-ctx', 'auto', '--model', models().tiny, JFK, JFK]);
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ file: JFK, text: SCRIPT_25, backend: 'cpu' });
    expect(lines[1].audioCtx).toBeLessThan(1500);
  });

  it('exit codes scripts can rely on: 3 no model, 4 bad audio', async () => {
    const noModel = await cli(['transcribe', '--model', join(home, 'nope.bin'), JFK]);
    expect(noModel.code).toBe(3);
    expect(noModel.stderr).toMatch(/not found/);
    const badAudio = await cli(['transcribe', '--model', models().tiny, join(root, 'package.json')]);
    expect(badAudio.code).toBe(4);
    expect(badAudio.stderr).toMatch(/package\.json is text, not audio/);
  });
});

describe('prism-dictate transcribe beside a running service', () => {
  /** A service that runs the tiny model (a stub that answers every request with one text), in a home of its own. */
  async function serviceOf(own: string) {
    const answer = {
      text: 'from the service',
      segments: [],
      language: 'en',
      timings: { queueMs: 0, melMs: 0, encodeMs: 0, decodeMs: 0, totalMs: 1, tokens: 0, windows: 1 },
      backend: 'cpu',
      audioMs: 11000,
      audioCtx: 1500,
    };
    const engine = { info: { backend: 'cpu', path: models().tiny, states: 1 }, busy: 0, queued: 0, transcribe: () => Promise.resolve(answer) };
    return ServiceServer.listen({ socketPath: servicePaths(own).socket, model: engine });
  }
  const lines = (out: string) =>
    out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it.skipIf(process.platform === 'win32')('answers on the service only with the model asked for; else loads it here, or fails naming both (issue 25, item 10)', async () => {
    const own = await mkdtemp(join(tmpdir(), 'prism-which-'));
    const service = await serviceOf(own);
    const env = { PRISM_DICTATE_HOME: own, PRISM_MODEL: '' };
    try {
      // base.en is not downloaded: not the service's tiny model in its stead, but exit 3 naming both
      const missing = await cli(['transcribe', '--json', '--model', 'base.en', JFK], env);
      expect(missing.stdout).toBe('');
      expect(missing.stderr).toMatch(/model "base\.en" is not downloaded yet/);
      expect(missing.stderr).toContain(`the running service (pid ${process.pid}) has another model, ${models().tiny}`);
      expect(missing.code).toBe(3);
      // another model that is there: loaded here, and said so
      const other = await cli(['transcribe', '--json', '--gpu', 'cpu', '--model', models().tinyEn, JFK], env);
      expect(other.code, other.stderr).toBe(0);
      expect(lines(other.stdout)).toEqual([expect.objectContaining({ via: 'in-process', model: models().tinyEn, text: SCRIPT_10 })]);
      // the service's model, by another path to the same file: the service answers
      const link = join(own, 'same.bin');
      symlinkSync(models().tiny, link);
      const same = await cli(['transcribe', '--json', '--model', link, JFK], env);
      expect(same.code, same.stderr).toBe(0);
      expect(lines(same.stdout)).toEqual([expect.objectContaining({ via: 'service', model: models().tiny, text: 'from the service' })]);
      // no --model: the service's model will do; the text output says which model answered (on stderr)
      const plain = await cli(['transcribe', JFK], env);
      expect(plain.code, plain.stderr).toBe(0);
      expect(plain.stdout).toBe('from the service\n');
      expect(plain.stderr).toBe(`prism-dictate: ${models().tiny} (the running service, pid ${process.pid}, cpu)\n`);
      const here = await cli(['transcribe', '--no-service', '--gpu', 'cpu', '--model', models().tinyEn, JFK], env);
      expect(here.stderr).toBe(`prism-dictate: ${models().tinyEn} (loaded here, cpu)\n`);
    } finally {
      await service.close();
      await rm(own, { recursive: true, force: true });
    }
  });
});

describe('prism-dictate system', () => {
  it('reports the backend', async () => {
    const r = await cli(['system', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ whisperVersion: '1.9.1', cudaBuild: false });
  });

  it('says what was tried and how to fix it when the addon cannot load', async () => {
    const r = await cli(['system'], { PRISM_WHISPER_BINARY: join(home, 'missing.node') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not be loaded/);
    expect(r.stderr).toMatch(/Tried: PRISM_WHISPER_BINARY/);
    expect(r.stderr).toMatch(/npm rebuild prism-whisper/);
    expect(r.stderr).toMatch(/NATIVE_MISSING/);
  });
  it('config: the effective settings from the file and the flags; a bad file names each bad setting (exit 2)', async () => {
    await writeFile(join(home, 'config.json'), JSON.stringify({ model: 'tiny.en', vad: { hangoverMs: 700 } }));
    const r = await cli(['config'], { PRISM_MODEL: '' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ model: 'tiny.en', vad: { hangoverMs: 700, mode: 3 }, hotkey: { mode: 'hybrid' } });
    expect(r.stderr).toContain(`read ${join(home, 'config.json')}`);
    const bad = join(home, 'bad.json');
    await writeFile(bad, JSON.stringify({ vad: { hangoverMs: 50 }, hotkey: { mode: 'push' } }));
    for (const args of [['config'], ['transcribe', JFK], ['start', '--detach'], ['history']]) {
      const b = await cli(['--config', bad, ...args]);
      expect(b.code, args.join(' ')).toBe(2);
      expect(b.stderr).toMatch(/bad\.json has 2 bad settings:\n/);
      expect(b.stderr).toMatch(/\n\s+vad\.hangoverMs: Too small: expected number to be >=150/);
      expect(b.stderr).toMatch(/\n\s+hotkey\.mode: Invalid option: expected one of "hold"\|"toggle"\|"hybrid"/);
    }
    await rm(join(home, 'config.json'));
  });

  it('the dictation commands say plainly when no daemon runs (exit 7); history works without one', async () => {
    for (const action of ['toggle', 'begin', 'end', 'cancel', 'repaste', 'retry']) {
      const r = await cli([action]);
      expect(r.code, action).toBe(7);
      expect(r.stderr).toMatch(/prism-dictate is not running for .* \(start it: prism-dictate start\)/);
    }
    const h = await cli(['history']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/no dictations yet/);
  });
});

describe('prism-dictate history and --help say what is true (issue 27, item 5)', () => {
  it('history lists dictations with their phrases under a header; --limit counts dictations', async () => {
    const own = await mkdtemp(join(tmpdir(), 'prism-hist-'));
    try {
      const dir = join(own, 'history');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const put = (id: string, at: string, phrase: number, text: string, dictation = 'D') =>
        writeFileSync(join(dir, `${id}.json`), JSON.stringify({ id, at, seconds: 2, state: 'done', text, settings: { dictation, phrase } }), { mode: 0o600 });
      put('20261206-100000-000-000', '2026-12-06T10:00:00.000Z', 1, 'Hello world. ');
      put('20261206-100003-000-001', '2026-12-06T10:00:03.000Z', 2, 'How are you? ');
      put('20261206-110000-000-002', '2026-12-06T11:00:00.000Z', 1, 'Later. ', 'E');
      const r = await cli(['history'], { PRISM_DICTATE_HOME: own });
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toBe(`2 dictations (3 phrases), newest first, from ${dir}`);
      expect(lines).toContainEqual(expect.stringMatching(/^time\s+length\s+state\s+text$/));
      expect(r.stdout).toMatch(/length: seconds of audio/);
      expect(r.stdout).toMatch(/4\.0 s {2}done {7}Hello world\. How are you\?\n.*phrase 1: Hello world\.\n.*phrase 2: How are you\?/);
      const one = await cli(['history', '--limit', '1', '--json'], { PRISM_DICTATE_HOME: own });
      expect((JSON.parse(one.stdout) as Array<{ text: string }>).map((x) => x.text)).toEqual(['Later. ']);
      expect((await cli(['history', '--limit', 'x'], { PRISM_DICTATE_HOME: own })).code).toBe(2);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it("start --help: --hangover-ms says what the config's vad.hangoverMs does (cuts phrases, never ends a dictation), with its range and default", async () => {
    const r = await cli(['start', '--help']);
    const help = r.stdout.replace(/\s+/g, ' ');
    const line = help.slice(help.indexOf('--hangover-ms'), help.indexOf('--engine '));
    const def = vadSchema.parse({}).hangoverMs;
    expect(line).toMatch(/cuts a dictation into phrases/);
    expect(line).toMatch(/never ends a dictation/);
    expect(line).toContain(`150–2000, default ${def}`);
    expect(line).not.toMatch(/toggle/);
  });

  it('status names each count before its number (no "1 dictations") and each stage in words', () => {
    const lines = hostLines({
      state: 'idle',
      mode: 'hybrid',
      microphone: 'ok',
      inFlight: 0,
      counts: { dictations: 1, phrases: 2, noSpeech: 0, historyErrors: 0 },
      latency: { endOfSpeech: { p50: 500, p95: 510, n: 2 } },
    });
    expect(lines[1]).toBe('counts    dictations 1, phrases 2, no speech 0, history errors 0');
    expect(lines[2]).toBe('stages    end of speech 500/510 (ms p50/p95)');
  });
});

describe('prism-dictate config init', () => {
  it('writes a commented starting file that loads to the defaults, and never overwrites one without --force', async () => {
    const own = await mkdtemp(join(tmpdir(), 'prism-init-'));
    try {
      const defaults = JSON.parse((await cli(['config'], { PRISM_DICTATE_HOME: own })).stdout);
      const r = await cli(['config', 'init'], { PRISM_DICTATE_HOME: own });
      expect(r.code).toBe(0);
      const file = join(own, 'config.json');
      expect(r.stdout.trim()).toBe(file);
      const text = readFileSync(file, 'utf8');
      expect(text).toMatch(/^\/\/ prism-dictate configuration/);
      expect(text.match(/^\s*\/\//gm)?.length).toBeGreaterThan(15);
      const loaded = await cli(['config'], { PRISM_DICTATE_HOME: own });
      expect(loaded.stderr).toMatch(`read ${file}`);
      expect(JSON.parse(loaded.stdout)).toEqual(defaults);
      // a person uncomments the microphone line: comments and all, it loads
      writeFileSync(file, text.replace('// "device": "USB",', '"device": "USB",'));
      expect(JSON.parse((await cli(['config'], { PRISM_DICTATE_HOME: own })).stdout).audio.device).toBe('USB');
      const again = await cli(['config', 'init'], { PRISM_DICTATE_HOME: own });
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/is there already; edit it, or --force to replace it/);
      expect(readFileSync(file, 'utf8')).toContain('"device": "USB"');
      expect((await cli(['config', 'init', '--force'], { PRISM_DICTATE_HOME: own })).code).toBe(0);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it.skipIf(process.platform === 'win32')('--force replaces a symbolic link (never writes through it) and a 0644 file, leaving a 0600 file', async () => {
    const own = await mkdtemp(join(tmpdir(), 'prism-init-'));
    try {
      const file = join(own, 'config.json');
      const victim = join(own, 'victim.txt');
      writeFileSync(victim, 'not yours\n', { mode: 0o644 });
      symlinkSync(victim, file);
      const refused = await cli(['config', 'init'], { PRISM_DICTATE_HOME: own });
      expect(refused.code).toBe(2); // a link is something there, even one that points nowhere useful
      expect((await cli(['config', 'init', '--force'], { PRISM_DICTATE_HOME: own })).code).toBe(0);
      expect(readFileSync(victim, 'utf8')).toBe('not yours\n');
      expect(lstatSync(file).isSymbolicLink()).toBe(false);
      expect(lstatSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toMatch(/^\/\/ prism-dictate configuration/);
      chmodSync(file, 0o644);
      expect((await cli(['config', 'init', '--force'], { PRISM_DICTATE_HOME: own })).code).toBe(0);
      expect(lstatSync(file).mode & 0o777).toBe(0o600);
      expect(readdirSync(own).sort()).toEqual(['config.json', 'victim.txt']); // no temp file left
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });
});

describe('prism-dictate start --detach', () => {
  it.skipIf(process.platform === 'win32')('with an invalid model exits as the foreground start does (4, MODEL_INVALID), not 7', async () => {
    const own = await mkdtemp(join(tmpdir(), 'prism-detach-'));
    try {
      const bad = join(own, 'bad.bin');
      writeFileSync(bad, 'not a model, just text\n'.repeat(100));
      const args = ['start', '--no-host', '--gpu', 'cpu', '--model', bad];
      const foreground = await cli(args, { PRISM_DICTATE_HOME: own });
      expect(foreground.code).toBe(4);
      expect(foreground.stderr).toMatch(/\[MODEL_INVALID\]\n$/);
      const detached = await cli([...args, '--detach'], { PRISM_DICTATE_HOME: own });
      expect(detached.code, detached.stderr).toBe(4);
      expect(detached.stderr).toMatch(/the service exited while starting \(code 4\): .*bad\.bin is not a usable whisper\.cpp model.* \[MODEL_INVALID\]\n$/);
      expect(detached.stderr).not.toMatch(/SERVICE_UNAVAILABLE/);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });
});

describe('prism-dictate dashboard', () => {
  it.runIf(process.platform === 'linux')('--open: exit 1 and says so when no browser opens (xdg-open fails), exit 0 when one does', async () => {
    const own = await mkdtemp(join(tmpdir(), 'prism-dash-'));
    const engine = { info: { backend: 'cpu', path: 'stub.bin', states: 1 }, busy: 0, queued: 0, transcribe: () => Promise.reject(new Error('unused')) };
    const service = await ServiceServer.listen({ socketPath: servicePaths(own).socket, model: engine });
    const page = createServer((_req, res) => void res.end('dashboard'));
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', r));
    const port = (page.address() as AddressInfo).port;
    await writeFile(join(own, 'dashboard.json'), JSON.stringify({ url: `http://127.0.0.1:${port}/?token=t`, port, pid: process.pid }));
    const bin = join(own, 'bin');
    const opener = (code: number) => writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\necho "$1" > ${join(own, 'opened')}\nexit ${code}\n`, { mode: 0o755 });
    mkdirSync(bin);
    try {
      opener(3);
      const failed = await cli(['dashboard', '--open'], { PRISM_DICTATE_HOME: own, PATH: `${bin}:${process.env.PATH}` });
      expect(failed.stdout.trim()).toBe(`http://127.0.0.1:${port}/?token=t`);
      expect(failed.stderr).toMatch(/could not open a browser with xdg-open \(it exited with code 3\); open the URL above yourself/);
      expect(failed.code).toBe(1);
      opener(0);
      const opened = await cli(['dashboard', '--open'], { PRISM_DICTATE_HOME: own, PATH: `${bin}:${process.env.PATH}` });
      expect(opened.code).toBe(0);
      // the opener gets a page in the home that redirects, not the URL with its token (issue 25, item 7)
      expect(readFileSync(join(own, 'opened'), 'utf8').trim()).toBe(join(own, 'dashboard-open.html'));
      expect(readFileSync(join(own, 'dashboard-open.html'), 'utf8')).toContain(`content="0;url=http://127.0.0.1:${port}/?token=t"`);
    } finally {
      await service.close();
      await new Promise((r) => page.close(r));
      await rm(own, { recursive: true, force: true });
    }
  });

  it.skipIf(process.platform === 'win32')('does not print a URL left in dashboard.json by an earlier daemon when nothing answers on it', async () => {
    const own = await mkdtemp(join(tmpdir(), 'prism-dash-'));
    // a running service without a dashboard (dashboard.enabled false), and the file of one that died
    const engine = { info: { backend: 'cpu', path: 'stub.bin', states: 1 }, busy: 0, queued: 0, transcribe: () => Promise.reject(new Error('unused')) };
    const service = await ServiceServer.listen({ socketPath: servicePaths(own).socket, model: engine });
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    await writeFile(join(own, 'dashboard.json'), JSON.stringify({ url: `http://127.0.0.1:${port}/?token=old`, port, pid: 999_999 }));
    try {
      const r = await cli(['dashboard'], { PRISM_DICTATE_HOME: own });
      expect(r.stdout).toBe('');
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/has no dashboard/);
    } finally {
      await service.close();
      await rm(own, { recursive: true, force: true });
    }
  });
});
