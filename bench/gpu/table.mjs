#!/usr/bin/env node
// Load time, warm transcription of jfk (planted 25-word script, greedy) and the throughput of 1/2/4
// concurrent states, per model size, in one run:
//   node bench/gpu/table.mjs --gpu cuda --models DIR --sizes "medium large-v3-turbo" --audio jfk.wav [--json F]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, readAudio } from '../../dist/index.js';

const { values: args } = parseArgs({
  options: {
    gpu: { type: 'string', default: 'cuda' },
    models: { type: 'string' },
    sizes: { type: 'string', default: 'medium large-v3-turbo' },
    audio: { type: 'string' },
    runs: { type: 'string', default: '15' },
    json: { type: 'string' },
  },
});
const jfk = await readAudio(args.audio);
const runs = Number(args.runs);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
const rows = [];

for (const size of args.sizes.split(/\s+/).filter(Boolean)) {
  const path = join(args.models, `${size}.bin`);
  const t0 = performance.now();
  const model = await loadModel(path, { gpu: args.gpu, states: 4 });
  const loadMs = performance.now() - t0;
  const row = { size, backend: model.info.backend, device: model.info.device, loadMs, modelLoadMs: model.info.loadMs, warmupMs: model.info.warmupMs };
  for (const [label, audioCtx] of [
    ['full', undefined],
    ['auto', 'auto'],
  ]) {
    const total = [];
    const enc = [];
    const dec = [];
    let tokens = 0;
    for (let i = 0; i < runs; i++) {
      const t = await model.transcribe(jfk, { audioCtx });
      total.push(t.timings.totalMs);
      enc.push(t.timings.encodeMs);
      dec.push(t.timings.decodeMs);
      tokens = t.timings.tokens;
    }
    row[label] = { p50: median(total), spread: spread(total), encodeP50: median(enc), decodeP50: median(dec), msPerToken: median(dec) / tokens };
  }
  // Aggregate throughput with N concurrent streams, each transcribing jfk `per` times.
  const per = Math.max(4, Math.floor(runs / 2));
  const throughput = {};
  for (const n of [1, 2, 4]) {
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: n }, async () => {
        for (let i = 0; i < per; i++) await model.transcribe(jfk, { audioCtx: 'auto' });
      }),
    );
    throughput[n] = (n * per * 11) / ((performance.now() - t1) / 1000); // audio seconds per wall second
  }
  row.throughput = throughput;
  row.speedup = { 2: throughput[2] / throughput[1], 4: throughput[4] / throughput[1] };
  rows.push(row);
  await model.close();
}

console.log(`\njfk.wav (11 s), planted 25-word script, greedy; ${runs} runs each; medians (min–max)`);
console.log('| model | backend | load ms (warm-up) | warm full ms | enc / dec ms | ms/token | warm auto ms | x1 audio s/s | 2 states | 4 states |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.size} | ${r.backend} | ${r.loadMs.toFixed(0)} (${r.warmupMs.toFixed(0)}) | ${r.full.p50.toFixed(1)} (${r.full.spread}) | ${r.full.encodeP50.toFixed(1)} / ${r.full.decodeP50.toFixed(1)} | ${r.full.msPerToken.toFixed(2)} | ${r.auto.p50.toFixed(1)} (${r.auto.spread}) | ${r.throughput[1].toFixed(1)} | ${r.speedup[2].toFixed(2)}× | ${r.speedup[4].toFixed(2)}× |`,
  );
}
if (args.json) writeFileSync(args.json, JSON.stringify(rows, null, 2));
