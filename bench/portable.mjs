#!/usr/bin/env node
// The portable prebuild against this machine's source build, side by side in one run: warm jfk, tiny
// test model, the auto window, greedy, 2 threads; each binary in its own process (PRISM_WHISPER_BINARY),
// rounds alternating, medians of the calls. Prints each round and the ratio portable / source.
//   node bench/portable.mjs [portable.node] [source.node] [--rounds 3] [--calls 7]
// Defaults: prebuilds/<platform>-<arch>/prism-whisper.napi.node and build/Release/prism_whisper.node.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const files = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
const portable = files[0] ?? join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'prism-whisper.napi.node');
const source = files[1] ?? join(root, 'build', 'Release', 'prism_whisper.node');
const rounds = flag('--rounds', 3);
const calls = flag('--calls', 7);

const child = `
  import { loadModel, pullModel, readAudio, samplePath } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
  import { readFileSync } from 'node:fs';
  const m = await loadModel(await pullModel('test-tiny'), { gpu: 'cpu', states: 1, threads: 2 });
  const pcm = await readAudio(samplePath());
  const wall = [], decode = [];
  for (let i = 0; i < ${calls}; i++) {
    const t = await m.transcribe(pcm, { audioCtx: 'auto', temperatureFallback: false });
    wall.push(t.timings.totalMs);
    decode.push(t.timings.decodeMs / t.timings.tokens);
  }
  const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
  const variant = /libggml-cpu-([\\w.-]+?)\\.so/.exec(readFileSync('/proc/self/maps', 'utf8'))?.[1] ?? 'one CPU backend, built in';
  console.log(JSON.stringify({ wall: median(wall), decode: median(decode), variant }));
  await m.close();
`;

function measure(binary) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8', env: { ...process.env, PRISM_WHISPER_BINARY: binary } });
  if (r.status !== 0) throw new Error(`${binary}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

const seen = { portable: [], source: [] };
for (let round = 1; round <= rounds; round++) {
  for (const [name, binary] of [
    ['portable', portable],
    ['source', source],
  ]) {
    const m = measure(binary);
    seen[name].push(m);
    console.log(`round ${round} ${name.padEnd(8)} warm jfk ${m.wall.toFixed(1)} ms, decode ${m.decode.toFixed(2)} ms/token (${m.variant})`);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const p = median(seen.portable.map((m) => m.wall));
const s = median(seen.source.map((m) => m.wall));
console.log(`portable / source, warm call: ${(p / s).toFixed(3)} (${p.toFixed(1)} vs ${s.toFixed(1)} ms, medians of ${rounds} rounds)`);
