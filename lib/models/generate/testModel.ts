/**
 * makeTestModel: a random-weight Whisper model in the exact ggml layout of a named size, with a
 * planted script so that greedy decoding emits a known sentence (see plant.ts). Deterministic for a
 * given size, english flag, script and seed. Written to `path.tmp-*` and renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { WhisperError } from '../../errors.js';
import { type HParams, hparamsFor, MODEL_SIZES, type ModelSize, type TensorSpec, tensorSpecs } from '../shapes.js';
import { f32ToF16 } from './f16.js';
import { GgmlWriter } from './ggmlWriter.js';
import { melFilters, N_FFT_BINS } from './melFilters.js';
import { plantDimensions, plantMagnitudes, plantTargets } from './plant.js';
import { fillF16Normal, fillF32Normal, Xorshift32 } from './random.js';
import { specialTokens } from './tokens.js';
import { buildVocabulary, SCRIPT_WORDS } from './vocab.js';

export interface TestModelOptions {
  size?: ModelSize;
  /** English-only vocabulary (tiny.en, base.en …). */
  english?: boolean;
  /** Words the model will "hear": a count (taken from a built-in list) or the words themselves; 0 = no plant. */
  script?: number | string[];
  seed?: number;
}

export interface TestModelInfo {
  path: string;
  size: ModelSize;
  english: boolean;
  hparams: HParams;
  /** bytes written */
  bytes: number;
  /** the planted words, in order */
  words: string[];
  /** the text a greedy transcription of any clip up to 30 s yields (leading space, as Whisper) */
  expectedText: string;
}

const DEFAULT_SCRIPT = 25;
const MAX_SCRIPT = 200;

function scriptWords(script: number | string[]): string[] {
  if (Array.isArray(script)) {
    for (const w of script) {
      if (typeof w !== 'string' || w.length === 0 || /\s/.test(w)) {
        throw new WhisperError('BAD_ARGUMENT', `script words must be non-empty strings without spaces (got ${JSON.stringify(w)})`);
      }
    }
    return [...script];
  }
  if (!Number.isInteger(script) || script < 0) throw new WhisperError('BAD_ARGUMENT', `script must be a word count ≥ 0 or a list of words (got ${script})`);
  return Array.from({ length: script }, (_, i) => SCRIPT_WORDS[i % SCRIPT_WORDS.length] as string);
}

export async function makeTestModel(path: string, options: TestModelOptions = {}): Promise<TestModelInfo> {
  const size = options.size ?? 'tiny';
  if (!MODEL_SIZES.includes(size)) throw new WhisperError('BAD_ARGUMENT', `unknown model size "${size}" (one of ${MODEL_SIZES.join(', ')})`);
  const english = options.english ?? false;
  const words = scriptWords(options.script ?? DEFAULT_SCRIPT);
  if (words.length > MAX_SCRIPT) throw new WhisperError('BAD_ARGUMENT', `script is limited to ${MAX_SCRIPT} words (got ${words.length})`);
  let hp: HParams;
  try {
    hp = hparamsFor(size, english);
  } catch (e) {
    throw new WhisperError('BAD_ARGUMENT', (e as Error).message);
  }
  const seed = options.seed ?? 1;
  const special = specialTokens(hp.nVocab);
  const vocab = buildVocabulary(special.textTokens, words);
  const wordIds = words.map((w) => vocab.idOf.get(w) as number);
  const targets = words.length > 0 ? plantTargets(wordIds, special, hp.nTextCtx) : [];
  const dims = plantDimensions(targets, hp.nTextState);
  const mag = plantMagnitudes(hp.nTextState, hp.nTextLayer);

  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${randomBytes(4).toString('hex')}`;
  const out = await GgmlWriter.create(tmp);
  try {
    await out.u32(0x67676d6c);
    await out.i32(hp.nVocab, hp.nAudioCtx, hp.nAudioState, hp.nAudioHead, hp.nAudioLayer, hp.nTextCtx, hp.nTextState, hp.nTextHead, hp.nTextLayer, hp.nMels, hp.ftype);
    await out.i32(hp.nMels, N_FFT_BINS);
    await out.raw(new Uint8Array(melFilters(hp.nMels).buffer));
    await out.i32(vocab.tokens.length);
    for (const t of vocab.tokens) {
      await out.u32(t.length);
      await out.raw(t);
    }
    const rng = new Xorshift32(seed);
    for (const spec of tensorSpecs(hp)) {
      await writeTensor(out, spec, rng, (data) => {
        if (spec.kind === 'decoderPos') {
          for (const t of targets) {
            for (const [token, weight] of t.tokens) {
              const i = t.position * hp.nTextState + (dims.get(token) as number);
              data[i] = (data[i] as number) + mag.positional * weight;
            }
          }
        } else if (spec.kind === 'tokenEmbedding') {
          const rows = data as Uint16Array;
          const one = f32ToF16(mag.embedding);
          for (const [token, dim] of dims) {
            rows.fill(0, token * hp.nTextState, (token + 1) * hp.nTextState);
            rows[token * hp.nTextState + dim] = one;
          }
        }
      });
    }
    await out.close();
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return {
    path,
    size,
    english,
    hparams: hp,
    bytes: out.bytes,
    words,
    expectedText: words.map((w) => ` ${w}`).join(''),
  };
}

/** Sinusoidal position encoding, as Whisper's encoder uses. */
function sinusoids(length: number, channels: number, out: Float32Array): void {
  const half = channels / 2;
  const inc = Math.log(10000) / (half - 1);
  for (let p = 0; p < length; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * Math.exp(-inc * i);
      out[p * channels + i] = Math.sin(angle);
      out[p * channels + half + i] = Math.cos(angle);
    }
  }
}

async function writeTensor(out: GgmlWriter, spec: TensorSpec, rng: Xorshift32, plant: (data: Float32Array | Uint16Array) => void): Promise<void> {
  const name = Buffer.from(spec.name, 'utf8');
  await out.i32(spec.ne.length, name.length, spec.type === 'f16' ? 1 : 0, ...spec.ne);
  await out.raw(name);
  const count = spec.ne.reduce((a, b) => a * b, 1);
  if (spec.type === 'f16') {
    const data = new Uint16Array(count);
    fillF16Normal(data, spec.kind === 'tokenEmbedding' ? 0.02 : 1 / Math.sqrt(spec.fanIn), rng);
    plant(data);
    await out.raw(new Uint8Array(data.buffer));
    return;
  }
  const data = new Float32Array(count);
  if (spec.kind === 'lnWeight') data.fill(1);
  else if (spec.kind === 'encoderPos') sinusoids(spec.ne[1] as number, spec.ne[0] as number, data);
  else if (spec.kind === 'decoderPos') fillF32Normal(data, 0.01, rng);
  plant(data);
  await out.raw(new Uint8Array(data.buffer));
}
