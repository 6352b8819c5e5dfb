/** 16-bit little-endian mono PCM as the capture processes deliver it, to the host's float samples. */

/** Samples in [-1, 1) of whole 16-bit samples (an odd last byte is ignored: callers keep it, see Pcm16Joiner). */
export function int16ToFloat(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  // A view needs 2-byte alignment; IPC and pipe buffers usually are, a copy makes any one so.
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : new Uint8Array(bytes.subarray(0, 2 * n));
  const samples = new Int16Array(aligned.buffer, aligned.byteOffset, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (samples[i] as number) / 32768;
  return out;
}

/**
 * Cuts a byte stream (a pipe, which may split a write anywhere) into chunks of whole 16-bit samples:
 * an odd byte is held back and joined to the next chunk.
 */
export class Pcm16Joiner {
  private carry: Buffer | undefined;

  push(chunk: Buffer): Buffer | undefined {
    const bytes = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    const even = bytes.length & ~1;
    this.carry = even < bytes.length ? Buffer.from(bytes.subarray(even)) : undefined;
    return even ? bytes.subarray(0, even) : undefined;
  }
}
