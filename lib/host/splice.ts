/**
 * Joins two captures of the same microphone into one gap-free stream: an idle stream with long
 * periods (the sound server wakes the capture process a few times a second) and, while an utterance
 * records, a live stream with short periods opened next to it. The live stream starts at an unknown
 * point of the idle one, so it is placed by content: both carry bit-identical 16-bit samples from the
 * same source, and a live block found exactly once in the idle stream's recent samples fixes the
 * offset. Until then (and for ever on digital silence, where nothing is unique) the idle stream is
 * forwarded, so nothing is lost and nothing is doubled.
 *
 * Positions count samples of the output (the idle stream's own count). Whatever either source holds
 * beyond what was forwarded is forwarded the moment it arrives; so the live stream takes over as soon
 * as it is placed (it is ahead), the idle one takes over again when the live one stops or is closed,
 * and a source that stalls is covered by the other. Each idle chunk is compared with the live samples
 * at the same positions; a mismatch (a stream dropped samples in an overrun) places the live stream anew.
 */

/** Samples are 16-bit: two bytes each. */
const B = 2;

interface Block {
  /** position of its first sample in the live stream's own count */
  at: number;
  bytes: Buffer;
}

export interface SpliceOptions {
  /** Forwarded samples (16-bit little-endian mono bytes), and whether they came from the live stream. */
  emit: (bytes: Buffer, live: boolean) => void;
  /** How many recent samples of each stream are kept for placing the live one (default 48000). */
  historySamples?: number;
  /** Told once each time the live stream is placed, or found out of place. */
  note?: (what: 'placed' | 'misplaced', detail: string) => void;
}

export class StreamSplicer {
  private readonly historyBytes: number;
  /** the idle stream's recent samples, ending at idleEnd: the first idleBytes bytes of a reused buffer */
  private idleStore: Buffer = Buffer.alloc(0);
  private idleBytes = 0;
  private idleEnd = 0;
  /** output samples forwarded so far */
  private sent = 0;
  /** the live stream's recent blocks, and its sample count */
  private liveBlocks: Block[] = [];
  private liveEnd = 0;
  /** output position of live sample 0, once placed */
  private offset: number | undefined;
  private attached = false;

  constructor(private readonly o: SpliceOptions) {
    this.historyBytes = (o.historySamples ?? 48_000) * B;
  }

  /** A live stream was opened: its samples count from 0 again. */
  attachLive(): void {
    this.attached = true;
    this.liveBlocks = [];
    this.liveEnd = 0;
    this.offset = undefined;
  }

  /** The live stream was closed: the idle stream carries on from what was forwarded. */
  detachLive(): void {
    this.attached = false;
    this.liveBlocks = [];
    this.offset = undefined;
  }

  /** A chunk from the idle stream. */
  idle(chunk: Uint8Array): void {
    const bytes = evenBytes(chunk);
    if (bytes.length === 0) return;
    const start = this.idleEnd;
    this.keepIdle(bytes);
    this.idleEnd += bytes.length / B;
    const wrong = this.offset === undefined ? -1 : this.firstDisagreeing(start, bytes);
    if (wrong >= 0) {
      // Samples were dropped at or before that block: only later blocks can place the stream again.
      this.liveBlocks.splice(0, wrong + 1);
      this.offset = undefined;
      this.o.note?.('misplaced', `the live stream no longer matches the idle one at sample ${start}`);
    }
    this.forward(start, bytes, false);
    if (this.attached && this.offset === undefined) this.place();
  }

  /** A block from the live stream (ignored unless attached). */
  live(chunk: Uint8Array): void {
    if (!this.attached) return;
    const bytes = evenBytes(chunk);
    if (bytes.length === 0) return;
    const block = { at: this.liveEnd, bytes };
    this.liveEnd += bytes.length / B;
    this.liveBlocks.push(block);
    let kept = 0;
    for (let i = this.liveBlocks.length - 1; i >= 0; i--) {
      kept += (this.liveBlocks[i] as Block).bytes.length;
      if (kept > this.historyBytes) {
        this.liveBlocks.splice(0, i);
        break;
      }
    }
    if (this.offset !== undefined) this.forward(block.at + this.offset, bytes, true);
    else this.place();
  }

