#!/usr/bin/env node
// The library checks of the test suite, as a plain script (the GPU machine has no node_modules for
// vitest): node bench/gpu/check.mjs --gpu cuda --model tiny.bin --audio jfk.wav
// Ends with "N passed, M failed"; exits non-zero on any failure.
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { AbortError, loadModel, readAudio } from '../../dist/index.js';

const { values: args } = parseArgs({ options: { gpu: { type: 'string', default: 'cuda' }, model: { type: 'string' }, audio: { type: 'string' } } });
const SCRIPT = 'and so my fellow americans ask not what your country can do for you ask what you can do for your country the quick brown';
const jfk = await readAudio(args.audio);
let passed = 0;
let failed = 0;
async function check(name, fn) {
  const t0 = performance.now();
  try {
    await fn();
    passed++;
    console.log(`ok   ${name} (${(performance.now() - t0).toFixed(0)} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}

const model = await loadModel(args.model, { gpu: args.gpu, states: 2 });
console.log(JSON.stringify(model.info));

await check(`backend is ${args.gpu}`, () => {
  if (args.gpu === 'cuda') assert.match(model.info.backend, /^cuda:\d+$/);
  else assert.equal(model.info.backend, 'cpu');
  assert.equal(model.info.fallback, undefined);
  assert.ok(model.info.memory.modelBytes > 77e6 && model.info.memory.stateBytes > 0);
});
await check('text, segments, timings', async () => {
  const t = await model.transcribe(jfk);
  assert.equal(t.text, SCRIPT);
  assert.equal(t.segments.length, 1);
  assert.deepEqual([t.segments[0].t0Ms, t.segments[0].t1Ms], [0, 11000]);
  assert.equal(t.timings.tokens, 27);
  assert.ok(t.timings.encodeMs > 0 && t.timings.decodeMs > 0 && t.timings.totalMs >= t.timings.encodeMs);
  assert.equal(t.backend, model.info.backend);
});
await check('same text as the CPU backend (greedy, beam, no timestamps, auto window)', async () => {
  const cpu = await loadModel(args.model, { gpu: 'cpu', warmup: false });
  for (const o of [{}, { greedy: false, beamSize: 5 }, { noTimestamps: true }, { audioCtx: 'auto' }, { language: 'auto' }]) {
    const [a, b] = [await model.transcribe(jfk, o), await cpu.transcribe(jfk, o)];
    assert.equal(a.text, b.text, JSON.stringify(o));
    assert.equal(a.language, b.language);
  }
  await cpu.close();
});
await check('deterministic', async () => {
  const [a, b] = [await model.transcribe(jfk), await model.transcribe(jfk)];
  assert.deepEqual(a.segments, b.segments);
});
await check('onSegment streams before the promise resolves', async () => {
  const seen = [];
  const t = await model.transcribe(jfk, { onSegment: (s) => seen.push(s) });
  assert.deepEqual(seen, t.segments);
});
await check('4 concurrent calls on 2 states equal sequential ones', async () => {
  const clips = [jfk, jfk.subarray(0, 80000), jfk.subarray(48000), jfk];
  const opts = [{}, { noTimestamps: true }, { language: 'auto' }, { audioCtx: 'auto' }];
  const seq = [];
  for (let i = 0; i < 4; i++) seq.push(await model.transcribe(clips[i], opts[i]));
  const con = await Promise.all(clips.map((c, i) => model.transcribe(c, opts[i])));
  assert.deepEqual(
    con.map((r) => [r.text, r.segments]),
    seq.map((r) => [r.text, r.segments]),
  );
});
await check('abort rejects with AbortError and the model stays usable', async () => {
  const ac = new AbortController();
  const p = model.transcribe(jfk, { signal: ac.signal, greedy: false, beamSize: 5 });
  setTimeout(() => ac.abort(), 5);
  const t0 = performance.now();
  await assert.rejects(p, (e) => e instanceof AbortError);
  console.log(`     abort → AbortError ${(performance.now() - t0).toFixed(1)} ms`);
  assert.equal((await model.transcribe(jfk)).text, SCRIPT);
});
await check('bad audio is BAD_AUDIO', async () => {
  await assert.rejects(model.transcribe(new Float32Array(0)), { code: 'BAD_AUDIO' });
  await assert.rejects(model.transcribe(Float32Array.of(Number.NaN, ...new Float32Array(2000))), { code: 'BAD_AUDIO' });
});
await check('close waits for in-flight work; later calls are CLOSED', async () => {
  const running = model.transcribe(jfk);
  await model.close();
  assert.equal((await running).text, SCRIPT);
  await assert.rejects(model.transcribe(jfk), { code: 'CLOSED' });
});
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
