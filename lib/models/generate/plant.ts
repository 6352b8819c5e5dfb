/**
 * Planting a script into a random-weight decoder.
 *
 * Pure random weights make Whisper emit one token and then retry at higher temperatures, which
 * gives useless timings. Instead, each decoder position p gets a large component along a basis
 * direction that belongs to the token it should predict, and that token's embedding row points
 * along the same direction. The final layer norm turns the dominant positional component into a
 * logit of ~a·√d for the wanted token, far above the random rest, so greedy decoding emits
 *   <|0.00|> w1 … wN <|30.00|> <|endoftext|>
 * while every layer still runs its real kernels over real-sized random weights.
 *
 * Positions are absolute: the prompt [SOT, lang, task] (multilingual) or [SOT] (English-only)
 * comes first; with `noTimestamps` the <|notimestamps|> token takes the place of <|0.00|>, so the
 * same words follow. An initial prompt shifts the script (as real prompts change real output).
 */
import type { SpecialTokens } from './tokens.js';

export interface PlantTarget {
  position: number;
  /** token → weight of its direction at this position (the first is the wanted one). */
  tokens: Array<[token: number, weight: number]>;
}

export function plantTargets(words: number[], special: SpecialTokens, nTextCtx: number): PlantTarget[] {
  const promptLen = special.multilingual ? 3 : 1;
  const targets: PlantTarget[] = [];
  if (special.multilingual) targets.push({ position: 0, tokens: [[special.langEn, 1]] });
  targets.push({ position: promptLen - 1, tokens: [[special.beg, 1]] });
  words.forEach((token, i) => {
    targets.push({ position: promptLen + i, tokens: [[token, 1]] });
  });
  // The closing timestamp; EOT a clear second, so it wins where timestamps are suppressed.
  targets.push({
    position: promptLen + words.length,
    tokens: [
      [special.beg + 1500, 1],
      [special.eot, 0.5],
    ],
  });
  for (let p = promptLen + words.length + 1; p < nTextCtx; p++) targets.push({ position: p, tokens: [[special.eot, 1]] });
  return targets;
}

/** Assign one basis dimension to each distinct planted token. */
export function plantDimensions(targets: PlantTarget[], nState: number): Map<number, number> {
  const dims = new Map<number, number>();
  for (const t of targets) {
    for (const [token] of t.tokens) if (!dims.has(token)) dims.set(token, dims.size);
  }
  if (dims.size > nState) throw new RangeError(`script too long for this model size (${dims.size} distinct tokens > ${nState})`);
  return dims;
}

/** Magnitudes: the positional component must dominate the random residual stream of every layer. */
export function plantMagnitudes(nState: number, nTextLayer: number): { positional: number; embedding: number } {
  return { positional: 30 * Math.sqrt(nState) * Math.sqrt(3 * nTextLayer), embedding: 3 };
}
