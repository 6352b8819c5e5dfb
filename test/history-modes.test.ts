/** The history folder holds the user's voice: private modes from the start, old entries pruned at start (issue 25, item 9). */
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupDictations, historyText } from '../lib/cli/dictate.js';
import { type DictationRecord, History } from '../lib/host/history.js';
import { dictationLine } from '../lib/host/phrases.js';
import type { StageTimes } from '../lib/metrics/stages.js';

const settings = { enabled: true, keep: 3, maxAgeDays: 30 };
const tone = (seconds: number): Float32Array => Float32Array.from({ length: Math.round(seconds * 16000) }, (_, i) => 0.3 * Math.sin(i / 5));
const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'prism-history-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe.skipIf(process.platform === 'win32')('history file modes', () => {
  it('a new folder is 0700 and every WAV and record in it 0600, whatever the umask', async () => {
    const dir = join(root, 'new');
    const h = new History(dir, settings);
    const r = await h.save(tone(0.2), {});
    await h.update(r, { state: 'done', text: 'hello' });
    expect(await mode(dir)).toBe(0o700);
    const names = await readdir(dir);
    expect(names.sort()).toEqual([`${r.id}.json`, `${r.id}.wav`]);
    for (const n of names) expect(await mode(join(dir, n)), n).toBe(0o600);
  });

  it('a folder left 0755 with 0644 files (an earlier version) is tightened when it is opened, before any dictation', async () => {
    const dir = join(root, 'old');
    const first = new History(dir, settings);
    const r = await first.save(tone(0.2), {});
    await chmod(dir, 0o755);
    for (const n of await readdir(dir)) await chmod(join(dir, n), 0o644);
    const outside = join(root, 'not-history.txt');
    await writeFile(outside, 'x', { mode: 0o644 });
    await chmod(outside, 0o644);
    await symlink(outside, join(dir, 'link.json'));

    const opened = new History(dir, settings);
    await opened.ready;
    expect(await mode(dir)).toBe(0o700);
    expect(await mode(join(dir, `${r.id}.wav`))).toBe(0o600);
    expect(await mode(join(dir, `${r.id}.json`))).toBe(0o600);
    expect(await mode(outside)).toBe(0o644); // a link is not followed
  });

  it('prunes old entries when opened, not only after the next dictation', async () => {
    const dir = join(root, 'prune');
    const first = new History(dir, { ...settings, keep: 100 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await first.save(tone(0.05), {})).id);
    const oldest = (await first.list(10)).at(-1);
    if (!oldest) throw new Error('no record');
    await first.update(oldest, { at: new Date(Date.now() - 40 * 86_400_000).toISOString() });

    const opened = new History(dir, { ...settings, keep: 3 });
    await opened.ready;
    const left = (await readdir(dir)).filter((n) => n.endsWith('.json'));
    expect(left.sort()).toEqual(ids.slice(2).map((id) => `${id}.json`));
  });

  it('history off: an existing folder is still made private, none is created', async () => {
    const dir = join(root, 'off');
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await new History(dir, { ...settings, enabled: false }).ready;
    expect(await mode(dir)).toBe(0o700);
    const none = join(root, 'never-made');
    await new History(none, { ...settings, enabled: false }).ready;
    await expect(stat(none)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('the log line of a dictation (issue 27, item 5)', () => {
  const line = (times: StageTimes, phrases = 1, text = 'Hello there. '): string =>
    dictationLine({ id: '4', mode: 'hybrid/held', trigger: 'hotkey', ended: 'release', phrases, audioSeconds: 7.2, times, text }, false);

  it('counts the characters the indicator counts: the text without its trailing space', () => {
    const text = `${'x'.repeat(120)} `;
    expect(line({}, 1, text)).toMatch(/, 120 characters$/);
  });

  it('never prints a total below one of its parts: "end → text" holds the paste, a transcription begun before the end says so', () => {
    // the case seen: a sentence cut at a pause while the key was still held, transcribed while held, the release 1.6 s later
    const l = line({ trigger: 4, capture: 6100, endOfSpeech: 88, transcription: 1737, paste: 10, total: 1649 });
    expect(l).toMatch(/; ms: end → text 1649 \(paste 10\), trigger 4, capture 6100, end of speech 88, transcription 1737 \(begun before the end\)$/);
    expect(l).not.toMatch(/total/);
    // a transcription inside the wait is not flagged
    expect(line({ transcription: 300, paste: 3, total: 317 })).toMatch(/; ms: end → text 317 \(paste 3\), transcription 300$/);
    // several phrases: the phrase stages are the last phrase's, and said to be
    expect(line({ capture: 2977, transcription: 312, paste: 3, total: 317 }, 3)).toMatch(/; ms: end → text 317 \(paste 3\); last phrase: capture 2977, transcription 312$/);
  });
});

describe('prism-dictate history as a table (issue 27, item 5)', () => {
  const rec = (id: string, at: string, dictation: string | undefined, phrase: number, state: DictationRecord['state'], text?: string, seconds = 2): DictationRecord => ({
    id,
    at,
    seconds,
    state,
    ...(text !== undefined ? { text } : {}),
    settings: dictation ? { dictation, phrase } : {},
  });
  // newest first, as History.list gives them: a dictation of three phrases, then one of one phrase
  const records = [
    rec('c3', '2026-12-06T10:00:09.000Z', 'D2', 3, 'no-speech', undefined, 1),
    rec('c2', '2026-12-06T10:00:06.000Z', 'D2', 2, 'done', 'How are you? ', 3.5),
    rec('c1', '2026-12-06T10:00:03.000Z', 'D2', 1, 'done', 'Hello world. ', 3),
    rec('b1', '2026-12-06T09:00:00.000Z', 'D1', 1, 'copied', 'Only one. '),
    { ...rec('a1', '2026-12-06T08:00:00.000Z', undefined, 1, 'failed'), error: { code: 'TRANSCRIBE_FAILED', message: 'the engine crashed' } },
  ];

  it('groups the phrase records into dictations, newest first, the phrases in the order said', () => {
    const ds = groupDictations(records);
    expect(ds.map((d) => d.id)).toEqual(['D2', 'D1', 'a1']);
    expect(ds[0]).toMatchObject({ at: '2026-12-06T10:00:03.000Z', seconds: 7.5, state: 'done', text: 'Hello world. How are you?' });
    expect(ds[0]?.phrases.map((p) => p.id)).toEqual(['c1', 'c2', 'c3']);
    expect(ds[2]).toMatchObject({ state: 'failed', text: '' });
  });

  it('says what the rows are, has a header with units, and lists the phrases under their dictation', () => {
    const out = historyText(groupDictations(records), '/h/history').split('\n');
    expect(out[0]).toBe('3 dictations (5 phrases), newest first, from /h/history');
    expect(out.join('\n')).toMatch(/length: seconds of audio/);
    const header = out.findIndex((l) => /^time\s+length\s+state\s+text$/.test(l));
    expect(header).toBeGreaterThan(0);
    const rows = out.slice(header + 1).filter(Boolean);
    expect(rows).toHaveLength(3 + 3); // three dictations, and the three phrases of the one cut at pauses
    expect(rows[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+7\.5 s {2}done {7}Hello world\. How are you\?$/);
    expect(rows[1]).toMatch(/^\s+3\.0 s {2}done {9}phrase 1: Hello world\.$/);
    expect(rows[3]).toMatch(/^\s+1\.0 s {2}no-speech {4}phrase 3: \(no speech\)$/);
    expect(rows[4]).toMatch(/2\.0 s {2}copied {5}Only one\.$/);
    expect(rows[5]).toMatch(/failed {5}\(the engine crashed\)$/);
  });
});
