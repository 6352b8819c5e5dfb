/**
 * Seeded, fast random numbers for generated test models.
 * xorshift32 drives everything; normal values come from a 65,536-entry table so that filling
 * hundreds of millions of f16 weights costs one shift-xor and one table load per pair of values.
 */
import { f32ToF16 } from './f16.js';

export class Xorshift32 {
  private s: number;

  constructor(seed: number) {
    // Mix the seed so that 0, 1, 2 … give unrelated streams; the state must never be zero.
    let h = (seed ^ 0x9e3779b9) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    this.s = (h ^ (h >>> 16)) >>> 0 || 0x6d2b79f5;
  }

  /** Next unsigned 32-bit value. */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.next() / 4294967296;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = Math.max(this.uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
}

/** 65,536 standard-normal samples, built once per process from a fixed seed. */
let normalTable: Float32Array | undefined;
function standardNormals(): Float32Array {
  if (!normalTable) {
    const rng = new Xorshift32(0x5eed);
    normalTable = new Float32Array(65536);
    for (let i = 0; i < normalTable.length; i++) normalTable[i] = rng.normal();
  }
  return normalTable;
}

const f16Tables = new Map<number, Uint16Array>();
/** f16 bit patterns of N(0, std²), indexable by any 16-bit value. */
export function f16NormalTable(std: number): Uint16Array {
  let table = f16Tables.get(std);
  if (!table) {
    const normals = standardNormals();
    table = new Uint16Array(65536);
    for (let i = 0; i < table.length; i++) table[i] = f32ToF16((normals[i] ?? 0) * std);
    f16Tables.set(std, table);
  }
  return table;
}

/** Fill `out` with f16 bit patterns of N(0, std²). */
export function fillF16Normal(out: Uint16Array, std: number, rng: Xorshift32): void {
  const table = f16NormalTable(std);
  const n = out.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const r = rng.next();
    out[i] = table[r & 0xffff] as number;
    out[i + 1] = table[r >>> 16] as number;
  }
  if (i < n) out[i] = table[rng.next() & 0xffff] as number;
}

/** Fill `out` with N(0, std²) as f32. */
export function fillF32Normal(out: Float32Array, std: number, rng: Xorshift32): void {
  const normals = standardNormals();
  for (let i = 0; i < out.length; i++) out[i] = (normals[rng.next() & 0xffff] as number) * std;
}