  /** Appends to the idle history, keeping its last historyBytes, without allocating once it is full. */
  private keepIdle(bytes: Buffer): void {
    if (bytes.length >= this.historyBytes) {
      this.idleStore = Buffer.from(bytes.subarray(bytes.length - this.historyBytes));
      this.idleBytes = this.idleStore.length;
      return;
    }
    const drop = Math.max(0, this.idleBytes + bytes.length - this.historyBytes);
    if (this.idleStore.length < this.idleBytes - drop + bytes.length) {
      const grown = Buffer.alloc(this.historyBytes);
      this.idleStore.copy(grown, 0, drop, this.idleBytes);
      this.idleStore = grown;
    } else if (drop) this.idleStore.copyWithin(0, drop, this.idleBytes);
    this.idleBytes -= drop;
    bytes.copy(this.idleStore, this.idleBytes);
    this.idleBytes += bytes.length;
  }

  private get idleHistory(): Buffer {
    return this.idleStore.subarray(0, this.idleBytes);
  }

  /** Forwards the part of a source's samples [at, at + n) that lies beyond what was sent. */
  private forward(at: number, bytes: Buffer, live: boolean): void {
    const end = at + bytes.length / B;
    if (end <= this.sent) return;
    // A gap cannot arise (a placed live block lies inside the idle history, and both run on from there);
    // if one ever did, the samples would still be forwarded rather than held back.
    const from = Math.max(0, this.sent - at);
    this.sent = end;
    this.o.emit(bytes.subarray(from * B), live);
  }

  /** The first live block that differs from the idle samples [start, …) at the same output positions, or -1. */
  private firstDisagreeing(start: number, bytes: Buffer): number {
    const offset = this.offset as number;
    const end = start + bytes.length / B;
    for (const [i, b] of this.liveBlocks.entries()) {
      const bStart = b.at + offset;
      const bEnd = bStart + b.bytes.length / B;
      const lo = Math.max(start, bStart);
      const hi = Math.min(end, bEnd);
      if (lo >= hi) continue;
      if (Buffer.compare(bytes.subarray((lo - start) * B, (hi - start) * B), b.bytes.subarray((lo - bStart) * B, (hi - bStart) * B)) !== 0) return i;
    }
    return -1;
  }

  /**
   * Looks for a live block that occurs exactly once in the idle history (newest first: the oldest may
   * have left it); once found, forwards every later live sample beyond what was sent.
   */
  private place(): void {
    const historyStart = this.idleEnd - this.idleBytes / B;
    for (let i = this.liveBlocks.length - 1; i >= 0; i--) {
      const b = this.liveBlocks[i] as Block;
      const found = uniqueEvenIndex(this.idleHistory, b.bytes);
      if (found === undefined) continue;
      this.offset = historyStart + found / B - b.at;
      this.o.note?.('placed', `live sample ${b.at} is output sample ${historyStart + found / B}`);
      // Older blocks lie inside what was sent; after a drop they would sit at the wrong place.
      this.liveBlocks.splice(0, i);
      for (const later of this.liveBlocks) this.forward(later.at + this.offset, later.bytes, true);
      return;
    }
  }
}

/** The byte index of `needle` in `hay` at an even offset, when it occurs there exactly once. */
export function uniqueEvenIndex(hay: Buffer, needle: Buffer): number | undefined {
  if (needle.length === 0 || needle.length > hay.length) return undefined;
  let found: number | undefined;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + 1)) {
    if (i % B !== 0) continue;
    if (found !== undefined) return undefined;
    found = i;
  }
  return found;
}

function evenBytes(chunk: Uint8Array): Buffer {
  const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return b.length % B ? b.subarray(0, b.length - 1) : b;
}
