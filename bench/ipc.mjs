#!/usr/bin/env node
// IPC cost of the service without inference: a 5 s utterance of digital silence (which the engine
// answers without running the model) sent straight to the engine process, and through the supervisor
// (client → supervisor → engine → back). Run after npm run build:
//   node bench/ipc.mjs [model.bin] [requests]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../dist/index.js';
import { ServiceClient } from '../dist/service/client.js';
import { ServiceServer } from '../dist/service/server.js';
import { Supervisor } from '../dist/service/supervisor.js';

const dir = mkdtempSync(join(tmpdir(), 'prism-ipc-'));
const model = process.argv[2] ?? (await makeTestModel(join(dir, 'tiny.bin'), { size: 'tiny' })).path;
const requests = Number(process.argv[3] ?? 200);
const supervisor = new Supervisor({ model, gpu: 'cpu', socketPath: join(dir, 'engine.sock') });
await supervisor.start();
const server = await ServiceServer.listen({ socketPath: join(dir, 'service.sock'), model: supervisor });
const direct = await ServiceClient.connect(join(dir, 'engine.sock'));
const proxied = await ServiceClient.connect(join(dir, 'service.sock'));
const silence = new Float32Array(5 * 16000);
const rows = [];
for (const [name, client] of [
  ['straight to the engine (one hop)', direct],
  ['through the supervisor (two hops)', proxied],
]) {
  for (let i = 0; i < 20; i++) await client.transcribe(silence); // warm the JIT
  const times = [];
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    await client.transcribe(silence);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  rows.push(`| ${name} | ${times[Math.floor(requests / 2)].toFixed(2)} | ${times[Math.floor(requests * 0.95)].toFixed(2)} |`);
}
console.log(`IPC round trip, 5 s utterance (320 KB of float32), no inference, ${requests} requests each`);
console.log('| path | p50 ms | p95 ms |\n|---|---|---|');
console.log(rows.join('\n'));
direct.close();
proxied.close();
await server.close();
await supervisor.stop();
