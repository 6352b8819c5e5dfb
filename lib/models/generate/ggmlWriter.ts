/** Buffered sequential writer for ggml model files (little-endian, no alignment padding). */
import { type FileHandle, open } from 'node:fs/promises';

const CHUNK = 8 << 20;

export class GgmlWriter {
  private buf = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  bytes = 0;

  private constructor(private readonly fh: FileHandle) {}

  static async create(path: string): Promise<GgmlWriter> {
    return new GgmlWriter(await open(path, 'w'));
  }

  private async room(n: number): Promise<void> {
    if (this.used + n > this.buf.length) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.fh.write(this.buf, 0, this.used);
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.used = 0;
  }

  async i32(...values: number[]): Promise<void> {
    await this.room(4 * values.length);
    for (const v of values) {
      this.buf.writeInt32LE(v, this.used);
      this.used += 4;
    }
    this.bytes += 4 * values.length;
  }

  async u32(v: number): Promise<void> {
    await this.room(4);
    this.buf.writeUInt32LE(v, this.used);
    this.used += 4;
    this.bytes += 4;
  }

  /** Raw bytes; large ones go straight to the file. */
  async raw(data: Uint8Array): Promise<void> {
    if (data.length > CHUNK / 2) {
      await this.flush();
      await this.fh.write(data);
    } else {
      await this.room(data.length);
      this.buf.set(data, this.used);
      this.used += data.length;
    }
    this.bytes += data.length;
  }

  async close(): Promise<void> {
    try {
      await this.flush();
      await this.fh.sync();
    } finally {
      await this.fh.close();
    }
  }
}
