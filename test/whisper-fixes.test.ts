/**
 * whisper.cpp's own checks (deps/patches/0009-0011), met through the addon with no JS check in front
 * (loadModel() inspects the file and transcribe() refuses < 100 ms first; the addon does neither):
 * very short audio whose buffer ends where memory ends, and model files with malformed tensor
 * headers. Each case runs in a child process: without the patches it crashes there (SIGSEGV),
 * which fails the test instead of ending the runner. `npm run test:asan` runs this file too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkPcmShape } from '../lib/audio/check.js';
import { inspectModelFile } from '../lib/models/inspect.js';
import { nativeOrigin } from '../lib/native.js';
import { models } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'prism-whisper-fixes-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// the addon as lib/native.ts loads it (the same binary, its CPU backends where they are separate)
const prelude = (binary: string) => `
  import { createRequire } from 'node:module';
  import { existsSync, readdirSync } from 'node:fs';
  import { dirname, join } from 'node:path';
  const file = ${JSON.stringify(binary)};
  const addon = createRequire(import.meta.url)(file);
  if (addon.backendDl) {
    const dir = [dirname(file), join(dirname(file), '..', 'bin')].find((d) => existsSync(d) && readdirSync(d).some((f) => f.includes('ggml-cpu')));
    addon.loadBackends(dir);
  }
  const load = (path) => addon.load({ path, gpu: 'cpu', device: 0, states: 1, flashAttn: true, warmup: false, warmupThreads: 1 });
`;

interface Child {
  status: number | null;
  signal: NodeJS.Signals | null;
  out: unknown;
  stderr: string;
}

function child(script: string): Child {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', prelude(nativeOrigin().file) + script], { encoding: 'utf8', timeout: 120_000 });
  const line = r.stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('RESULT '));
  return { status: r.status, signal: r.signal, out: line ? JSON.parse(line.slice(7)) : undefined, stderr: r.stderr.slice(-2000) };
}

describe('very short audio reaches whisper_full (deps/patches/0009, upstream 8631825d4)', () => {
  // The samples end at the last float of a WebAssembly memory, followed by pages V8 keeps unmapped:
  // the unpatched mel reflected samples[1..200] whatever n, and read into them (SIGSEGV for n <= 200).
  it.each([1, 2, 100, 200, 201])(
    '%i samples at the end of mapped memory: an empty transcript, no read past them',
    (n) => {
      const r = child(`
      const model = await load(${JSON.stringify(models().tiny)});
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
      const pcm = new Float32Array(memory.buffer, memory.buffer.byteLength - 4 * ${n}, ${n});
      for (let i = 0; i < pcm.length; i++) pcm[i] = 0.25 * Math.sin(i / 3);
      const t = await model.transcribe(0, pcm, { language: 'en', threads: 1 }, undefined, 1);
      await model.close();
      console.log('RESULT ' + JSON.stringify({ text: t.text, segments: t.segments.length }));
    `);
      expect({ status: r.status, signal: r.signal }, r.stderr).toEqual({ status: 0, signal: null });
      // whisper_full's own minimum (100 ms) answers: nothing transcribed, no error
      expect(r.out).toEqual({ text: '', segments: 0 });
    },
    150_000,
  );

  it('the library refuses such audio before the addon: transcribe() checks 100 ms (1600 samples) first', () => {
    for (const n of [1, 200, 1599]) expect(() => checkPcmShape(new Float32Array(n), 3600)).toThrow(expect.objectContaining({ code: 'BAD_AUDIO' }));
    expect(checkPcmShape(new Float32Array(1600), 3600)).toHaveLength(1600);
  });
});

/** The tiny test model up to its first tensor, then `size` bytes of that tensor (header, dims, name, data) as `header` edits them. */
function malformed(name: string, header: (view: DataView) => void, size: number): string {
  const file = readFileSync(models().tiny);
  let at = 4 + 11 * 4;
  const nMel = file.readInt32LE(at);
  const nFft = file.readInt32LE(at + 4);
  at += 8 + nMel * nFft * 4;
  const words = file.readInt32LE(at);
  at += 4;
  for (let i = 0; i < words; i++) at += 4 + file.readUInt32LE(at);
  // the first tensor as the file has it: n_dims, name length, type, dims, name, data
  const tensor = Buffer.from(file.subarray(at, at + size));
  header(new DataView(tensor.buffer, tensor.byteOffset, tensor.byteLength));
  const path = join(work, `${name}.bin`);
  writeFileSync(path, Buffer.concat([file.subarray(0, at), tensor]));
  return path;
}

/** n_dims = n, and every int after the header (its dimensions, the name, the data) 1 */
const dims = (n: number) => (view: DataView) => {
  view.setInt32(0, n, true);
  for (let o = 12; o + 4 <= view.byteLength; o += 4) view.setInt32(o, 1, true);
};

describe('malformed tensor headers reach whisper.cpp’s loader (deps/patches/0010, upstream df1547b6f; 0011)', () => {
  const cases: [string, (v: DataView) => void, number, RegExp][] = [
    // n_dims dimensions were read into int32_t ne[4]: 4096 wrote 16 KB of the file over the stack
    ['n_dims 4096', dims(4096), 12 + 4 * 4096 + 64, /invalid n_dims 4096/],
    // n_dims 5 wrote one int past ne[4], silently; -1 skipped the dimensions and read them as the name
    ['n_dims 5', dims(5), 12 + 4 * 5 + 64, /invalid n_dims 5/],
    ['n_dims -1', (v) => v.setInt32(0, -1, true), 4096, /invalid n_dims -1/],
    // the type indexed ggml's type table unchecked (SIGSEGV)
    ['type 0x7fffffff', (v) => v.setInt32(8, 0x7fffffff, true), 4096, /invalid tensor type 2147483647/],
    ['type -100000000', (v) => v.setInt32(8, -100000000, true), 4096, /invalid tensor type -100000000/],
    // a 2 GiB name buffer and then a copy of it (4.1 GiB peak, 28 s) before the name was found unknown
    ['name length 0x7fffffff', (v) => v.setInt32(4, 0x7fffffff, true), 4096, /invalid tensor name length 2147483647/],
  ];
  it.each(cases)(
    '%s: MODEL_INVALID naming the fault, the process alive',
    (name, header, size, why) => {
      const path = malformed(name.replace(/\W+/g, '-'), header, size);
      const r = child(`
      let out;
      try {
        await load(${JSON.stringify(path)});
        out = { loaded: true };
      } catch (e) {
        out = { code: e.code, message: e.message };
      }
      out.maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
      console.log('RESULT ' + JSON.stringify(out));
    `);
      expect({ status: r.status, signal: r.signal }, r.stderr).toEqual({ status: 0, signal: null });
      const out = r.out as { code?: string; message?: string; maxRssMiB: number };
      expect(out.code, JSON.stringify(out)).toBe('MODEL_INVALID');
      expect(out.message).toMatch(why);
      // refused at the header: nothing near the 2 GiB a name length could ask for (ASan's shadow aside)
      if (!process.env.PRISM_SANITIZED) expect(out.maxRssMiB).toBeLessThan(1024);
    },
    150_000,
  );

  it.each(cases)('%s: refused by inspectModelFile, which loadModel() runs before the addon sees the file', async (name, header, size) => {
    const path = malformed(`${name.replace(/\W+/g, '-')}-js`, header, size);
    await expect(inspectModelFile(path)).rejects.toMatchObject({ code: 'MODEL_INVALID' });
  });
});
