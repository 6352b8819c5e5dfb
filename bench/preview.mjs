#!/usr/bin/env node
// The daemon's live preview (issue 28): release → text with preview.enabled on and off, in ONE run —
// the same build, the same model loaded once, the same espeak-ng sentences, alternating on/off (on, off,
// off, on, …) so that a change of load hits both. The dictation host (dist/) is fed the audio in real
// time, 20 ms blocks as capture delivers them, held (begin … end, as push-to-talk); the engine is the
// model in this process, wrapped to time each decode. Printed per mode: release → text p50/p95, of which
// release → the final's decode started (the wait a preview could add: its abort) and the final's decode;
// previews per dictation; CPU of this process per second of audio.
// Run after npm run build:
//   node bench/preview.mjs [--model PATH] [--rounds 3] [--threads N] [--engine child|inprocess]
// --engine child (default): the model in an engine process behind the supervisor, as the daemon has it;
// inprocess: the model loaded in this process.
// --model: a ggml file (default: the test model, ggml-test-tiny.bin, under ~/.cache/prism-whisper/models).
// The random-weight test model emits a planted script for any audio: it times the mechanics, not the
// words (a PRISM_MODEL-style real model shows the same release path with real decode times).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: join(homedir(), '.cache', 'prism-whisper', 'models', 'ggml-test-tiny.bin') },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string' },
    engine: { type: 'string', default: 'child' },
  },
});
const dist = new URL('../dist/', import.meta.url);
const { loadModel } = await import(new URL('index.js', dist).href);
const { readAudio } = await import(new URL('audio/read.js', dist).href);
const { Vad } = await import(new URL('audio/vad.js', dist).href);
const { validateConfig } = await import(new URL('config/load.js', dist).href);
const { DictationHost } = await import(new URL('host/dictation.js', dist).href);
const { History } = await import(new URL('host/history.js', dist).href);
const { Output } = await import(new URL('host/output.js', dist).href);

const SENTENCES = [
  'The meeting moved to Thursday at three, so please tell everyone on the team before lunch.',
  'Before the release goes out on Monday morning we still need the final numbers from finance.',
  'Could you check whether the build is green and send the report to the whole team today?',
];
const speech = [];
for (const s of SENTENCES) speech.push(await readAudio(execFileSync('espeak-ng', ['-v', 'en-us', '--stdout', s])));

const { Supervisor } = await import(new URL('service/supervisor.js', dist).href);
const home = mkdtempSync(join(tmpdir(), 'prism-bench-preview-'));
const threads = values.threads ? { threads: Number(values.threads) } : {};
let model;
if (values.engine === 'inprocess') model = await loadModel(values.model, { gpu: 'cpu', states: 1, ...threads });
else {
  model = new Supervisor({ model: values.model, gpu: 'cpu', states: 1, ...threads, socketPath: join(home, 'engine.sock') });
  await model.start();
  model.close = () => model.stop();
}
/** the engine the host sees: the model, each decode timed */
const log = [];
const engine = {
  async transcribe(pcm, options) {
    const e = { kind: options.noTimestamps ? 'preview' : 'final', start: performance.now(), end: 0, aborted: false };
    log.push(e);
    try {
      return await model.transcribe(pcm, options);
    } catch (err) {
      e.aborted = options.signal?.aborted ?? false;
      throw err;
    } finally {
      e.end = performance.now();
    }
  },
};
// warm the model at the sizes a dictation uses
for (const pcm of speech) await model.transcribe(pcm, { language: 'en', audioCtx: 'auto' });

/** CPU seconds of this process and its children (the engine process), from /proc (Linux) */
function cpuTree() {
  const parents = new Map();
  for (const d of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8');
      parents.set(Number(d), Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const pids = [process.pid];
  for (let i = 0; i < pids.length; i++) for (const [pid, ppid] of parents) if (ppid === pids[i]) pids.push(pid);
  let s = 0;
  for (const pid of pids) {
    try {
      for (const t of readdirSync(`/proc/${pid}/task`)) s += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
    } catch {}
  }
  return s;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function dictate(enabled, pcm) {
  const config = validateConfig({ hotkey: { mode: 'hold' }, history: { enabled: false }, preview: { enabled } });
  let delivered;
  const output = new Output({ ...config.output, method: 'stdout' }, { modifiers: ['ctrl'], key: 'v' }, undefined, undefined, () => {
    delivered = performance.now();
  });
  const vad = await Vad.create({ mode: config.vad.mode, frameMs: config.vad.frameMs });
  const host = new DictationHost({ config, engine, history: new History(join(home, 'history'), config.history), output, vad, log: () => {}, notify: () => {} });
  host.setMicrophone(undefined);
  const block = 320;
  const silence = new Float32Array(block);
  // capture in real time: 20 ms blocks, paced by the clock (not by the previous block's end)
  let t = performance.now();
  const pace = async (chunk) => {
    t += 20;
    const wait = t - performance.now();
    if (wait > 0) await sleep(wait);
    host.feed(chunk);
  };
  for (let i = 0; i < 15; i++) await pace(silence);
  const from = log.length;
  const cpu0 = cpuTree();
  host.begin();
  for (let i = 0; i < pcm.length; i += block) await pace(pcm.subarray(i, Math.min(pcm.length, i + block)));
  const released = performance.now();
  host.end();
  while (delivered === undefined) await pace(silence);
  await host.drain();
  const cpuS = cpuTree() - cpu0;
  vad.close();
  const calls = log.slice(from);
  const final = calls.filter((c) => c.kind === 'final').at(-1);
  return {
    releaseToText: delivered - released,
    wait: final.start - released,
    decode: final.end - final.start,
    previews: calls.filter((c) => c.kind === 'preview').length,
    aborted: calls.filter((c) => c.kind === 'preview' && c.aborted).length,
    cpuS,
    audioS: pcm.length / 16000,
  };
}

const runs = { on: [], off: [] };
let k = 0;
for (let r = 0; r < Number(values.rounds); r++) {
  for (const pcm of speech) {
    for (const mode of k++ % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
      const x = await dictate(mode === 'on', pcm);
      runs[mode].push(x);
      console.log(
        `${mode.padEnd(3)} release → text ${x.releaseToText.toFixed(0)} ms (wait ${x.wait.toFixed(0)}, final decode ${x.decode.toFixed(0)}); previews ${x.previews} (${x.aborted} aborted)`,
      );
    }
  }
}
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
console.log(`\n${values.model}, CPU, 1 state, engine ${values.engine}, ${runs.on.length} dictations each, alternating:`);
for (const mode of ['on', 'off']) {
  const xs = runs[mode];
  const col = (f) => `${q(xs.map(f), 0.5).toFixed(0)}/${q(xs.map(f), 0.95).toFixed(0)}`;
  const cpu = xs.reduce((a, x) => a + x.cpuS, 0) / xs.reduce((a, x) => a + x.audioS, 0);
  console.log(
    `preview ${mode.padEnd(3)}: release → text p50/p95 ${col((x) => x.releaseToText)} ms; release → final decode started ${col((x) => x.wait)} ms; final decode ${col((x) => x.decode)} ms; ` +
      `previews/dictation ${(xs.reduce((a, x) => a + x.previews, 0) / xs.length).toFixed(1)} (aborted at the release ${xs.reduce((a, x) => a + x.aborted, 0)}); CPU ${(cpu * 100).toFixed(0)} % of a core per s of audio`,
  );
}
await model.close();
rmSync(home, { recursive: true, force: true });
