/**
 * Push-to-talk on any Wayland compositor by reading the keyboards' evdev devices (/dev/input/eventN):
 * opt-in (`desktop.hotkey: 'evdev'`), as it needs the user in group `input` and lets the daemon see every
 * key press. Only the combination's key and the eight modifier keys are looked at; nothing else is kept
 * or logged. The keys still reach the focused window (nothing is grabbed).
 *
 * Same rules as the uiohook hotkey: a press of the key with exactly the combination's modifiers held (on
 * any keyboard) is the press; a release of the key or of any of its modifiers is the release; auto-repeat
 * is ignored. Keyboards plugged in later are picked up (the folder is watched); one that goes away is
 * dropped, and if it held the combination, that is its release (a yanked keyboard must not leave the
 * recording on).
 *
 * Each device is read by a `cat` child into a pipe: Node reads character devices only through blocking
 * reads on its thread pool, which would hold one pool thread per keyboard for good and keep the process
 * alive after stop(); a pipe is polled by the event loop, costs nothing while idle, and a kill ends it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, constants, type FSWatcher, openSync, readdirSync, readSync, statSync, watch } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import type { KeyCombo, Modifier } from '../../../config/keys.js';
import { WhisperError } from '../../../errors.js';
import type { HotkeyHandle } from '../contract.js';
import { EV_KEY, EV_SYN, EVENT_SIZE, evdevCode, keyBitmap, LETTER_CODES, MODIFIER_CODES, SYN_DROPPED, SYN_REPORT } from './evdevCodes.js';

export interface EvdevOptions {
  /** where the event devices are (default /dev/input) */
  dir?: string;
  /** sysfs input class, for each device's key bitmap and name (default /sys/class/input) */
  sysfs?: string;
  /** device lines: opened, gone, unreadable (never a key) */
  log?: (line: string) => void;
  /** the combination as the user wrote it, for messages */
  label?: string;
}

export interface EvdevAccess {
  /** keyboards this process can read (paths) */
  readable: string[];
  /** keyboards it cannot (paths) */
  unreadable: string[];
  /** why the evdev hotkey cannot work, when it cannot */
  problem?: string;
  /** the command that fixes it */
  fix?: string;
}

export const EVDEV_FIX = 'sudo usermod -aG input $USER, then log out and in';
const PRIVACY = 'group input lets the daemon (and every program you run) read every key you press, which is why the evdev hotkey is opt-in';

const NODE = /^event\d{1,5}$/;
const ORDER: Modifier[] = ['ctrl', 'alt', 'shift', 'meta'];
const ALL_MODIFIER_CODES = new Set(ORDER.flatMap((m) => MODIFIER_CODES[m]));
const LE = endianness() === 'LE';

interface Keyboard {
  node: string;
  path: string;
  name: string;
}

interface Device extends Keyboard {
  child: ChildProcess;
  closed: Promise<void>;
  /** bytes of an event split across reads */
  rest: Buffer;
  /** after SYN_DROPPED: events up to the next SYN_REPORT are incomplete */
  dropping: boolean;
  /** modifier keys held on this device (codes) */
  mods: Set<number>;
  /** it gave events: a reader that ends after that may be retried, one that never did is not (no spawn loop) */
  gaveEvents: boolean;
}

/** The first `max` bytes of a small file (sysfs, /etc/group), or undefined. */
function readSmall(path: string, max = 4096): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const b = Buffer.alloc(max);
    const n = readSync(fd, b, 0, max, null);
    return b.subarray(0, n).toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The device `node` as a keyboard (it has every letter key and each of `codes`), or undefined. */
function keyboard(dir: string, sysfs: string, node: string, codes: readonly number[]): Keyboard | undefined {
  const bits = readSmall(join(sysfs, node, 'device', 'capabilities', 'key'));
  if (bits === undefined) return undefined;
  const has = keyBitmap(bits);
  if (!LETTER_CODES.every(has) || !codes.every(has)) return undefined;
  const name = (readSmall(join(sysfs, node, 'device', 'name'), 256) ?? '').trim().replace(/[^\x20-\x7e]/g, '?') || 'keyboard';
  return { node, path: join(dir, node), name };
}

/** Whether this process may read `path`: an open that cannot block (a FIFO has no writer yet), then closed. */
function probe(path: string): NodeJS.ErrnoException | undefined {
  try {
    closeSync(openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY));
    return undefined;
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
}

function nodesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => NODE.test(n))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
}

/** Why `path` is unreadable, in the user's terms: a session that predates the group, or no group at all. */
function whyUnreadable(path: string): string {
  try {
    const gid = statSync(path).gid;
    const line = (readSmall('/etc/group', 1 << 20) ?? '').split('\n').find((l) => l.split(':')[2] === String(gid));
    const group = line?.split(':')[0] ?? `gid ${gid}`;
    const user = process.env.USER ?? process.env.LOGNAME;
    if (process.getgroups?.().includes(gid)) return `they are not readable by their group ${group}`;
    const members = line?.split(':')[3]?.split(',') ?? [];
    if (user && members.includes(user)) return `${user} is in group ${group}, but this session started before that: log out and in`;
    return `this user is not in group ${group}`;
  } catch {
    return 'permission denied';
  }
}

