/** Special token ids of a Whisper vocabulary, derived from n_vocab as whisper.cpp does. */
export interface SpecialTokens {
  multilingual: boolean;
  languages: number;
  eot: number;
  sot: number;
  /** id of the first language token (English). */
  langEn: number;
  translate: number;
  transcribe: number;
  notimestamps: number;
  /** <|0.00|>; timestamp k (k × 20 ms) is beg + k. */
  beg: number;
  /** how many text tokens the file's vocabulary lists (ids 0 … textTokens − 1). */
  textTokens: number;
}

export function specialTokens(nVocab: number): SpecialTokens {
  const multilingual = nVocab >= 51865;
  const languages = nVocab - 51765 - (multilingual ? 1 : 0);
  const shift = multilingual ? languages - 98 : 0;
  const eot = 50256 + (multilingual ? 1 : 0);
  return {
    multilingual,
    languages,
    eot,
    sot: eot + 1,
    langEn: eot + 2,
    translate: 50357 + shift,
    transcribe: 50358 + shift,
    notimestamps: 50362 + shift,
    beg: 50363 + shift,
    textTokens: eot,
  };
}
