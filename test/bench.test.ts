/** `prism-dictate bench --quick`: the structure of what it reports, never its speed. */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BenchResult } from '../lib/bench/main.js';
import { parseCliTimings } from '../lib/bench/upstream.js';
import { root } from './helpers.js';

describe('prism-dictate bench --quick', () => {
  it('measures every section and prints the tables', async () => {
    const home = await mkdtemp(join(tmpdir(), 'prism-bench-'));
    const json = join(home, 'bench.json');
    const started = performance.now();
    const r = spawnSync(process.execPath, [join(root, 'bin', 'prism-dictate.js'), 'bench', '--quick', '--gpu', 'cpu', '--json', json], {
      env: { ...process.env, PRISM_DICTATE_HOME: home },
      encoding: 'utf8',
      timeout: 240_000,
    });
    expect(r.stderr).not.toMatch(/prism-dictate: /);
    expect(r.status).toBe(0);
    console.log(`bench --quick took ${((performance.now() - started) / 1000).toFixed(0)} s`);
    const result = JSON.parse(await readFile(json, 'utf8')) as BenchResult;
    expect(result.quick).toBe(true);
    expect(result.machine).toMatchObject({ whisperVersion: '1.9.1', cores: expect.any(Number) });
    expect(result.sizes.map((s) => s.size)).toEqual(['tiny']);
    const tiny = result.sizes[0];
    expect(tiny?.backend).toBe('cpu');
    expect(tiny?.cold[0]).toMatchObject({ ratioToWarm: 1 });
    const coldRows = [expect.stringMatching(/warm/), expect.stringMatching(/whisper-cli/), expect.stringMatching(/cold node process/)];
    expect(tiny?.cold.map((c) => c.what)).toEqual([...coldRows, ...coldRows]);
    expect(tiny?.cold.map((c) => c.window)).toEqual(['full', 'full', 'full', 'auto', 'auto', 'auto']);
    expect(tiny?.cold[2]?.ratioToWarm).toBeGreaterThan(0);
    expect(tiny?.cold[5]?.ratioToWarm).toBeGreaterThan(0);
    expect(tiny?.engine.map((e) => `${e.window}/${e.decoding}`)).toEqual(['full/greedy', 'full/beam 5', 'auto/greedy', 'auto/beam 5']);
    for (const e of tiny?.engine ?? []) {
      expect(e.tokens).toBe(27);
      expect(e.encodeMs.n).toBe(3);
      expect(e.encodeMs.p50).toBeGreaterThan(0);
      expect(e.msPerToken).toBeGreaterThan(0);
      expect(e.loopGapMs).toBeGreaterThanOrEqual(0);
    }
    expect(tiny?.concurrency.map((c) => c.streams)).toEqual([1, 2]);
    expect(tiny?.priority).toMatchObject({ clients: 16, states: 2, interactiveQueueMs: { n: 3 }, batchQueueMs: { n: 3 } });
    // ours against upstream's whisper-cli in the same run (when build-ref has it: the reference test builds it)
    const up = tiny?.upstream;
    if (typeof up === 'string') expect(up).toMatch(/whisper-cli not built/);
    else {
      expect(up?.[0]?.what).toMatch(/upstream whisper-cli/);
      expect(up?.filter((u) => u.what.startsWith('prism')).map((u) => u.states)).toEqual([1, 2]);
      const patched = up?.find((u) => /patched/.test(u.what)); // when build-ref-patched exists (the reference test builds it)
      if (patched) expect(patched.sampleMsPerToken).toBeGreaterThan(0);
      for (const u of up ?? []) expect(u.afterEncodeMsPerToken).toBeGreaterThan(0);
      console.log(`after-encode ms/token, upstream / prism 1 state / 2 states: ${up?.map((u) => u.afterEncodeMsPerToken.toFixed(2)).join(' / ')}`);
    }
    expect(tiny?.concurrency[0]?.speedup).toBe(1);
    expect(tiny?.pipeline.utterances).toBeGreaterThanOrEqual(6);
    expect(Object.keys(tiny?.pipeline.stages ?? {})).toEqual(['endOfSpeech', 'queue', 'mel', 'encode', 'decode', 'textReady', 'speechEndToText']);
    // the daemon's VAD decided each end after the configured hangover (500 ms), to the frame
    expect(tiny?.pipeline.stages.endOfSpeech.p50).toBeGreaterThanOrEqual(500);
    expect(tiny?.pipeline.stages.endOfSpeech.p50).toBeLessThan(560);
    expect(tiny?.resources.peakRssMiB).toBeGreaterThan(0);
    expect(tiny?.resources.idleCpuPercent).toBeGreaterThanOrEqual(0);
    expect(result.alternatives).toEqual([]);
    expect(r.stdout).toContain('**Engine breakdown of a warm call**');
    expect(r.stdout).toContain('| 2 |');
  }, 300_000);
});

describe('whisper-cli timings', () => {
  it('reads whisper_print_timings, missing lines as 0, and nothing from output without them', () => {
    const text = [
      'whisper_print_timings:     load time =    60.01 ms',
      'whisper_print_timings:      mel time =    35.47 ms',
      'whisper_print_timings:   sample time =    16.59 ms /     1 runs (    16.59 ms per run)',
      'whisper_print_timings:   encode time =   725.42 ms /     1 runs (   725.42 ms per run)',
      'whisper_print_timings:   decode time =    80.53 ms /    26 runs (     3.10 ms per run)',
      'whisper_print_timings:   batchd time =    63.32 ms /     3 runs (    21.11 ms per run)',
      'whisper_print_timings:    total time =  1421.81 ms',
    ].join('\n');
    expect(parseCliTimings(text)).toEqual({ mel: 35.47, sample: 16.59, encode: 725.42, decode: 80.53, batchd: 63.32, prompt: 0, total: 1421.81 });
    expect(parseCliTimings('error: failed to open model')).toBeUndefined();
  });
});
