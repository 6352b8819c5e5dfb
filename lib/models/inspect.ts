/**
 * Reads a ggml Whisper model file's structure without loading weights: header, hyper-parameters,
 * mel filters, vocabulary and every tensor header, checking that each tensor's data fits in the
 * file. Catches missing, truncated and foreign files with a precise MODEL_* error before
 * whisper.cpp (whose loader does not check short reads) sees them.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { WhisperError } from '../errors.js';
import { type HParams, tensorSpecs } from './shapes.js';

export interface ModelFileInfo {
  path: string;
  bytes: number;
  hparams: HParams;
  tensors: number;
  /** tensor data bytes */
  weightBytes: number;
  /** storage types present, e.g. ['f32', 'f16'] or ['f32', 'f16', 'q5_0'] */
  types: string[];
}

// ggml type id → [name, bytes per block, elements per block]
const GGML_TYPES: Record<number, [string, number, number]> = {
  0: ['f32', 4, 1],
  1: ['f16', 2, 1],
  2: ['q4_0', 18, 32],
  3: ['q4_1', 20, 32],
  6: ['q5_0', 22, 32],
  7: ['q5_1', 24, 32],
  8: ['q8_0', 34, 32],
  10: ['q2_K', 84, 256],
  11: ['q3_K', 110, 256],
  12: ['q4_K', 144, 256],
  13: ['q5_K', 176, 256],
  14: ['q6_K', 210, 256],
  30: ['bf16', 2, 1],
};

// ggml_ftype values whisper.cpp can load (ggml_ftype_to_ggml_type maps them; any other aborts the
// process); the file stores qntvr * 1000 + ftype
const WEIGHT_FTYPES = new Set([0, 1, 2, 3, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27]);
const GGML_QNT_VERSION_FACTOR = 1000;

class Reader {
  private buf = Buffer.alloc(1 << 20);
  private start = 0; // file offset of buf[0]
  private end = 0; // valid bytes in buf
  pos = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly path: string,
  ) {}

  private truncated(what: string): WhisperError {
    return new WhisperError('MODEL_INVALID', `model file ${this.path} is truncated: it ends at byte ${this.size} inside ${what} (an interrupted download or copy?)`);
  }

  async bytes(n: number, what: string): Promise<Buffer> {
    if (this.pos + n > this.size) throw this.truncated(what);
    if (this.pos < this.start || this.pos + n > this.start + this.end) {
      if (n > this.buf.length) this.buf = Buffer.alloc(n);
      const { bytesRead } = await this.fh.read(this.buf, 0, this.buf.length, this.pos);
      this.start = this.pos;
      this.end = bytesRead;
      if (bytesRead < n) throw this.truncated(what);
    }
    const off = this.pos - this.start;
    this.pos += n;
    return this.buf.subarray(off, off + n);
  }

  async i32(what: string): Promise<number> {
    return (await this.bytes(4, what)).readInt32LE(0);
  }

  skip(n: number, what: string): void {
    if (this.pos + n > this.size) throw this.truncated(what);
    this.pos += n;
  }
}

function invalid(path: string, why: string): WhisperError {
  return new WhisperError('MODEL_INVALID', `${path} is not a usable whisper.cpp model: ${why}`);
}

