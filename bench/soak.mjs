#!/usr/bin/env node
/**
 * Memory over many dictations: the daemon's own pieces (supervisor + engine process, DictationHost with
 * its ring, VAD, history on disk with retention, output) run N dictations of jfk.wav slices, fed in
 * 20 ms blocks faster than real time after a toggle and ended by the VAD. Prints the RSS of this
 * process (the daemon's side) and of the engine process every `every` dictations, and the growth
 * after the warm-up. Run after `npm run build`:
 *
 *   node bench/soak.mjs [dictations=1000] [every=100]
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAudio } from '../dist/audio/read.js';
import { Vad } from '../dist/audio/vad.js';
import { jfkPath } from '../dist/bench/corpus.js';
import { validateConfig } from '../dist/config/load.js';
import { DictationHost } from '../dist/host/dictation.js';
import { History } from '../dist/host/history.js';
import { Output } from '../dist/host/output.js';
import { makeTestModel } from '../dist/models/generate/testModel.js';
import { servicePaths } from '../dist/service/home.js';
import { startService } from '../dist/service/start.js';

const total = Number(process.argv[2] ?? 1000);
const every = Number(process.argv[3] ?? 100);
const BLOCK = 320;
const MiB = 2 ** 20;

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

const home = await mkdtemp(join(tmpdir(), 'prism-soak-'));
const model = await makeTestModel(join(home, 'tiny.bin'), { size: 'tiny' });
const service = await startService({ model: model.path, gpu: 'cpu', states: 1, log: () => {} }, servicePaths(home));
const config = validateConfig({
  hotkey: { mode: 'toggle', enabled: false },
  history: { keep: 50 },
  output: { method: 'stdout' },
});
const vad = await Vad.create({ mode: config.vad.mode, frameMs: config.vad.frameMs });
const history = new History(join(home, 'history'), config.history);
const output = new Output(config.output, { modifiers: ['ctrl'], key: 'v' }, undefined, undefined, () => undefined);
const host = new DictationHost({ config, engine: service.supervisor, history, output, vad, log: () => {} });
host.setMicrophone(undefined);

// 2–5 s slices of jfk.wav, each followed by silence until the VAD ends it
const jfk = await readAudio(jfkPath());
const slices = [2, 3, 4, 5].map((s, i) => jfk.subarray(i * 8000, i * 8000 + s * 16000));
const silence = new Float32Array(16000 * 2);
const feed = (pcm) => {
  for (let i = 0; i < pcm.length; i += BLOCK) host.feed(pcm.subarray(i, Math.min(pcm.length, i + BLOCK)));
};
// the engine's pid: the supervisor's only child process
const enginePid = () => {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
};

const rows = [];
const t0 = performance.now();
let delivered = 0;
process.stdout.write(`soak: ${total} dictations of 2–5 s through supervisor + engine process + DictationHost (history keep 50)\n`);
process.stdout.write('| dictations | daemon side RSS MiB | engine RSS MiB | heap used MiB | elapsed s |\n|---:|---:|---:|---:|---:|\n');
for (let n = 0; n <= total; n++) {
  if (n % every === 0) {
    globalThis.gc?.();
    const row = { n, host: rssOf(process.pid) / MiB, engine: rssOf(enginePid()) / MiB, heap: process.memoryUsage().heapUsed / MiB, s: (performance.now() - t0) / 1000 };
    rows.push(row);
    process.stdout.write(`| ${n} | ${row.host.toFixed(1)} | ${row.engine.toFixed(1)} | ${row.heap.toFixed(1)} | ${row.s.toFixed(0)} |\n`);
  }
  if (n === total) break;
  feed(silence.subarray(0, 8000));
  const done = new Promise((resolve) => host.once('dictation', resolve));
  host.begin();
  feed(slices[n % slices.length]);
  for (let i = 0; i < silence.length && host.state === 'recording'; i += BLOCK) host.feed(silence.subarray(i, i + BLOCK));
  if (host.state === 'recording') host.end();
  const ev = await done;
  if (ev.record.state === 'done') delivered++;
}
host.cancel('soak over');
await host.drain();
vad.close();
await service.stop();
await rm(home, { recursive: true, force: true });

const warm = rows.find((r) => r.n >= every) ?? rows[0];
const last = rows[rows.length - 1];
const per1000 = (a, b) => ((b - a) / Math.max(1, last.n - warm.n)) * 1000;
process.stdout.write(
  `\n${delivered} of ${total} delivered. From dictation ${warm.n} to ${last.n}: daemon side ${per1000(warm.host, last.host).toFixed(1)} MiB per 1000, engine ${per1000(warm.engine, last.engine).toFixed(1)} MiB per 1000, JS heap ${per1000(warm.heap, last.heap).toFixed(1)} MiB per 1000\n`,
);
