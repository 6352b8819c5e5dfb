/** Native memory stays flat over many calls and over load/close cycles. */
import { describe, expect, it } from 'vitest';
import { loadModel, readAudio } from '../lib/index.js';
import { JFK, models } from './helpers.js';

const mib = () => process.memoryUsage().rss / 2 ** 20;
// Under AddressSanitizer (npm run test:asan) freed memory sits in ASan's quarantine and RSS says nothing:
// there the cycles run for ASan to check each free, and the RSS bounds are left out.
const checkRss = !process.env.PRISM_SANITIZED;

describe('no leak', () => {
  it('RSS stays flat over 200 transcriptions', async () => {
    const clip = (await readAudio(JFK)).subarray(0, 3 * 16000);
    const model = await loadModel(models().tiny, { warmup: true });
    for (let i = 0; i < 20; i++) await model.transcribe(clip, { audioCtx: 'auto', onSegment: () => {} });
    const before = mib();
    for (let i = 0; i < 200; i++) await model.transcribe(clip, { audioCtx: 'auto', onSegment: () => {} });
    const after = mib();
    await model.close();
    console.log(`RSS over 200 calls: ${before.toFixed(1)} → ${after.toFixed(1)} MiB`);
    if (checkRss) expect(after - before).toBeLessThan(16);
  }, 300_000);

  // glibc only: other allocators keep freed pages in their own way, and RSS says little there.
  it.skipIf(process.platform !== 'linux')(
    'close() gives the memory back: 8 load/close cycles of a 77 MB model',
    async () => {
      const first = await loadModel(models().tiny, { warmup: false });
      await first.close();
      const before = mib();
      for (let i = 0; i < 8; i++) {
        const m = await loadModel(models().tiny, { warmup: false, states: 2 });
        await m.close();
      }
      const after = mib();
      console.log(`RSS over 8 load/close cycles: ${before.toFixed(1)} → ${after.toFixed(1)} MiB`);
      if (checkRss) expect(after - before).toBeLessThan(60); // one model + two states is ~370 MB
    },
    300_000,
  );
});
