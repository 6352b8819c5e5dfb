#!/usr/bin/env node
// Load on `prism-dictate serve`'s HTTP API: a service with the tiny test model (CPU, 2 states) behind
// the API on loopback, 16 concurrent clients × 20 requests. Each client sends its own clip length, so
// each answer's duration says which request it belongs to: the run proves that every request was
// answered once, with its own duration and the text the model gives that clip in-process.
// Run after npm run build:
//   node bench/load.mjs [clients] [requests per client]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav, loadModel, makeTestModel, readAudio } from '../dist/index.js';
import { ServiceClient } from '../dist/service/client.js';
import { servicePaths } from '../dist/service/home.js';
import { ServiceEngine } from '../dist/service/serviceEngine.js';
import { startService } from '../dist/service/start.js';
import { listenApi } from '../dist/web/api.js';

const clients = Number(process.argv[2] ?? 16);
const perClient = Number(process.argv[3] ?? 20);
const TOKEN = 'load-test';
const dir = mkdtempSync(join(tmpdir(), 'prism-load-'));
const jfkPath = join(import.meta.dirname, '..', 'node_modules', 'nodejs-whisper', 'cpp', 'whisper.cpp', 'bindings', 'go', 'samples', 'jfk.wav');

const modelPath = (await makeTestModel(join(dir, 'tiny.bin'), { size: 'tiny', script: 25, seed: 1 })).path;
const jfk = await readAudio(jfkPath);
// 1.00 s, 1.25 s, … : distinct per client, all within the 11 s of the recording.
const seconds = Array.from({ length: clients }, (_, c) => 1 + c * 0.25);
const clips = seconds.map((s) => jfk.subarray(0, Math.round(s * 16000)));

// The expected answers, from the same model in this process.
const local = await loadModel(modelPath, { gpu: 'cpu' });
const expected = [];
for (const clip of clips) expected.push((await local.transcribe(clip, { audioCtx: 'auto' })).text);
await local.close();

const paths = servicePaths(dir);
const service = await startService({ model: modelPath, gpu: 'cpu', states: 2 }, paths);
const engine = new ServiceEngine(paths.socket, await ServiceClient.connect(paths.socket));
const api = await listenApi({ engine, health: () => engine.health(), token: TOKEN, port: 0 });

const latencies = [];
const problems = [];
let answered = 0;
let audioSeconds = 0;

async function client(c) {
  const wav = new Blob([encodeWav(clips[c])], { type: 'audio/wav' });
  for (let i = 0; i < perClient; i++) {
    const form = new FormData();
    form.append('file', wav, `client${c}-req${i}.wav`);
    form.append('model', 'whisper-1');
    form.append('response_format', 'verbose_json');
    const t0 = performance.now();
    try {
      const res = await fetch(`${api.url}/v1/audio/transcriptions`, { method: 'POST', body: form, headers: { authorization: `Bearer ${TOKEN}` } });
      const body = await res.json();
      latencies.push(performance.now() - t0);
      answered++;
      if (res.status !== 200) problems.push(`client ${c} request ${i}: HTTP ${res.status} ${JSON.stringify(body)}`);
      else if (body.duration !== seconds[c]) problems.push(`client ${c} request ${i}: duration ${body.duration} s, sent ${seconds[c]} s (mixed up)`);
      else if (body.text !== expected[c]) problems.push(`client ${c} request ${i}: text ${JSON.stringify(body.text)} ≠ ${JSON.stringify(expected[c])}`);
      else audioSeconds += body.duration;
    } catch (e) {
      problems.push(`client ${c} request ${i}: ${e.message}`);
    }
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
const wallS = (performance.now() - started) / 1000;

await api.close();
engine.close();
await service.stop();
rmSync(dir, { recursive: true, force: true });

const sent = clients * perClient;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(0);
console.log(`prism-dictate serve load test: ${clients} clients × ${perClient} requests, clips ${seconds[0]}–${seconds.at(-1)} s, tiny test model, CPU, 2 states`);
console.log(`requests      ${sent} sent, ${answered} answered, ${sent - answered} lost, ${problems.length} wrong`);
console.log(`wall          ${wallS.toFixed(1)} s`);
console.log(`throughput    ${(answered / wallS).toFixed(2)} requests/s, ${(audioSeconds / wallS).toFixed(2)} audio s/s`);
console.log(`latency       p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms (upload + queue + transcription)`);
for (const p of problems.slice(0, 20)) console.log(`problem       ${p}`);
if (problems.length > 0 || answered !== sent) process.exitCode = 1;
else console.log('ok            every request answered once, with its own duration and the expected text');
