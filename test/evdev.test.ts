/**
 * The evdev hotkey against fake input devices: FIFOs standing in for /dev/input/eventN (written with
 * struct input_event records) and a fake sysfs tree with each device's key bitmap and name.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyCombo } from '../lib/config/keys.js';
import { WhisperError } from '../lib/errors.js';
import { EvdevHotkey, evdevAccess } from '../lib/host/desktop/wayland/evdev.js';
import { EVENT_SIZE, evdevCode, keyBitmap, keyBitmapText, LETTER_CODES } from '../lib/host/desktop/wayland/evdevCodes.js';
import { root } from './helpers.js';

const CTRL = 29;
const RCTRL = 97;
const ALT = 56;
const RALT = 100;
const SHIFT = 42;
const V = 47;
const X = 45;
const COMBO: KeyCombo = { modifiers: ['ctrl', 'alt'], key: 'v' };
const KEYBOARD_CODES = Array.from({ length: 200 }, (_, i) => i + 1);

/** One struct input_event (64-bit layout), time zero. */
function event(type: number, code: number, value: number): Buffer {
  const b = Buffer.alloc(EVENT_SIZE);
  b.writeUInt16LE(type, EVENT_SIZE - 8);
  b.writeUInt16LE(code, EVENT_SIZE - 6);
  b.writeInt32LE(value, EVENT_SIZE - 4);
  return b;
}
const SYN = event(0, 0, 0);
const down = (code: number) => Buffer.concat([event(1, code, 1), SYN]);
const up = (code: number) => Buffer.concat([event(1, code, 0), SYN]);
const repeat = (code: number) => Buffer.concat([event(1, code, 2), SYN]);

class FakeInput {
  readonly root = mkdtempSync(join(tmpdir(), 'prism-evdev-'));
  readonly dir = join(this.root, 'dev');
  readonly sysfs = join(this.root, 'sys');
  private readonly staging = join(this.root, 'staging');
  private readonly fds = new Map<string, number>();

  constructor() {
    for (const d of [this.dir, this.sysfs, this.staging]) mkdirSync(d);
  }

  /** A device node `node` (a FIFO this test holds open for writing) with its sysfs key bitmap and name. */
  add(node: string, o: { name?: string; codes?: readonly number[] } = {}): string {
    const dev = join(this.sysfs, node, 'device');
    mkdirSync(join(dev, 'capabilities'), { recursive: true });
    writeFileSync(join(dev, 'capabilities', 'key'), `${keyBitmapText(o.codes ?? KEYBOARD_CODES)}\n`);
    writeFileSync(join(dev, 'name'), `${o.name ?? `Fake keyboard ${node}`}\n`);
    const staged = join(this.staging, node);
    execFileSync('mkfifo', [staged]);
    // read-write: never blocks, and the FIFO keeps a writer (its reader sees the end when this closes)
    this.fds.set(node, openSync(staged, constants.O_RDWR));
    renameSync(staged, join(this.dir, node)); // appears at once, as a device node does
    return join(this.dir, node);
  }

  write(node: string, ...records: Buffer[]): void {
    const fd = this.fds.get(node);
    if (fd === undefined) throw new Error(`no device ${node}`);
    writeSync(fd, Buffer.concat(records));
  }

  /** Keeps only a write end, so that the hotkey's reader is the FIFO's only reader. */
  writeOnly(node: string): void {
    const fd = this.fds.get(node) as number;
    this.fds.set(node, openSync(join(this.dir, node), constants.O_WRONLY | constants.O_NONBLOCK));
    closeSync(fd);
  }

  /** The keyboard is pulled out and plugged in again: a new node under the same name; `done()` ends the old one's stream. */
  replug(node: string): { done(): void } {
    const old = this.fds.get(node) as number;
    const staged = join(this.staging, node);
    execFileSync('mkfifo', [staged]);
    this.fds.set(node, openSync(staged, constants.O_RDWR));
    renameSync(staged, join(this.dir, node));
    return { done: () => closeSync(old) };
  }

