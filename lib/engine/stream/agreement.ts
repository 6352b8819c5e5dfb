/**
 * LocalAgreement-2 (the idea of ufal/whisper_streaming): the open phrase is decoded again and again
 * as it grows; a word is committed once two consecutive hypotheses agree on it, as the longest
 * common prefix of the two. What is committed is never taken back: a later hypothesis that
 * disagrees with it commits nothing more (a conflict, counted) until two agree with it again. The
 * rest of the newest hypothesis, past the committed words, is the unstable tail.
 *
 * Words are compared without case and without the punctuation around them ("Country," agrees with
 * "country"); the committed text keeps each word as the hypothesis that committed it spelt it.
 */

/** A word for comparison: lower case, the punctuation around it dropped. */
export function wordKey(word: string): string {
  return word.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
}

export function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** Whether `text`'s words begin with `prefix`'s (as wordKey compares them). */
export function startsWithWords(text: string[], prefix: string[]): boolean {
  return prefix.length <= text.length && prefix.every((w, i) => wordKey(w) === wordKey(text[i] as string));
}

export interface Agreement {
  /** every committed word of the phrase, the new ones included */
  committed: string[];
  /** committed by this hypothesis */
  added: number;
  /** the newest hypothesis past the committed words */
  tail: string[];
  /** the hypothesis disagreed with the committed words */
  conflict: boolean;
}

export class LocalAgreement {
  private previous: string[] | undefined;
  private readonly done: string[] = [];
  /** hypotheses that disagreed with what was committed */
  conflicts = 0;

  get committed(): readonly string[] {
    return this.done;
  }

  /** One more hypothesis of the growing phrase (its whole text). */
  update(text: string): Agreement {
    const hyp = words(text);
    const n = this.done.length;
    const conflict = !startsWithWords(hyp, this.done);
    let added = 0;
    if (conflict) this.conflicts++;
    else if (this.previous && startsWithWords(this.previous, this.done)) {
      let agreed = n;
      while (agreed < hyp.length && agreed < this.previous.length && wordKey(hyp[agreed] as string) === wordKey(this.previous[agreed] as string)) agreed++;
      for (let i = n; i < agreed; i++) this.done.push(hyp[i] as string);
      added = agreed - n;
    }
    this.previous = hyp;
    // on a conflict the tail is what the hypothesis has past as many words as are committed: a display hint only
    return { committed: [...this.done], added, tail: hyp.slice(this.done.length), conflict };
  }
}
