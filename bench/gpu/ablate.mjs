#!/usr/bin/env node
// Where a warm GPU call's time goes, one knob at a time, in one run: jfk (planted 25-word script,
// greedy, auto window) on one state, per model size, with CPU threads 4 / 16 (mel and sampling run
// on the CPU) and with timestamps on / off (the timestamp rules walk the whole vocabulary per token).
// Then upstream whisper-cli's own timing lines for the same model and audio (sample vs decode time).
//   node bench/gpu/ablate.mjs --gpu cuda --models DIR --sizes "medium large-v3-turbo" --audio jfk.wav --cli PATH
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, readAudio } from '../../dist/index.js';

const { values: args } = parseArgs({
  options: {
    gpu: { type: 'string', default: 'cuda' },
    models: { type: 'string' },
    sizes: { type: 'string', default: 'medium large-v3-turbo' },
    audio: { type: 'string' },
    cli: { type: 'string' },
    runs: { type: 'string', default: '11' },
  },
});
const jfk = await readAudio(args.audio);
const runs = Number(args.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`| model | threads | timestamps | total ms | mel | encode | decode | ms/token | (p50 of ${runs}) |`);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const size of args.sizes.split(/\s+/).filter(Boolean)) {
  const path = join(args.models, `${size}.bin`);
  for (const threads of [4, 16]) {
    const model = await loadModel(path, { gpu: args.gpu, states: 1, threads });
    for (const noTimestamps of [false, true]) {
      const t = { totalMs: [], melMs: [], encodeMs: [], decodeMs: [] };
      let tokens = 0;
      for (let i = 0; i < runs; i++) {
        const r = await model.transcribe(jfk, { audioCtx: 'auto', greedy: true, noTimestamps });
        for (const k of Object.keys(t)) t[k].push(r.timings[k]);
        tokens = r.timings.tokens;
      }
      const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
      console.log(
        `| ${size} | ${threads} | ${noTimestamps ? 'off' : 'on'} | ${m.totalMs.toFixed(1)} | ${m.melMs.toFixed(1)} | ${m.encodeMs.toFixed(1)} | ${m.decodeMs.toFixed(1)} | ${(m.decodeMs / tokens).toFixed(2)} | ${tokens} tokens |`,
      );
    }
    await model.close();
  }
}
if (args.cli) {
  for (const size of args.sizes.split(/\s+/).filter(Boolean)) {
    for (const extra of [[], ['-nt']]) {
      const r = spawnSync(args.cli, ['-m', join(args.models, `${size}.bin`), '-f', args.audio, '-l', 'en', '-bs', '1', '-t', '4', '-ac', '640', ...extra], { encoding: 'utf8' });
      const lines = (r.stderr ?? '').split('\n').filter((l) => /whisper_print_timings/.test(l));
      console.log(`\nwhisper-cli ${size} -bs 1 -ac 640 ${extra.join(' ')} (exit ${r.status}):\n${lines.join('\n')}`);
    }
  }
}