/** Which keyboards this process can read, for doctor; `key`: the hotkey's key, which a keyboard must have. */
export function evdevAccess(o: { dir?: string; sysfs?: string; key?: string } = {}): EvdevAccess {
  const dir = o.dir ?? '/dev/input';
  const sysfs = o.sysfs ?? '/sys/class/input';
  const code = o.key === undefined ? undefined : evdevCode(o.key);
  if (o.key !== undefined && code === undefined) return { readable: [], unreadable: [], problem: `no keyboard key is called "${o.key}"` };
  let nodes: string[];
  try {
    nodes = nodesIn(dir);
  } catch (e) {
    return { readable: [], unreadable: [], problem: `no input devices (${dir}: ${(e as NodeJS.ErrnoException).code ?? e})` };
  }
  const readable: string[] = [];
  const unreadable: string[] = [];
  for (const node of nodes) {
    const kb = keyboard(dir, sysfs, node, code === undefined ? [] : [code]);
    if (!kb) continue;
    const err = probe(kb.path);
    if (!err) readable.push(kb.path);
    else if (err.code !== 'ENOENT' && err.code !== 'ENODEV') unreadable.push(kb.path);
  }
  if (readable.length > 0) return { readable, unreadable };
  if (unreadable.length === 0) {
    const what = o.key === undefined ? 'letter keys' : `letter keys and ${o.key}`;
    return { readable, unreadable, problem: `no keyboard under ${dir} (no event device with ${what})` };
  }
  const why = whyUnreadable(unreadable[0] as string);
  return { readable, unreadable, problem: `cannot read the keyboards (${unreadable.join(', ')}): ${why}`, fix: EVDEV_FIX };
}

export class EvdevHotkey implements HotkeyHandle {
  readonly releases = true;
  private readonly devices = new Map<string, Device>();
  /** unreadable keyboards already logged (until their node goes away) */
  private readonly told = new Set<string>();
  private watcher: FSWatcher | undefined;
  private stopping: Promise<void> | undefined;
  /** the combination is held; `from`: the device its key went down on */
  private down = false;
  private from: Device | undefined;

  private constructor(
    private readonly dir: string,
    private readonly sysfs: string,
    private readonly key: number,
    private readonly want: ReadonlySet<Modifier>,
    /** codes whose release ends the hold: the key and both sides of each of its modifiers */
    private readonly releaseCodes: ReadonlySet<number>,
    private readonly onDown: () => void,
    private readonly onUp: () => void,
    private readonly log: (line: string) => void,
  ) {}

  /** Reads every keyboard under `dir`; rejects HOTKEY_UNAVAILABLE (with the fix) when none can be read. */
  static async start(combo: KeyCombo, onDown: () => void, onUp: () => void, o: EvdevOptions = {}): Promise<EvdevHotkey> {
    const dir = o.dir ?? '/dev/input';
    const sysfs = o.sysfs ?? '/sys/class/input';
    const label = o.label ?? [...combo.modifiers, combo.key].map((s) => s.charAt(0).toUpperCase() + s.slice(1)).join('+');
    const key = evdevCode(combo.key);
    if (key === undefined) throw new WhisperError('HOTKEY_UNAVAILABLE', `${label}: no keyboard key is called "${combo.key}"; choose another hotkey.keys`);
    const release = new Set([key, ...combo.modifiers.flatMap((m) => MODIFIER_CODES[m])]);
    const h = new EvdevHotkey(dir, sysfs, key, new Set(combo.modifiers), release, onDown, onUp, o.log ?? (() => undefined));
    try {
      h.watcher = watch(dir, (_event, name) => {
        if (typeof name === 'string' && NODE.test(name)) h.consider(name);
      });
      h.watcher.on('error', (e) => h.log(`evdev: stopped watching ${dir} for new keyboards: ${e.message}`));
    } catch (e) {
      h.log(`evdev: cannot watch ${dir} for new keyboards: ${(e as Error).message}`);
    }
    const access = evdevAccess({ dir, sysfs, key: combo.key });
    if (access.readable.length === 0) {
      await h.stop();
      const fix = access.fix ? ` Fix: ${access.fix}; note that ${PRIVACY}.` : '';
      throw new WhisperError('HOTKEY_UNAVAILABLE', `${label} through evdev: ${access.problem}.${fix}`);
    }
    for (const path of access.readable) h.consider(path.slice(path.lastIndexOf('/') + 1));
    for (const path of access.unreadable) {
      h.told.add(path.slice(path.lastIndexOf('/') + 1));
      h.log(`evdev: cannot read ${path}; only the readable keyboards give the hotkey`);
    }
    return h;
  }

  /** Whether the combination is held now (between onDown and onUp). */
  get held(): boolean {
    return this.down;
  }

  /** How the keys are seen, for the start message and doctor: "evdev (2 keyboards)". */
  get via(): string {
    const n = this.devices.size;
    return `evdev (${n} keyboard${n === 1 ? '' : 's'})`;
  }

