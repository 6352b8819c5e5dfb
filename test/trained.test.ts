/**
 * With real, trained weights (only when PRISM_MODEL points at one — none can be downloaded here):
 * the words must be right, not just the structure.
 */
import { describe, expect, it } from 'vitest';
import { loadModel, readAudio } from '../lib/index.js';
import { JFK } from './helpers.js';

const path = process.env.PRISM_MODEL;
if (!path) console.log('trained-model tests skipped: set PRISM_MODEL=/path/to/ggml-base.en.bin to run them');

describe.skipIf(!path)('with a trained model (PRISM_MODEL)', () => {
  it('transcribes jfk.wav correctly, full window and auto window alike', async () => {
    const model = await loadModel(path as string);
    const pcm = await readAudio(JFK);
    for (const audioCtx of [undefined, 'auto'] as const) {
      const t = await model.transcribe(pcm, { audioCtx });
      expect(t.text.toLowerCase()).toMatch(/ask not what your country can do for you/);
    }
    const silence = await model.transcribe(new Float32Array(16000 * 2), { skipSilence: false });
    expect(silence.text.length).toBeLessThan(40);
    await model.close();
  });
});
