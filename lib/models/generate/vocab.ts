/**
 * A synthetic byte-level vocabulary for generated models: the 256 single bytes, a list of common
 * English words (so planted scripts read as words), then pronounceable filler up to the size
 * of the real Whisper vocabulary. Token strings are raw bytes, as in the official ggml files.
 */
export const SCRIPT_WORDS = (
  'and so my fellow americans ask not what your country can do for you ask what you can do for your country ' +
  'the quick brown fox jumps over a lazy dog while seven bright stars watch quiet rivers run to the open sea ' +
  'please send the report before noon today we will meet again next week to review every number on the list ' +
  'local models answer fast because nothing leaves this machine and each word arrives right where you type it ' +
  'time people year way day thing man world life hand part child eye woman place work week case point number ' +
  'group problem fact good new first last long great little own other old right big high different small large ' +
  'next early young important few public bad same able'
).split(' ');

const ONSETS = [
  '',
  'b',
  'c',
  'd',
  'f',
  'g',
  'h',
  'j',
  'k',
  'l',
  'm',
  'n',
  'p',
  'r',
  's',
  't',
  'v',
  'w',
  'z',
  'br',
  'ch',
  'cr',
  'dr',
  'fl',
  'gr',
  'pl',
  'pr',
  'sh',
  'st',
  'th',
  'tr',
];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'ou'];
const CODAS = ['', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'st'];

function syllable(i: number): string {
  const o = ONSETS[i % ONSETS.length];
  const v = VOWELS[Math.floor(i / ONSETS.length) % VOWELS.length];
  const c = CODAS[Math.floor(i / (ONSETS.length * VOWELS.length)) % CODAS.length];
  return `${o}${v}${c}`;
}
const SYLLABLES = ONSETS.length * VOWELS.length * CODAS.length;

export interface Vocabulary {
  tokens: Buffer[];
  /** token id of " word" for each distinct script word */
  idOf: Map<string, number>;
}

/** Build `count` token strings; `extraWords` are guaranteed to exist as " word" tokens. */
export function buildVocabulary(count: number, extraWords: readonly string[] = []): Vocabulary {
  const tokens: Buffer[] = [];
  const seen = new Set<string>();
  const idOf = new Map<string, number>();
  const add = (s: string): void => {
    if (tokens.length >= count || seen.has(s)) return;
    seen.add(s);
    tokens.push(Buffer.from(s, 'utf8'));
  };
  for (let b = 0; b < 256; b++) {
    tokens.push(Buffer.from([b]));
    seen.add(Buffer.from([b]).toString('latin1'));
  }
  for (const w of [...SCRIPT_WORDS, ...extraWords]) {
    const token = ` ${w}`;
    if (!seen.has(token)) idOf.set(w, tokens.length);
    add(token);
  }
  for (let i = 0; tokens.length < count; i++) {
    const a = syllable(i % SYLLABLES);
    const word = i < SYLLABLES ? a : `${a}${syllable(Math.floor(i / SYLLABLES) - 1)}`;
    add(i % 2 === 0 ? ` ${word}` : word);
  }
  return { tokens, idOf };
}