  /** The keyboards being read (paths). */
  get reading(): string[] {
    return [...this.devices.values()].map((d) => d.path);
  }

  /** A node appeared or changed (udev sets its permissions after creating it): read it if it is a keyboard. */
  private consider(node: string): void {
    if (this.stopping || this.devices.has(node)) return;
    const kb = keyboard(this.dir, this.sysfs, node, [this.key]);
    if (!kb) return;
    const err = probe(kb.path);
    if (err) {
      if (err.code === 'ENOENT' || err.code === 'ENODEV') {
        this.told.delete(node);
      } else if (!this.told.has(node)) {
        this.told.add(node);
        this.log(`evdev: cannot read ${kb.path} (${kb.name}): ${err.code ?? err.message}; ${EVDEV_FIX}`);
      }
      return;
    }
    this.told.delete(node);
    this.open(kb);
  }

  private open(kb: Keyboard): void {
    const child = spawn('cat', ['--', kb.path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let failure: string | undefined;
    let settle: () => void = () => undefined;
    const dev: Device = { ...kb, child, closed: new Promise((r) => (settle = r)), rest: Buffer.alloc(0), dropping: false, mods: new Set(), gaveEvents: false };
    this.devices.set(kb.node, dev);
    child.stdout?.on('data', (chunk: Buffer) => this.data(dev, chunk));
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 300) stderr += d.toString('utf8').slice(0, 300);
    });
    child.on('error', (e) => {
      failure = e.message;
    });
    child.on('close', (code) => {
      settle();
      const why =
        failure ??
        (stderr
          .trim()
          .split('\n')[0]
          ?.replace(/^cat: [^:]*: /, '') ||
          (code === 0 ? 'end of stream' : `exit ${code}`));
      this.gone(dev, why);
    });
    this.log(`evdev: reading ${kb.path} (${kb.name})`);
  }

  private data(dev: Device, chunk: Buffer): void {
    dev.gaveEvents = true;
    const buf = dev.rest.length > 0 ? Buffer.concat([dev.rest, chunk]) : chunk;
    let off = 0;
    for (; off + EVENT_SIZE <= buf.length; off += EVENT_SIZE) {
      const at = off + EVENT_SIZE - 8;
      const type = LE ? buf.readUInt16LE(at) : buf.readUInt16BE(at);
      const code = LE ? buf.readUInt16LE(at + 2) : buf.readUInt16BE(at + 2);
      const value = LE ? buf.readInt32LE(at + 4) : buf.readInt32BE(at + 4);
      this.event(dev, type, code, value);
    }
    dev.rest = off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
  }

  private event(dev: Device, type: number, code: number, value: number): void {
    if (this.stopping) return;
    if (type === EV_SYN) {
      if (code === SYN_DROPPED) {
        // the kernel's buffer overflowed: key states may be stale; a hold that involves this device ends
        dev.dropping = true;
        this.lost(dev);
      } else if (code === SYN_REPORT) {
        dev.dropping = false;
      }
      return;
    }
    if (type !== EV_KEY || dev.dropping || value === 2) return; // 2: auto-repeat
    if (ALL_MODIFIER_CODES.has(code)) {
      if (value === 1) dev.mods.add(code);
      else if (value === 0) dev.mods.delete(code);
    }
    if (value === 1 && code === this.key) {
      if (this.down || !this.exactModifiers()) return;
      this.down = true;
      this.from = dev;
      this.onDown();
    } else if (value === 0 && this.down && this.releaseCodes.has(code)) {
      this.release();
    }
  }

  private exactModifiers(): boolean {
    return ORDER.every((m) => {
      const [left, right] = MODIFIER_CODES[m];
      const held = [...this.devices.values()].some((d) => d.mods.has(left) || d.mods.has(right));
      return held === this.want.has(m);
    });
  }

  private release(): void {
    this.down = false;
    this.from = undefined;
    this.onUp();
  }

  /** `dev`'s key state is gone: if the held combination came from it (its key or one of its modifiers), that is the release. */
  private lost(dev: Device): void {
    const involved = this.down && (this.from === dev || [...dev.mods].some((c) => this.releaseCodes.has(c)));
    dev.mods.clear();
    if (involved) this.release();
  }

  private gone(dev: Device, why: string): void {
    if (this.devices.get(dev.node) !== dev) return;
    this.devices.delete(dev.node);
    if (this.stopping) return;
    this.log(`evdev: ${dev.path} (${dev.name}) went away: ${why}`);
    this.lost(dev);
    // unplugged and plugged in again before this reader saw the end: the new node is read at once
    if (dev.gaveEvents) this.consider(dev.node);
  }

  /** Stops reading every keyboard and watching for new ones; resolves when all readers are closed. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.watcher?.close();
    this.watcher = undefined;
    this.down = false;
    this.from = undefined;
    const devices = [...this.devices.values()];
    for (const d of devices) d.child.kill('SIGTERM');
    this.stopping = Promise.all(devices.map((d) => d.closed)).then(() => {
      this.devices.clear();
    });
    return this.stopping;
  }
}