export async function inspectModelFile(path: string): Promise<ModelFileInfo> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new WhisperError('MODEL_NOT_FOUND', `model file not found: ${path}`, { cause: e });
    if (code === 'EISDIR') throw new WhisperError('MODEL_NOT_FOUND', `${path} is a folder, not a model file`, { cause: e });
    throw new WhisperError('MODEL_NOT_FOUND', `cannot open model file ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const st = await fh.stat();
    // opening a folder succeeds on Linux; reading it is what fails
    if (st.isDirectory()) throw new WhisperError('MODEL_NOT_FOUND', `${path} is a folder, not a model file`);
    const { size } = st;
    if (size === 0) throw invalid(path, 'the file is empty');
    const r = new Reader(fh, size, path);
    const magic = (await r.bytes(4, 'the header')).toString('latin1');
    if (magic === 'GGUF') throw invalid(path, 'it is a GGUF file (llama.cpp format); whisper.cpp needs a ggml Whisper model such as ggml-base.en.bin');
    if (magic !== 'lmgg') throw invalid(path, 'bad magic (not a ggml file); download one with "prism-dictate models pull base.en"');
    const h: number[] = [];
    for (let i = 0; i < 11; i++) h.push(await r.i32('the hyper-parameters'));
    const [nVocab, nAudioCtx, nAudioState, nAudioHead, nAudioLayer, nTextCtx, nTextState, nTextHead, nTextLayer, nMels, ftype] = h as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const hp: HParams = { nVocab, nAudioCtx, nAudioState, nAudioHead, nAudioLayer, nTextCtx, nTextState, nTextHead, nTextLayer, nMels, ftype };
    const sane =
      nVocab >= 51864 &&
      nVocab <= 51866 &&
      nAudioCtx > 0 &&
      nAudioCtx <= 1500 &&
      nAudioState > 0 &&
      nAudioState === nTextState &&
      nAudioHead > 0 &&
      nAudioLayer > 0 &&
      nAudioLayer <= 64 &&
      nTextCtx > 0 &&
      nTextCtx <= 448 &&
      nTextHead > 0 &&
      nTextLayer > 0 &&
      nTextLayer <= 64 &&
      (nMels === 80 || nMels === 128);
    if (!sane) throw invalid(path, `implausible hyper-parameters ${JSON.stringify(hp)}`);
    // what whisper.cpp asserts on (an abort of the whole process) rather than reports
    for (const [state, heads, which] of [
      [nAudioState, nAudioHead, 'audio'],
      [nTextState, nTextHead, 'text'],
    ] as const) {
      if (state % heads !== 0) throw invalid(path, `the ${which} state (${state}) does not split into ${heads} attention heads`);
    }
    if (ftype < 0 || !WEIGHT_FTYPES.has(ftype % GGML_QNT_VERSION_FACTOR) || ftype >= 100 * GGML_QNT_VERSION_FACTOR) throw invalid(path, `unknown weight type (ftype ${ftype})`);
    const nMel = await r.i32('the mel filters');
    const nFft = await r.i32('the mel filters');
    if (nMel !== nMels || nFft <= 0 || nFft > 4096) throw invalid(path, `bad mel filter shape ${nMel}×${nFft}`);
    r.skip(nMel * nFft * 4, 'the mel filters');
    const words = await r.i32('the vocabulary');
    if (words < 0 || words > nVocab) throw invalid(path, `bad vocabulary size ${words}`);
    for (let i = 0; i < words; i++) {
      const len = (await r.bytes(4, 'the vocabulary')).readUInt32LE(0);
      if (len > 1024) throw invalid(path, `token ${i} is ${len} bytes long`);
      r.skip(len, 'the vocabulary');
    }
    const expected = new Map(tensorSpecs(hp).map((s) => [s.name, s]));
    const seen = new Set<string>();
    const types = new Set<string>();
    let weightBytes = 0;
    while (r.pos < size) {
      const head = await r.bytes(12, 'a tensor header');
      const nDims = head.readInt32LE(0);
      const nameLen = head.readInt32LE(4);
      const type = head.readInt32LE(8);
      if (nDims < 1 || nDims > 4 || nameLen <= 0 || nameLen > 256) throw invalid(path, `corrupt tensor header at byte ${r.pos - 12}`);
      const ne: number[] = [];
      for (let i = 0; i < nDims; i++) ne.push(await r.i32('a tensor header'));
      const name = (await r.bytes(nameLen, 'a tensor name')).toString('utf8');
      const spec = expected.get(name);
      if (!spec) throw invalid(path, `unknown tensor "${name}"`);
      if (seen.has(name)) throw invalid(path, `tensor "${name}" appears twice`);
      if (spec.ne.join('x') !== ne.join('x')) throw invalid(path, `tensor "${name}" has shape ${ne.join('×')}, expected ${spec.ne.join('×')}`);
      const t = GGML_TYPES[type];
      if (!t) throw invalid(path, `tensor "${name}" has unsupported type ${type}`);
      const count = ne.reduce((a, b) => a * b, 1);
      const nbytes = (count / t[2]) * t[1];
      r.skip(nbytes, `tensor "${name}"`);
      seen.add(name);
      types.add(t[0]);
      weightBytes += nbytes;
    }
    if (seen.size !== expected.size) {
      const missing = [...expected.keys()].find((k) => !seen.has(k));
      throw new WhisperError(
        'MODEL_INVALID',
        `model file ${path} is incomplete: ${seen.size} of ${expected.size} tensors (first missing: ${missing}); the file is truncated or damaged`,
      );
    }
    return { path, bytes: size, hparams: hp, tensors: seen.size, weightBytes, types: [...types] };
  } finally {
    await fh.close();
  }
}
