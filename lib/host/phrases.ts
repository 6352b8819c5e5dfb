/**
 * A dictation is cut into phrases at the pauses the VAD finds; each phrase is transcribed on its own
 * (the previous phrase's text as its prompt) and pasted as soon as it is done while latched, or all
 * together at the release while held. This file holds the plain helpers of that: joining texts with
 * the right spacing, the prompt, and the one log line a dictation leaves.
 */
import type { StageTimes } from '../metrics/stages.js';

/** `next` as it should follow `before` in the window: one space between words, never two. */
export function spaced(before: string, next: string): string {
  if (!before || !next || /\s$/.test(before) || /^[\s.,;:!?)\]}]/.test(next)) return next;
  return ` ${next}`;
}

/** Texts of consecutive phrases as one text. */
export function joinPhrases(texts: string[]): string {
  let out = '';
  for (const t of texts) out += spaced(out, t);
  return out;
}

/** The prompt of a phrase: the user's vocabulary, then the end of what was just said (Whisper keeps ~224 prompt tokens). */
export function phrasePrompt(vocabulary: string | undefined, previous: string): string | undefined {
  const tail = previous.trim().slice(-600);
  const p = [vocabulary?.trim(), tail].filter(Boolean).join(' ');
  return p || undefined;
}

export interface DictationSummary {
  id: string;
  mode: string;
  trigger: string;
  ended: string;
  phrases: number;
  audioSeconds: number;
  /** stages of the dictation's last phrase */
  times: StageTimes;
  text: string;
}

/** One line per dictation: id, mode, audio, stages, characters — the text only when asked for. */
export function dictationLine(s: DictationSummary, withText: boolean): string {
  const stages = Object.entries(s.times)
    .filter(([, v]) => typeof v === 'number' && Number.isFinite(v))
    .map(([k, v]) => `${k} ${(v as number).toFixed(0)}`)
    .join(', ');
  const phrases = `${s.phrases} phrase${s.phrases === 1 ? '' : 's'}`;
  const head = `dictation ${s.id} ${s.mode} (${s.trigger}, ended by ${s.ended}): ${phrases}, ${s.audioSeconds.toFixed(1)} s audio, ${s.text.length} characters`;
  return `${head}${stages ? `; ms: ${stages}` : ''}${withText ? `; text: ${JSON.stringify(s.text)}` : ''}`;
}
