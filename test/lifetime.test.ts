/**
 * Native lifetime as a library user meets it: a process that exits in the middle of a transcription,
 * and a model that is dropped without close(). Each runs in a child process (an exit or a crash there
 * fails this test instead of ending the runner).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { models, root } from './helpers.js';

const index = pathToFileURL(join(root, 'dist', 'index.js')).href;
const run = (script: string, flags: string[] = []) => spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });

describe('native lifetime', () => {
  it('process.exit() in the middle of a transcription ends the process at once, not after the transcription', () => {
    // Calibrated in the same child: D is how long the whole 2-minute clip takes; the exit comes at its
    // first segment, with three 30 s windows still to go (~3/4 of D) had it not been aborted.
    const script = `
      import { loadModel, readAudio, samplePath } from ${JSON.stringify(index)};
      const m = await loadModel(${JSON.stringify(models().tiny)}, { gpu: 'cpu', states: 1 });
      const jfk = await readAudio(samplePath());
      const clip = new Float32Array(16000 * 120);
      for (let at = 0; at + jfk.length <= clip.length; at += jfk.length) clip.set(jfk, at);
      const t0 = performance.now();
      await m.transcribe(clip, { audioCtx: 1500 });
      console.log('D ' + (performance.now() - t0));
      let exiting = false;
      m.transcribe(clip, { audioCtx: 1500, onSegment: () => {
        if (exiting) return;
        exiting = true;
        console.log('exit ' + Date.now());
        process.exit(0);
      } });
    `;
    const r = run(script);
    const ended = Date.now();
    expect(r.status, r.stderr).toBe(0);
    const d = Number(/D ([\d.]+)/.exec(r.stdout)?.[1]);
    const exitAt = Number(/exit (\d+)/.exec(r.stdout)?.[1]);
    const delay = ended - exitAt;
    console.log(`the whole clip ${d.toFixed(0)} ms; exit() → process gone ${delay} ms`);
    expect(d).toBeGreaterThan(0);
    expect(delay).toBeLessThan(d / 3);
  }, 150_000);

  it('a model dropped without close() is freed by garbage collection', () => {
    // RSS: V8's own statistics leave out the memory the addon reports to it (AdjustExternalMemory, which
    // the finalizer takes back), so what the user sees is what is checked
    const script = `
      import { loadModel } from ${JSON.stringify(index)};
      const rss = () => process.memoryUsage().rss;
      const settle = async () => { for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); } };
      await settle();
      const before = rss();
      let m = await loadModel(${JSON.stringify(models().tiny)}, { gpu: 'cpu', states: 1 });
      const reported = m.info.memory.modelBytes + m.info.memory.stateBytes;
      const loaded = rss();
      m = undefined;
      await settle();
      console.log(JSON.stringify({ before, loaded, after: rss(), reported }));
    `;
    const r = run(script, ['--expose-gc']);
    expect(r.status, r.stderr).toBe(0);
    const { before, loaded, after, reported } = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { before: number; loaded: number; after: number; reported: number };
    console.log(
      `RSS ${(before / 2 ** 20).toFixed(0)} → loaded ${(loaded / 2 ** 20).toFixed(0)} → collected ${(after / 2 ** 20).toFixed(0)} MiB (reported ${(reported / 2 ** 20).toFixed(0)} MiB)`,
    );
    expect(loaded - before).toBeGreaterThan(70 * 2 ** 20); // the weights, at least
    // under AddressSanitizer (npm run test:asan) freed memory stays in its quarantine: ASan checks the frees
    if (!process.env.PRISM_SANITIZED) expect(after - before).toBeLessThan((loaded - before) * 0.3);
  }, 150_000);
});
