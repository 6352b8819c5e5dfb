/** The history folder holds the user's voice: private modes from the start, old entries pruned at start (issue 25, item 9). */
import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { History } from '../lib/host/history.js';

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
