/**
 * Driving the running daemon from anywhere (a desktop shortcut on Wayland, Talon, AutoHotkey, a
 * script): toggle, begin, end, cancel, repaste, retry over its socket; and `history`, read straight
 * from the history folder (no daemon needed).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { WhisperError } from '../errors.js';
import { HOST_ACTIONS } from '../host/actions.js';
import { type DictationRecord, type DictationState, History } from '../host/history.js';
import { joinPhrases } from '../host/phrases.js';
import { servicePaths } from '../service/home.js';
import { configFor } from './config.js';
import { report } from './exit.js';
import { localTime } from './localTime.js';
import { runAction } from './quick.js';

const WHAT: Record<(typeof HOST_ACTIONS)[number], string> = {
  toggle: 'start dictating, or stop and transcribe',
  begin: 'start dictating',
  end: 'stop dictating and transcribe',
  press: "the hotkey went down (a compositor binding's press): hotkey.mode applies, so in hybrid a tap latches and a hold is push-to-talk",
  release: 'the hotkey came up (the binding of its release)',
  cancel: 'drop the utterance being recorded (or stop the one being transcribed)',
  repaste: 'paste the last dictated text again',
  retry: 'transcribe a kept audio again (the newest, or the history entry named) and paste it',
};

export function dictateCommands(program: Command): void {
  for (const action of HOST_ACTIONS) {
    const command = program.command(action).description(WHAT[action]).option('--json', 'print the reply as JSON');
    if (action === 'retry') {
      command
        .argument('[id]', 'the history entry to transcribe again (its id, as `history --json` prints it); default: the newest with kept audio')
        .action((id: string | undefined, o: { json?: boolean }) => runAction(action, { ...o, ...(id ? { id } : {}) }));
    } else command.action((o: { json?: boolean }) => runAction(action, o));
  }

  program
    .command('history')
    .description('recent dictations, newest first: when, seconds of audio, state and text, with the phrases of one cut at pauses under it')
    .option('--limit <n>', 'how many dictations', '20')
    .option('--json', 'print the phrase records of those dictations as JSON (newest first; settings.dictation and settings.phrase link a phrase to its dictation)')
    .action(async (o: { limit: string; json?: boolean }, cmd: Command) => {
      try {
        const limit = Number(o.limit);
        if (!(Number.isInteger(limit) && limit > 0)) throw new WhisperError('BAD_ARGUMENT', `--limit takes a whole number of dictations above 0, got "${o.limit}"`);
        const c = configFor(cmd);
        const history = new History(join(servicePaths().home, 'history'), c.history);
        const dictations = groupDictations(await history.list(Number.POSITIVE_INFINITY)).slice(0, limit);
        if (o.json) {
          const records = dictations.flatMap((d) => [...d.phrases].reverse());
          process.stdout.write(
            `${JSON.stringify(
              records.map((r) => ({ ...r, audio: r.audio ? join(history.dir, r.audio) : undefined })),
              null,
              2,
            )}\n`,
          );
          return;
        }
        process.stdout.write(historyText(dictations, history.dir));
      } catch (e) {
        report(e);
      }
    });
}

/** One dictation of the history: its phrases (records linked by settings.dictation), oldest first. */
export interface DictationEntry {
  /** the dictation's id (settings.dictation), or the record's own for one saved without it */
  id: string;
  /** when its first phrase was kept */
  at: string;
  /** seconds of audio, all phrases */
  seconds: number;
  state: DictationState;
  /** the phrases' texts joined as they were delivered */
  text: string;
  phrases: DictationRecord[];
}

/**
 * The state a dictation shows, as the dashboard shows it (lib/web/dashboard/feed.ts, dictationState):
 * failed when a phrase failed, else copied when one was copied, else done when one was delivered,
 * else the last phrase's (no-speech, cancelled, captured).
 */
function dictationState(phrases: DictationRecord[]): DictationState {
  for (const st of ['failed', 'copied', 'done'] as const) if (phrases.some((p) => p.state === st)) return st;
  return phrases.at(-1)?.state ?? 'captured';
}

/** Records (newest first, one per phrase) grouped into dictations, newest first. */
export function groupDictations(records: DictationRecord[]): DictationEntry[] {
  const groups = new Map<string, DictationRecord[]>();
  for (const r of records) {
    const key = typeof r.settings?.dictation === 'string' ? `d:${r.settings.dictation}` : `r:${r.id}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.entries()].map(([key, rs]) => {
    const phrases = [...rs].sort((a, b) => Number(a.settings?.phrase ?? 0) - Number(b.settings?.phrase ?? 0) || a.at.localeCompare(b.at));
    return {
      id: key.slice(2),
      at: (phrases[0] as DictationRecord).at,
      seconds: phrases.reduce((sum, p) => sum + p.seconds, 0),
      state: dictationState(phrases),
      text: joinPhrases(phrases.map((p) => p.text?.trim() ?? '').filter(Boolean)),
      phrases,
    };
  });
}

/** What a row shows when there is no text: why. */
function noText(r: { state: DictationState; error?: { message: string } }): string {
  if (r.error) return `(${r.error.message})`;
  return r.state === 'no-speech' ? '(no speech)' : r.state === 'captured' ? '(not transcribed yet: prism-dictate retry)' : '';
}

/** The history as a table for people: a title, what the columns hold, a header, a row per dictation and one per phrase under it. */
export function historyText(dictations: DictationEntry[], dir: string): string {
  if (dictations.length === 0) return `no dictations yet in ${dir}\n`;
  const phrases = dictations.reduce((n, d) => n + d.phrases.length, 0);
  const out = [
    `${dictations.length} dictation${dictations.length === 1 ? '' : 's'} (${phrases} phrase${phrases === 1 ? '' : 's'}), newest first, from ${dir}`,
    'time: local, when it was kept; length: seconds of audio; state: done (typed or pasted), copied (on the clipboard to paste),',
    '  failed, no-speech, cancelled, captured (kept, not transcribed); text: what was delivered. A dictation cut at pauses lists its phrases under it.',
    `${'time'.padEnd(19)}  ${'length'.padStart(7)}  ${'state'.padEnd(9)}  text`,
  ];
  const row = (time: string, seconds: number, state: string, text: string): string => `${time.padEnd(19)}  ${`${seconds.toFixed(1)} s`.padStart(7)}  ${state.padEnd(9)}  ${text}`;
  for (const d of dictations) {
    out.push(row(localTime(d.at), d.seconds, d.state, d.text || noText(d.phrases.find((p) => p.error) ?? d)));
    if (d.phrases.length < 2) continue;
    for (const [i, p] of d.phrases.entries()) out.push(row('', p.seconds, p.state, `  phrase ${p.settings?.phrase ?? i + 1}: ${p.text?.trim() || noText(p)}`));
  }
  return `${out.join('\n')}\n`;
}
