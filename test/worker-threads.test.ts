/**
 * The addon in worker_threads, as a library user may run it: a Worker that loads a model and is
 * terminated while a transcription runs must not take the process down (node-api calls fail while a
 * Worker's environment is torn down; an error escaping the addon then aborted the whole process), and
 * the process goes on transcribing. Run in a child process, so that an abort fails this test instead
 * of killing the test runner.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { models, root } from './helpers.js';

const index = pathToFileURL(join(root, 'dist', 'index.js')).href;

describe('worker_threads', () => {
  it('terminating Workers in the middle of transcriptions leaves the process alive and working (6 times)', () => {
    const worker = `
      import { loadModel, readAudio, samplePath } from ${JSON.stringify(index)};
      import { parentPort } from 'node:worker_threads';
      const m = await loadModel(${JSON.stringify(models().tiny)}, { gpu: 'cpu', states: 1, threads: 2 });
      const pcm = await readAudio(samplePath());
      m.transcribe(pcm, { audioCtx: 1500 }).catch(() => undefined);
      parentPort.postMessage('started');
    `;
    const main = `
      import { Worker } from 'node:worker_threads';
      import { loadModel, readAudio, samplePath } from ${JSON.stringify(index)};
      for (let i = 0; i < 6; i++) {
        const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(${JSON.stringify(worker)})));
        await new Promise((resolve, reject) => { w.on('message', resolve); w.on('error', reject); });
        await w.terminate();
      }
      const m = await loadModel(${JSON.stringify(models().tiny)}, { gpu: 'cpu', states: 1 });
      const t = await m.transcribe(await readAudio(samplePath()), { audioCtx: 'auto' });
      await m.close();
      console.log('alive: ' + t.text.split(' ').length + ' words');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', main], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).not.toMatch(/terminate called/);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('alive: 25 words');
  }, 150_000);

  it('terminating a Worker while its transcription streams segments (the segment callback meets a dying environment) leaves the process alive', () => {
    // the worker says 'segment' from its first segment of a 44 s clip; the next one is delivered while
    // its environment is torn down (that threw out of the callback and aborted the process before)
    const worker = `
      import { loadModel, readAudio, samplePath } from ${JSON.stringify(index)};
      import { parentPort } from 'node:worker_threads';
      const m = await loadModel(${JSON.stringify(models().tiny)}, { gpu: 'cpu', states: 1, threads: 2 });
      const jfk = await readAudio(samplePath());
      const clip = new Float32Array(jfk.length * 4);
      for (let k = 0; k < 4; k++) clip.set(jfk, k * jfk.length);
      m.transcribe(clip, { audioCtx: 1500, onSegment: () => parentPort.postMessage('segment') }).catch(() => undefined);
    `;
    const main = `
      import { Worker } from 'node:worker_threads';
      for (let i = 0; i < 3; i++) {
        const w = new Worker(new URL('data:text/javascript,' + encodeURIComponent(${JSON.stringify(worker)})));
        await new Promise((resolve, reject) => { w.on('message', resolve); w.on('error', reject); });
        await w.terminate();
      }
      console.log('alive');
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', main], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).not.toMatch(/terminate called/);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('alive');
  }, 150_000);
});
