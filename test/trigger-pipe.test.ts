/**
 * The trigger pipe (lib/host/triggerPipe.ts): a compositor binding's `echo press 1<>PIPE` reaches the
 * daemon as the word it wrote, in order; what is not a trigger word is dropped with a log line; a file
 * that is not the user's private FIFO is not trusted; and a binding pressed while no daemon reads the
 * pipe never hangs (issue 26, item 4).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type PipeAction, TriggerPipe } from '../lib/host/triggerPipe.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'prism-pipe-'));
  dirs.push(d);
  return d;
};
const echo = (path: string, ...words: string[]) => {
  const r = spawnSync('sh', ['-c', words.map((w) => `echo '${w}' 1<>"$0"`).join('; '), path], { timeout: 10_000 });
  expect(r.status).toBe(0);
};

describe.skipIf(process.platform !== 'linux')('the trigger pipe', () => {
  it('takes the words a shell echoes into it, in order; drops what is not a trigger word, and overlong lines', async () => {
    const path = join(dir(), 'trigger');
    const got: PipeAction[] = [];
    const logs: string[] = [];
    let done: () => void = () => {};
    const all = new Promise<void>((r) => (done = r));
    const pipe = TriggerPipe.open(
      path,
      (a) => got.push(a) === 4 && done(),
      (l) => logs.push(l),
    );
    try {
      expect(lstatSync(path).isFIFO()).toBe(true);
      expect(lstatSync(path).mode & 0o777).toBe(0o600);
      echo(path, 'press', 'rm -rf /', 'x'.repeat(100), 'release', 'toggle');
      // a line that never ends is not buffered without bound: dropped, up to its newline
      expect(spawnSync('sh', ['-c', `printf '%s' ${'y'.repeat(4000)} 1<>"$0"`, path], { timeout: 10_000 }).status).toBe(0);
      echo(path, 'end', 'cancel');
      await all;
      expect(got).toEqual(['press', 'release', 'toggle', 'cancel']);
      expect(logs.join('\n')).toMatch(/"rm -rf \/" is not one of press, release/);
      expect(logs.join('\n')).toMatch(new RegExp(`"${'x'.repeat(32)}" is not one of`));
      expect(logs.some((l) => /longer than 32 bytes dropped|"y{32}" is not one of/.test(l))).toBe(true); // with `end`: one line
      expect(Math.max(...logs.map((l) => l.length))).toBeLessThan(200);
    } finally {
      pipe.close();
    }
    expect(existsSync(path)).toBe(false); // closed: removed, as when no daemon runs
  });

  it('a binding pressed while no daemon reads the pipe returns at once (1<> never blocks), and a new daemon does not get the old word', async () => {
    const path = join(dir(), 'trigger');
    TriggerPipe.open(
      path,
      () => {},
      () => {},
    ).close();
    expect(spawnSync('mkfifo', ['-m', '600', path]).status).toBe(0); // a FIFO left by a daemon that crashed
    echo(path, 'press'); // would hang with a plain `>` (open for writing waits for a reader)
    const got: PipeAction[] = [];
    let done: () => void = () => {};
    const next = new Promise<void>((r) => (done = r));
    const pipe = TriggerPipe.open(
      path,
      (a) => {
        got.push(a);
        done();
      },
      () => {},
    );
    try {
      echo(path, 'release');
      await next;
      expect(got).toEqual(['release']);
    } finally {
      pipe.close();
    }
  });

  it('is made again when the file there is ours but not a private FIFO (a plain file, a symlink, mode 0666)', () => {
    const d = dir();
    const path = join(d, 'trigger');
    writeFileSync(path, 'press\n');
    TriggerPipe.open(
      path,
      () => {},
      () => {},
    ).close();
    symlinkSync(join(d, 'elsewhere'), path);
    const p2 = TriggerPipe.open(
      path,
      () => {},
      () => {},
    );
    expect(lstatSync(path).isFIFO()).toBe(true);
    expect(existsSync(join(d, 'elsewhere'))).toBe(false); // the link was replaced, nothing made at its target
    p2.close();
    expect(spawnSync('mkfifo', ['-m', '666', path]).status).toBe(0);
    chmodSync(path, 0o666);
    const p3 = TriggerPipe.open(
      path,
      () => {},
      () => {},
    );
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    p3.close();
  });
});