  /** The keyboard is pulled out: its reader sees the end of the stream, and the node goes away. */
  unplug(node: string): void {
    const fd = this.fds.get(node);
    if (fd !== undefined) closeSync(fd);
    this.fds.delete(node);
    unlinkSync(join(this.dir, node));
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** The hotkey's calls and log lines, with a wait for a condition on them (a generous deadline, no sleeps). */
class Recorder {
  readonly calls: string[] = [];
  readonly lines: string[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];
  readonly onDown = () => this.push(this.calls, 'down');
  readonly onUp = () => this.push(this.calls, 'up');
  readonly log = (line: string) => this.push(this.lines, line);

  private push(list: string[], item: string): void {
    list.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.check()) return true;
      w.resolve();
      return false;
    });
  }

  until(check: () => boolean, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; calls ${this.calls.join(',')}; log ${this.lines.join(' | ')}`)), 30_000);
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Until the hotkey has been called `n` times in all. */
  calls_(n: number): Promise<void> {
    return this.until(() => this.calls.length >= n, `${n} calls`);
  }

  logged(pattern: RegExp): Promise<void> {
    return this.until(() => this.lines.some((l) => pattern.test(l)), `a log line ${pattern}`);
  }
}

let input: FakeInput;
let rec: Recorder;
let hotkeys: EvdevHotkey[];

beforeEach(() => {
  input = new FakeInput();
  rec = new Recorder();
  hotkeys = [];
});

afterEach(async () => {
  await Promise.all(hotkeys.map((h) => h.stop()));
  input.close();
});

async function start(combo: KeyCombo = COMBO): Promise<EvdevHotkey> {
  const h = await EvdevHotkey.start(combo, rec.onDown, rec.onUp, { dir: input.dir, sysfs: input.sysfs, log: rec.log });
  hotkeys.push(h);
  return h;
}

describe('key table and sysfs bitmaps', () => {
  it('maps our key names to Linux input codes', () => {
    expect([evdevCode('a'), evdevCode('z'), evdevCode('v'), evdevCode('1'), evdevCode('0')]).toEqual([30, 44, 47, 2, 11]);
    expect([evdevCode('f1'), evdevCode('f10'), evdevCode('f11'), evdevCode('f12'), evdevCode('f13'), evdevCode('f24')]).toEqual([59, 68, 87, 88, 183, 194]);
    expect([evdevCode('space'), evdevCode('printscreen'), evdevCode('pause'), evdevCode('delete')]).toEqual([57, 99, 119, 111]);
    expect(evdevCode('toString')).toBeUndefined();
    expect(new Set(LETTER_CODES).size).toBe(26);
  });

  it('reads the key bitmap as sysfs prints it (hex words, highest first)', () => {
    // a real laptop keyboard's capabilities/key
    const has = keyBitmap('402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe', 64);
    expect(LETTER_CODES.every(has)).toBe(true);
    expect([has(CTRL), has(RCTRL), has(125), has(0)]).toEqual([true, true, true, false]);
    const text = keyBitmapText([1, 63, 64, 200], 64);
    expect(text).toBe('100 0 1 8000000000000002');
    const parsed = keyBitmap(text, 64);
    expect([1, 63, 64, 200].every(parsed)).toBe(true);
    expect([0, 2, 65, 199].some(parsed)).toBe(false);
    expect(keyBitmap('zz top')(1)).toBe(false);
  });
});

describe('EvdevHotkey', () => {
  it('is the press with exactly its modifiers and the release of its key; auto-repeat is ignored', async () => {
    input.add('event3');
    const h = await start();
    expect(h.releases).toBe(true);
    input.write('event3', down(CTRL), down(ALT), down(V), repeat(V), repeat(V), repeat(V));
    await rec.calls_(1);
    expect(h.held).toBe(true);
    input.write('event3', up(V), up(ALT), up(CTRL));
    await rec.calls_(2);
    expect(rec.calls).toEqual(['down', 'up']);
    expect(h.held).toBe(false);
  });

  it('ends the hold when a modifier is released first, and the key release after it does nothing', async () => {
    input.add('event3');
    await start();
    input.write('event3', down(CTRL), down(ALT), down(V));
    await rec.calls_(1);
    input.write('event3', up(ALT));
    await rec.calls_(2);
    // the key is still held: its repeats and its release are not a new press nor a second release;
    // pressing alt again while the key stays down is not a press either
    input.write('event3', repeat(V), down(ALT), repeat(V), up(V), up(ALT), up(CTRL));
    input.write('event3', down(RCTRL), down(RALT), down(V), up(V)); // right-hand modifiers count too
    await rec.calls_(4);
    expect(rec.calls).toEqual(['down', 'up', 'down', 'up']);
  });

  it('ignores the key with other modifiers, with missing ones, and repeats that were never pressed', async () => {
    input.add('event3');
    await start();
    input.write('event3', down(CTRL), down(ALT), down(SHIFT), down(V), up(V), up(SHIFT)); // one too many
    input.write('event3', up(ALT), down(V), up(V)); // ctrl alone
    input.write('event3', down(ALT), repeat(V), event(1, V, 2)); // a repeat is no press
    input.write('event3', down(X), up(X)); // another key with the modifiers
    input.write('event3', down(V)); // ctrl+alt+v: the first press that counts
    await rec.calls_(1);
    input.write('event3', up(CTRL));
    await rec.calls_(2);
    expect(rec.calls).toEqual(['down', 'up']);
  });

  it('holds modifiers across keyboards (ctrl+alt on one, the key on another)', async () => {
    input.add('event3', { name: 'laptop keyboard' });
    input.add('event7', { name: 'USB keyboard' });
    const h = await start();
    expect(h.reading.sort()).toEqual([join(input.dir, 'event3'), join(input.dir, 'event7')]);
    expect(h.via).toBe('evdev (2 keyboards)');
    input.write('event3', down(CTRL), down(ALT), down(V), up(V)); // on one keyboard: also shows its modifiers arrived
    await rec.calls_(2);
    input.write('event7', down(V));
    await rec.calls_(3);
    input.write('event3', up(ALT)); // the modifier's release on the other keyboard ends it
    await rec.calls_(4);
    input.write('event7', up(V));
    input.write('event3', up(CTRL), down(ALT), down(CTRL));
    input.write('event3', down(V)); // to sync: event7's release has no effect, event3's press does
    await rec.calls_(5);
    expect(rec.calls).toEqual(['down', 'up', 'down', 'up', 'down']);
  });

  it('reads only keyboards: a device without letter keys or without sysfs entry is left alone', async () => {
    input.add('event3');
    input.add('event4', { name: 'mouse', codes: [272, 273, 274] });
    input.add('event5', { name: 'power button', codes: [116] });
    input.add('event6', { name: 'macro pad', codes: LETTER_CODES.filter((c) => c !== 30) });
    input.add('event8');
    rmSync(join(input.sysfs, 'event8'), { recursive: true });
    const h = await start();
    expect(h.reading).toEqual([join(input.dir, 'event3')]);
    const access = evdevAccess({ dir: input.dir, sysfs: input.sysfs });
    expect(access).toEqual({ readable: [join(input.dir, 'event3')], unreadable: [] });
  });

  it('picks up a keyboard plugged in after start', async () => {
    input.add('event3');
    const h = await start();
    input.add('event9', { name: 'hot-plugged keyboard' });
    await rec.logged(/reading .*event9 \(hot-plugged keyboard\)/);
    expect(h.reading.sort()).toEqual([join(input.dir, 'event3'), join(input.dir, 'event9')]);
    input.write('event9', down(CTRL), down(ALT), down(V), up(V));
    await rec.calls_(2);
    expect(rec.calls).toEqual(['down', 'up']);
  });

  it('a keyboard pulled out and plugged in again before its old reader saw the end is read again', async () => {
    input.add('event3');
    input.add('event7');
    await start();
    input.write('event7', down(CTRL), down(ALT), down(V), up(V));
    await rec.calls_(2);
    const old = input.replug('event7');
    input.write('event3', down(CTRL), down(ALT), down(V), up(V), up(ALT), up(CTRL)); // the new node's notice has been seen by now
    await rec.calls_(4);
    old.done();
    await rec.logged(/event7 .* went away/);
    await rec.until(() => rec.lines.filter((l) => /reading .*event7/.test(l)).length === 2, 'event7 read again');
    input.write('event7', down(V), up(V), down(CTRL), down(ALT), down(V)); // its modifiers went with the old node
    await rec.calls_(5);
    expect(rec.calls).toEqual(['down', 'up', 'down', 'up', 'down']);
  });

  it('a keyboard pulled out while it holds the combination is its release; another one going away is not', async () => {
    input.add('event3');
    input.add('event7');
    input.add('event8');
    const h = await start();
    input.write('event7', down(CTRL), down(ALT), down(V));
    await rec.calls_(1);
    input.unplug('event8'); // not involved: quietly dropped
    await rec.logged(/event8 .* went away/);
    expect(rec.calls).toEqual(['down']);
    expect(h.held).toBe(true);
    input.unplug('event7');
    await rec.calls_(2);
    expect(rec.calls).toEqual(['down', 'up']);
    expect(rec.lines.some((l) => /event7 .* went away/.test(l))).toBe(true);
    expect(h.reading).toEqual([join(input.dir, 'event3')]);
    // its modifiers went with it: the remaining keyboard's own press is judged on its own
    input.write('event3', down(V), up(V), down(CTRL), down(ALT), down(V));
    await rec.calls_(3);
    expect(rec.calls).toEqual(['down', 'up', 'down']);
  });

  it('a keyboard pulled out that held one of its modifiers ends the hold', async () => {
    input.add('event3');
    input.add('event7');
    await start();
    input.write('event7', down(CTRL), down(ALT), down(V), up(V)); // event7's ctrl+alt have arrived
    await rec.calls_(2);
    input.write('event3', down(V));
    await rec.calls_(3);
    input.unplug('event7');
    await rec.calls_(4);
    expect(rec.calls).toEqual(['down', 'up', 'down', 'up']);
  });

  it('ends a hold that involves a device whose events were dropped (SYN_DROPPED)', async () => {
    input.add('event3');
    await start();
    input.write('event3', down(CTRL), down(ALT), down(V));
    await rec.calls_(1);
    input.write('event3', event(0, 3, 0), up(V)); // the release after the drop is not taken twice
    await rec.calls_(2);
    input.write('event3', down(CTRL), down(ALT), down(V));
    await rec.calls_(3);
    expect(rec.calls).toEqual(['down', 'up', 'down']);
  });

  it('stop() closes every reader and the folder watch, so nothing keeps the process alive', async () => {
    const kinds = () =>
      process
        .getActiveResourcesInfo()
        .filter((r) => ['ProcessWrap', 'PipeWrap', 'FSEventWrap', 'FSReqCallback', 'FileHandle'].includes(r))
        .sort();
    const turns = async () => {
      // a process handle is closed in the loop's close phase, after its 'close' event: two turns pass it
      for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
    };
    await turns(); // what an earlier test's stop() left closing
    const before = kinds();
    const a = input.add('event3');
    const b = input.add('event7');
    const h = await start();
    input.write('event3', down(CTRL), down(ALT), down(V), up(V));
    input.write('event7', down(CTRL), down(ALT), down(V), up(V));
    await rec.calls_(4);
    input.writeOnly('event3');
    input.writeOnly('event7');
    closeSync(openSync(a, constants.O_WRONLY | constants.O_NONBLOCK)); // the hotkey's reader is there (else ENXIO)
    expect(kinds().length).toBeGreaterThan(before.length);
    await h.stop();
    await h.stop(); // twice is harmless
    await turns();
    expect(kinds()).toEqual(before);
    // no reader is left on the devices: with this test's own reader gone, opening one for writing finds nobody
    for (const path of [a, b]) expect(() => openSync(path, constants.O_WRONLY | constants.O_NONBLOCK)).toThrow(expect.objectContaining({ code: 'ENXIO' }));
    expect(h.reading).toEqual([]);
  });

  it('a process that stops the hotkey exits by itself (the built module, in a child process)', () => {
    input.add('event3');
    input.add('event7');
    input.write('event3', down(CTRL), down(ALT), down(V)); // waiting in the FIFO for the child's reader
    const evdev = pathToFileURL(join(root, 'dist', 'host', 'desktop', 'wayland', 'evdev.js')).href;
    const script = `
      import { EvdevHotkey } from ${JSON.stringify(evdev)};
      const h = await EvdevHotkey.start({ modifiers: ['ctrl', 'alt'], key: 'v' }, async () => {
        console.log('down via ' + h.via);
        await h.stop();
        console.log('stopped');
      }, () => {}, { dir: ${JSON.stringify(input.dir)}, sysfs: ${JSON.stringify(input.sysfs)} });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('down via evdev (2 keyboards)\nstopped\n');
    expect(r.signal).toBeNull(); // not killed at the deadline: it ended on its own
    expect(r.status).toBe(0);
  });

  it('no keyboard at all: HOTKEY_UNAVAILABLE', async () => {
    input.add('event4', { name: 'mouse', codes: [272, 273] });
    const e = await EvdevHotkey.start(COMBO, rec.onDown, rec.onUp, { dir: input.dir, sysfs: input.sysfs, label: 'Ctrl+Alt+V' }).catch((x: unknown) => x);
    expect(WhisperError.is(e, 'HOTKEY_UNAVAILABLE')).toBe(true);
    expect((e as Error).message).toMatch(/^Ctrl\+Alt\+V through evdev: no keyboard under .*dev \(no event device with letter keys and v\)/);
    const e2 = await EvdevHotkey.start(COMBO, rec.onDown, rec.onUp, { dir: join(input.root, 'absent'), sysfs: input.sysfs }).catch((x: unknown) => x);
    expect(WhisperError.is(e2, 'HOTKEY_UNAVAILABLE')).toBe(true);
    expect((e2 as Error).message).toMatch(/no input devices .*ENOENT/);
  });

  it('keyboards it cannot open: HOTKEY_UNAVAILABLE with the fix and why it is opt-in', async () => {
    // a socket cannot be opened even by root (ENXIO): it stands in for a keyboard without permission
    const dev = join(input.sysfs, 'event3', 'device');
    mkdirSync(join(dev, 'capabilities'), { recursive: true });
    writeFileSync(join(dev, 'capabilities', 'key'), keyBitmapText(KEYBOARD_CODES));
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(join(input.dir, 'event3'), r));
    try {
      const access = evdevAccess({ dir: input.dir, sysfs: input.sysfs, key: 'v' });
      expect(access.readable).toEqual([]);
      expect(access.unreadable).toEqual([join(input.dir, 'event3')]);
      expect(access.fix).toBe('sudo usermod -aG input $USER, then log out and in');
      const e = await EvdevHotkey.start(COMBO, rec.onDown, rec.onUp, { dir: input.dir, sysfs: input.sysfs }).catch((x: unknown) => x);
      expect(WhisperError.is(e, 'HOTKEY_UNAVAILABLE')).toBe(true);
      const m = (e as Error).message;
      expect(m).toContain(`cannot read the keyboards (${join(input.dir, 'event3')})`);
      expect(m).toContain('sudo usermod -aG input $USER');
      expect(m).toContain('log out and in');
      expect(m).toMatch(/every key you press.*opt-in/);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it.skipIf(process.getuid?.() === 0)('a keyboard without read permission is unreadable', () => {
    const path = input.add('event3');
    chmodSync(path, 0o200);
    const access = evdevAccess({ dir: input.dir, sysfs: input.sysfs });
    expect(access.unreadable).toEqual([path]);
    expect(access.problem).toMatch(/cannot read the keyboards/);
  });
});
