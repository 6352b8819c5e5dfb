#!/usr/bin/env node
// What the official OpenAI client sees of answers `serve` gives before reading the upload (issue 25,
// item 8): N concurrent uploads of the 11 s jfk clip with the SDK against the API on the tiny test
// model (CPU, 2 states, the default 32 slots), then 20 wrong-key uploads. Each answer is counted by
// what the client saw: 200, 401, 429, or a connection error (EPIPE: the answer was lost).
// The clients run in a worker thread, on an event loop of their own, as a separate program would.
// Run after npm run build:
//   node bench/early-answers.mjs [concurrent uploads, default 200]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadModel, makeTestModel } from '../dist/index.js';
import { listenApi } from '../dist/web/api.js';

const n = Number(process.argv[2] ?? 200);
const TOKEN = 'early-answers';
const dir = mkdtempSync(join(tmpdir(), 'prism-early-'));
const jfk = readFileSync(join(import.meta.dirname, '..', 'node_modules', 'nodejs-whisper', 'cpp', 'whisper.cpp', 'bindings', 'go', 'samples', 'jfk.wav'));
const model = await loadModel((await makeTestModel(join(dir, 'tiny.bin'), { size: 'tiny', script: 25, seed: 1 })).path, { gpu: 'cpu', states: 2 });
const api = await listenApi({ engine: model, health: () => ({ state: 'ready', backend: 'cpu', model: 'tiny' }), token: TOKEN, port: 0 });

const CLIENTS = `
const { workerData, parentPort } = require('node:worker_threads');
const { default: OpenAI, toFile } = require('openai');
const { url, key, n, file } = workerData;
const seen = (e) => (e instanceof OpenAI.APIError && !(e instanceof OpenAI.APIConnectionError) ? e.status : 'fetch failed: ' + (e.cause?.code ?? e.cause?.cause?.code ?? e.message));
Promise.all(
  Array.from({ length: n }, async () => {
    const client = new OpenAI({ baseURL: url + '/v1', apiKey: key, maxRetries: 0, timeout: 600000 });
    return client.audio.transcriptions.create({ file: await toFile(Buffer.from(file), 'jfk.wav'), model: 'whisper-1' }).then(() => 200, seen);
  }),
).then((outcomes) => parentPort.postMessage(outcomes));
`;

function upload(count, key) {
  return new Promise((resolve, reject) => {
    const w = new Worker(CLIENTS, { eval: true, workerData: { url: api.url, key, n: count, file: jfk } });
    w.once('message', (outcomes) => {
      const tally = {};
      for (const o of outcomes) tally[o] = (tally[o] ?? 0) + 1;
      resolve(tally);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

console.log(`${n} concurrent uploads:`, await upload(n, TOKEN));
console.log('20 uploads with a wrong key:', await upload(20, 'wrong'));
await api.close();
await model.close();
rmSync(dir, { recursive: true, force: true });
