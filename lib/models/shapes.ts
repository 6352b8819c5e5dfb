/**
 * Whisper's hyper-parameters per model size and the tensors of the ggml file layout that
 * whisper.cpp 1.9.1 expects (names, ggml dimension order ne[0..], storage type).
 */
export const MODEL_SIZES = ['tiny', 'base', 'small', 'medium', 'large-v3', 'large-v3-turbo'] as const;
export type ModelSize = (typeof MODEL_SIZES)[number];

export interface HParams {
  nVocab: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  nTextCtx: number;
  nTextState: number;
  nTextHead: number;
  nTextLayer: number;
  nMels: number;
  /** 1 = 2-D weights stored as f16 (the official files). */
  ftype: number;
}

interface SizeShape {
  state: number;
  heads: number;
  audioLayers: number;
  textLayers: number;
  mels: number;
  /** large-v3 adds a language (Cantonese): one more token. */
  v3: boolean;
}

const SHAPES: Record<ModelSize, SizeShape> = {
  tiny: { state: 384, heads: 6, audioLayers: 4, textLayers: 4, mels: 80, v3: false },
  base: { state: 512, heads: 8, audioLayers: 6, textLayers: 6, mels: 80, v3: false },
  small: { state: 768, heads: 12, audioLayers: 12, textLayers: 12, mels: 80, v3: false },
  medium: { state: 1024, heads: 16, audioLayers: 24, textLayers: 24, mels: 80, v3: false },
  'large-v3': { state: 1280, heads: 20, audioLayers: 32, textLayers: 32, mels: 128, v3: true },
  'large-v3-turbo': { state: 1280, heads: 20, audioLayers: 32, textLayers: 4, mels: 128, v3: true },
};

export function hparamsFor(size: ModelSize, english: boolean): HParams {
  const s = SHAPES[size];
  if (english && s.v3) throw new RangeError(`there is no English-only ${size} model`);
  return {
    nVocab: english ? 51864 : s.v3 ? 51866 : 51865,
    nAudioCtx: 1500,
    nAudioState: s.state,
    nAudioHead: s.heads,
    nAudioLayer: s.audioLayers,
    nTextCtx: 448,
    nTextState: s.state,
    nTextHead: s.heads,
    nTextLayer: s.textLayers,
    nMels: s.mels,
    ftype: 1,
  };
}

export type TensorKind = 'weight' | 'bias' | 'lnWeight' | 'lnBias' | 'encoderPos' | 'decoderPos' | 'tokenEmbedding';

export interface TensorSpec {
  name: string;
  /** ggml order: ne[0] is the contiguous dimension. */
  ne: number[];
  type: 'f32' | 'f16';
  kind: TensorKind;
  /** Fan-in of a weight, for its initialisation scale. */
  fanIn: number;
}

function block(prefix: string, n: number, cross: boolean): TensorSpec[] {
  const w = (name: string, ne: number[], fanIn: number): TensorSpec => ({ name: `${prefix}.${name}`, ne, type: 'f16', kind: 'weight', fanIn });
  const v = (name: string, len: number, kind: TensorKind = 'bias'): TensorSpec => ({ name: `${prefix}.${name}`, ne: [len], type: 'f32', kind, fanIn: 1 });
  const attention = (a: string): TensorSpec[] => [
    v(`${a}_ln.weight`, n, 'lnWeight'),
    v(`${a}_ln.bias`, n, 'lnBias'),
    w(`${a}.query.weight`, [n, n], n),
    v(`${a}.query.bias`, n),
    w(`${a}.key.weight`, [n, n], n),
    w(`${a}.value.weight`, [n, n], n),
    v(`${a}.value.bias`, n),
    w(`${a}.out.weight`, [n, n], n),
    v(`${a}.out.bias`, n),
  ];
  return [
    ...attention('attn'),
    ...(cross ? attention('cross_attn') : []),
    v('mlp_ln.weight', n, 'lnWeight'),
    v('mlp_ln.bias', n, 'lnBias'),
    w('mlp.0.weight', [n, 4 * n], n),
    v('mlp.0.bias', 4 * n),
    w('mlp.2.weight', [4 * n, n], 4 * n),
    v('mlp.2.bias', n),
  ];
}

/** Every tensor whisper.cpp loads, in the order the official converter writes them. */
export function tensorSpecs(hp: HParams): TensorSpec[] {
  const n = hp.nAudioState;
  const specs: TensorSpec[] = [
    { name: 'encoder.positional_embedding', ne: [n, hp.nAudioCtx], type: 'f32', kind: 'encoderPos', fanIn: 1 },
    { name: 'encoder.conv1.weight', ne: [3, hp.nMels, n], type: 'f16', kind: 'weight', fanIn: 3 * hp.nMels },
    { name: 'encoder.conv1.bias', ne: [1, n], type: 'f32', kind: 'bias', fanIn: 1 },
    { name: 'encoder.conv2.weight', ne: [3, n, n], type: 'f16', kind: 'weight', fanIn: 3 * n },
    { name: 'encoder.conv2.bias', ne: [1, n], type: 'f32', kind: 'bias', fanIn: 1 },
  ];
  for (let i = 0; i < hp.nAudioLayer; i++) specs.push(...block(`encoder.blocks.${i}`, n, false));
  specs.push(
    { name: 'encoder.ln_post.weight', ne: [n], type: 'f32', kind: 'lnWeight', fanIn: 1 },
    { name: 'encoder.ln_post.bias', ne: [n], type: 'f32', kind: 'lnBias', fanIn: 1 },
  );
  const t = hp.nTextState;
  specs.push(
    { name: 'decoder.positional_embedding', ne: [t, hp.nTextCtx], type: 'f32', kind: 'decoderPos', fanIn: 1 },
    { name: 'decoder.token_embedding.weight', ne: [t, hp.nVocab], type: 'f16', kind: 'tokenEmbedding', fanIn: t },
  );
  for (let i = 0; i < hp.nTextLayer; i++) specs.push(...block(`decoder.blocks.${i}`, t, true));
  specs.push({ name: 'decoder.ln.weight', ne: [t], type: 'f32', kind: 'lnWeight', fanIn: 1 }, { name: 'decoder.ln.bias', ne: [t], type: 'f32', kind: 'lnBias', fanIn: 1 });
  return specs;
}

export function tensorBytes(spec: TensorSpec): number {
  return spec.ne.reduce((a, b) => a * b, 1) * (spec.type === 'f16' ? 2 : 4);
}
