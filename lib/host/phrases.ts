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

/**
 * One line per dictation: id, mode, audio, stages, characters — the text only when asked for.
 *
 * The characters are counted as the indicator counts them (the text without the space that follows it).
 * "end → text" (StageTimes.total) is what the person waited for: from the dictation's end (release,
 * press, command, or the pause that cut a hands-free phrase) to the text in the window, the paste
 * inside it. The other stages are the last phrase's (with words; it carries the end), and its
 * transcription may have begun before that end — a phrase cut at a pause is transcribed while you go
 * on holding — so it is not a part of "end → text", and the line says so where it is longer.
 */
export function dictationLine(s: DictationSummary, withText: boolean): string {
  const t = s.times;
  const ms = (k: keyof StageTimes): number | undefined => (typeof t[k] === 'number' && Number.isFinite(t[k]) ? t[k] : undefined);
  const total = ms('total');
  const paste = ms('paste');
  const waited =
    total !== undefined ? `end → text ${total.toFixed(0)}${paste !== undefined ? ` (paste ${paste.toFixed(0)})` : ''}` : paste !== undefined ? `paste ${paste.toFixed(0)}` : '';
  const transcription = ms('transcription');
  const early = transcription !== undefined && total !== undefined && transcription + (paste ?? 0) > total ? ' (begun before the end)' : '';
  const phrase = [
    ['trigger', ms('trigger')],
    ['capture', ms('capture')],
    ['end of speech', ms('endOfSpeech')],
    ['transcription', transcription],
  ]
    .filter((e): e is [string, number] => e[1] !== undefined)
    .map(([k, v]) => `${k} ${v.toFixed(0)}${k === 'transcription' ? early : ''}`)
    .join(', ');
  const stages = [waited, phrase && s.phrases > 1 ? `last phrase: ${phrase}` : phrase].filter(Boolean).join(s.phrases > 1 ? '; ' : ', ');
  const phrases = `${s.phrases} phrase${s.phrases === 1 ? '' : 's'}`;
  const head = `dictation ${s.id} ${s.mode} (${s.trigger}, ended by ${s.ended}): ${phrases}, ${s.audioSeconds.toFixed(1)} s audio, ${s.text.trim().length} characters`;
  return `${head}${stages ? `; ms: ${stages}` : ''}${withText ? `; text: ${JSON.stringify(s.text)}` : ''}`;
}
