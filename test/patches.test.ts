/**
 * deps/patch.cmake: the patch set goes onto a copy of the pinned tree (never the tree itself), and a
 * patch that no longer applies stops the build with its name.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModel, readAudio } from '../lib/index.js';
import { JFK, models, root, SCRIPT_25, whisperDir } from './helpers.js';

const cmake = spawnSync('cmake', ['--version']).status === 0;
const work = mkdtempSync(join(tmpdir(), 'prism-patches-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const patchTree = (deps: string, dst: string) => spawnSync('cmake', [`-DSRC=${whisperDir}`, `-DDST=${dst}`, '-P', join(deps, 'patch.cmake')], { encoding: 'utf8' });

describe.skipIf(!cmake)('the whisper.cpp patch set', () => {
  it('applies every patch to a copy and leaves the pinned tree as it was', () => {
    const before = readFileSync(join(whisperDir, 'src', 'whisper.cpp'), 'utf8');
    const r = patchTree(join(root, 'deps'), join(work, 'ok'));
    expect(r.status).toBe(0);
    for (const p of readdirSync(join(root, 'deps', 'patches')).filter((f) => f.endsWith('.patch'))) expect(r.stdout).toContain(`applied deps/patches/${p}`);
    expect(readFileSync(join(work, 'ok', 'src', 'whisper.cpp'), 'utf8')).toContain('whisper_greedy_token');
    expect(readFileSync(join(whisperDir, 'src', 'whisper.cpp'), 'utf8')).toBe(before);
  });

  it('a patch that no longer applies fails, naming itself, and leaves no half-patched copy', () => {
    const deps = join(work, 'deps');
    cpSync(join(root, 'deps'), deps, { recursive: true });
    const name = '0001-greedy-sampling-fast-path.patch';
    const file = join(deps, 'patches', name);
    // the tree "changed" under one context line of the first hunk
    writeFileSync(file, readFileSync(file, 'utf8').replace('     // work container used to avoid memory allocations', '     // work container, changed upstream'));
    const r = patchTree(deps, join(work, 'bad'));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`deps/patches/${name}\\s+does not\\s+apply`));
    expect(existsSync(join(work, 'bad'))).toBe(false);
  });
});

describe('the static decoder step (deps/patches/0003)', () => {
  // the prompt pass builds one graph, the first single-token step another; every later step runs the
  // kept graph again until n_kv crosses a 32-cell boundary (jfk's ~30 positions stay below it)
  it.each([true, false])('runs the decoder graph it built again, token after token (flash attention %s)', async (flashAttn) => {
    const model = await loadModel(models().tiny, { states: 1, threads: 2, flashAttn, warmup: false });
    try {
      const pcm = await readAudio(JFK);
      for (const options of [{ temperatureFallback: false }, { beamSize: 5 }]) {
        const r = await model.transcribe(pcm, { language: 'en', ...options });
        const graphs = r.timings.decoderGraphs;
        expect(graphs, 'the addon reports the patched decoder counters').toBeDefined();
        expect(r.timings.tokens).toBeGreaterThan(20);
        expect(graphs?.built).toBeLessThanOrEqual(3);
        expect(graphs?.reused).toBeGreaterThanOrEqual(r.timings.tokens - 3);
        expect(r.text).toBe(SCRIPT_25);
      }
    } finally {
      await model.close();
    }
  });
});
