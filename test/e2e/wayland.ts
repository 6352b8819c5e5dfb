/**
 * A throwaway headless Wayland session for end-to-end tests (this file is the whole recipe): sway on
 * wlroots' headless backend with the pixman renderer, run as an unprivileged user (sway refuses root;
 * the daemon runs as that user too, as on a real desktop where compositor and daemon are one user),
 * XWayland, a long-lived virtual keyboard (wtype), foot windows and an XWayland xterm that record what
 * they receive, the hotkey through a real sway binding (`bindsym --no-repeat` → `echo press` into the daemon's trigger pipe, `--release` →
 * release) pressed and released by a virtual keyboard, the Wayland clipboard through wl-copy/wl-paste, and
 * the PulseAudio virtual microphone and speech of desktop.ts (started without X11, as the same user).
 * Every process it starts is tracked by PID and killed by stop().
 *
 * Verified by hand (sway 1.7, foot 1.13, wtype 0.4, wl-clipboard 2.1, Xwayland 22.1):
 * - `wtype -M logo -M alt -P v - -p v -m alt -m logo` presses the chord, holds it while its stdin is
 *   open (the `-` reads text to type from stdin until EOF) and releases it at EOF: one process for
 *   press and release. A chord pressed by one wtype and released by another is not one key to sway (the
 *   device that pressed it is gone): the `--release` binding never fires.
 * - A wtype that types text while a chord is held uploads a new keymap: the held key is no longer
 *   `v` and its release matches no binding.
 * - foot records exactly what is typed into it under `stty raw -echo` (UTF-8 text as sent, no
 *   bracketed-paste markers: cat never asks for them); an xterm under XWayland needs a UTF-8 locale
 *   (LANG=C.UTF-8) or non-ASCII letters arrive as Latin-1 or not at all.
 * - wtype's modifiers (`-M ctrl -M shift v`) do not reliably reach XWayland windows (a lone ^V, or
 *   nothing, in an xterm that pastes on Ctrl+Shift+V); typed text does.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { models, root } from '../helpers.js';
import { chownTree, type Desktop, exited, kill, onPath, type SessionUser, type SpawnOptions, startDesktop, until } from './desktop.js';

/**
 * Ctrl+Shift+V pastes CLIPBOARD in the xterm target, as in modern terminals (and in foot). Both `V` and
 * `v`: wtype's keymap gives its keys one level, so Ctrl+Shift+v arrives as keysym `v` with Shift and
 * Control in the state (xev), and xterm matches the exact keysym (GTK and Qt apps fold the case).
 */
const XTERM_PASTE = 'XTerm*VT100.translations: #override Ctrl Shift <Key>V: insert-selection(CLIPBOARD) \\n Ctrl Shift <Key>v: insert-selection(CLIPBOARD)';

/** The unprivileged user of the session when this process is root (sway refuses root): nobody. */
const NOBODY: SessionUser = { uid: 65534, gid: 65534 };

const TOOLS: [command: string, debianPackage: string][] = [
  ['sway', 'sway'],
  ['swaymsg', 'sway'],
  ['foot', 'foot'],
  ['wtype', 'wtype'],
  ['wl-copy', 'wl-clipboard'],
  ['wl-paste', 'wl-clipboard'],
  ['Xwayland', 'xwayland'],
  ['xterm', 'xterm'],
  ['xdpyinfo', 'x11-utils'],
  ['xhost', 'x11-xserver-utils'],
  ['setpriv', 'util-linux'],
  ['pulseaudio', 'pulseaudio'],
  ['pactl', 'pulseaudio-utils'],
  ['paplay', 'pulseaudio-utils'],
  ['espeak-ng', 'espeak-ng'],
  ['sox', 'sox'],
];

/** The user the session runs as: nobody when this process is root, else this process's own. */
export function sessionUser(): SessionUser | undefined {
  return process.getuid?.() === 0 ? NOBODY : undefined;
}

/**
 * Why the Wayland session cannot run here (missing tools, with their Debian packages; a session user
 * that cannot read this repository, node or the test model); undefined when it can.
 */
export function waylandMissing(): string | undefined {
  if (process.platform !== 'linux') return `a headless sway session (Linux only; this is ${process.platform})`;
  const missing = TOOLS.filter(([cmd]) => !onPath(cmd));
  if (missing.length) {
    const names = missing.map(([cmd]) => cmd).join(', ');
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    return `missing ${names} (apt-get install --no-install-recommends ${packages} libasound2-plugins)`;
  }
  const user = sessionUser();
  if (user) {
    // the daemon runs as the session's user: it must read the repository (and its build), node and the model
    const paths = [join(root, 'bin', 'prism-dictate.js'), join(root, 'build'), join(root, 'node_modules'), process.execPath, models().tiny];
    const r = spawnSync(
      'setpriv',
      [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', 'sh', '-c', 'for p; do test -r "$p" || { echo "$p"; exit 1; }; done', 'sh', ...paths],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0)
      return `the session user (uid ${user.uid}) cannot read ${r.stdout.trim() || r.stderr.trim() || 'the repository'}: sway refuses root, so the daemon runs as that user (make the checkout world-readable)`;
  }
  return undefined;
}

export interface WaylandTarget {
  readonly kind: 'foot' | 'xterm';
  /** foot: its app_id (and title); xterm: its title */
  readonly name: string;
  text(): Promise<string>;
  /** Polls text() until predicate holds; rejects with the last text after timeoutMs. */
  waitFor(predicate: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Gives the window the keyboard focus (swaymsg) and checks sway says it has it. */
  focus(): Promise<void>;
  close(): Promise<void>;
}

/** A chord held down by a virtual keyboard until release(). */
export interface HeldKeys {
  /** performance.now() when the release was asked for (wtype sends it at once) */
  releasedAt?: number;
  /** Releases the chord; resolves once the virtual keyboard has sent it and gone. */
  release(): Promise<void>;
}

export interface Wayland {
  /** For children: WAYLAND_DISPLAY, DISPLAY (XWayland), SWAYSOCK, XDG_RUNTIME_DIR, PULSE_SERVER, HOME, … */
  readonly env: NodeJS.ProcessEnv;
  readonly user?: SessionUser;
  readonly dir: string;
  /** XWayland's display, ":1" */
  readonly display: string;
  readonly waylandDisplay: string;
  /** the sound and speech half (PulseAudio with the virtual microphone), started without X11 */
  readonly audio: Desktop;
  speak(text: string): Promise<string>;
  play(wavPath: string): Promise<void>;
  swaymsg(...args: string[]): Promise<string>;
  /**
   * `prism-dictate` as the session runs it: a script that runs this repository's CLI for the daemon
   * that dictateFor() names (the sway config binds it to the chord at start).
   */
  readonly command: string;
  /** The chord's binding drives the daemon whose PRISM_DICTATE_HOME is `home` from now on. */
  dictateFor(home: string): Promise<void>;
  /** Presses the chord (wtype names: logo, alt, ctrl, shift; then the key) and holds it until release(). */
  press(modifiers: string[], key: string): HeldKeys;
  /** Presses and releases the chord at once. */
  tap(modifiers: string[], key: string): Promise<void>;
  /** Owns the Wayland clipboard with `text` (a wl-copy kept running) and waits until it is served. */
  setClipboard(text: string): Promise<void>;
  /** What wl-paste gets ('' when nothing is copied). */
  getClipboard(): Promise<string>;
  openTarget(kind: 'foot' | 'xterm'): Promise<WaylandTarget>;
  /** app_id (or, for X windows, the title) of the focused window */
  focused(): Promise<string | undefined>;
  pids(): number[];
  /** Kills every process started here (targets, keyboard, sway and its XWayland, PulseAudio), removes the files. */
  stop(): Promise<void>;
}

/**
 * Starts the session; `combo` (sway's names, default Mod4+Mod1+v: Super+Alt+V) is bound in sway's config
 * as `prism-dictate hotkey setup` writes it: press (no repeat) → `press`, release → `release`; and
 * `toggleCombo` (default Mod4+Mod1+t) → `toggle`.
 */
export async function startWayland(o: { combo?: string; toggleCombo?: string } = {}): Promise<Wayland> {
  const user = sessionUser();
  const audio = await startDesktop({ x11: false, user });
  const w = new Sway(audio, user, o.combo ?? 'Mod4+Mod1+v', o.toggleCombo ?? 'Mod4+Mod1+t');
  try {
    await w.start();
    return w;
  } catch (e) {
    await w.stop();
    throw e;
  }
}

interface SwayNode {
  id: number;
  name?: string | null;
  app_id?: string | null;
  pid?: number;
  focused?: boolean;
  window_properties?: { title?: string; class?: string };
  nodes?: SwayNode[];
  floating_nodes?: SwayNode[];
}

function* walk(n: SwayNode): Generator<SwayNode> {
  yield n;
  for (const c of [...(n.nodes ?? []), ...(n.floating_nodes ?? [])]) yield* walk(c);
}

class Sway implements Wayland {
  env: NodeJS.ProcessEnv = {};
  display = '';
  waylandDisplay = '';
  private sway: ChildProcess | undefined;
  private copier: ChildProcess | undefined;
  private xwaylandPid: number | undefined;
  private counter = 0;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly audio: Desktop,
    readonly user: SessionUser | undefined,
    private readonly combo: string,
    private readonly toggleCombo: string,
  ) {}

  get command(): string {
    return join(this.dir, 'bin', 'prism-dictate');
  }

  private get homeFile(): string {
    return join(this.dir, 'bin', 'dictate-home');
  }

  async dictateFor(home: string): Promise<void> {
    await writeFile(this.homeFile, home);
  }

  get dir(): string {
    return this.audio.dir;
  }

  private get run(): string {
    return join(this.dir, 'run');
  }

  async start(): Promise<void> {
    const conf = join(this.dir, 'sway.conf');
    await mkdir(join(this.dir, 'bin'));
    await writeFile(this.homeFile, '');
    const script = `#!/bin/sh\nPRISM_DICTATE_HOME="$(cat ${this.homeFile})" exec ${process.execPath} ${join(root, 'bin', 'prism-dictate.js')} "$@"\n`;
    await writeFile(this.command, script, { mode: 0o755 });
    // xwayland force: XWayland starts with sway (not at the first X client), so DISPLAY answers at once
    await writeFile(
      conf,
      [
        'output HEADLESS-1 resolution 1280x800',
        'xwayland force',
        'focus_on_window_activation focus',
        // the binding prism-dictate hotkey setup --write adds for sway: a word into the daemon's trigger pipe
        // (the pipe of the daemon dictateFor() names)
        `bindsym --no-repeat ${this.combo} exec echo press 1<>"$(cat ${this.homeFile})/trigger"`,
        `bindsym --release ${this.combo} exec echo release 1<>"$(cat ${this.homeFile})/trigger"`,
        // and a toggle, as GNOME and KDE get it (press only)
        `bindsym ${this.toggleCombo} exec ${this.command} toggle`,
        '',
      ].join('\n'),
    );
    if (this.user) await chownTree(this.dir, this.user);
    const home = this.audio.env.HOME as string;
    // sway as a login session starts it: a clean environment, the runtime folder 0700 and the user's
    const swayEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      XDG_RUNTIME_DIR: this.run,
      LANG: 'C.UTF-8',
      WLR_BACKENDS: 'headless',
      WLR_RENDERER: 'pixman',
      WLR_LIBINPUT_NO_DEVICES: '1',
    };
    const sway = this.spawn('sway', 'sway', ['-c', conf], { env: swayEnv, asUser: true });
    this.sway = sway;
    const [wayland, swaysock] = await until('sway (its Wayland and IPC sockets)', 20_000, async () => {
      if (sway.exitCode !== null) throw new Error(`sway exited with code ${sway.exitCode}${this.audio.logTail('sway')}`);
      const names = await readdir(this.run);
      const wl = names.find((n) => /^wayland-\d+$/.test(n));
      const ipc = names.find((n) => /^sway-ipc\..*\.sock$/.test(n));
      return wl && ipc ? [wl, join(this.run, ipc)] : undefined;
    });
    this.waylandDisplay = wayland;
    const env: NodeJS.ProcessEnv = { ...this.audio.env, WAYLAND_DISPLAY: wayland, SWAYSOCK: swaysock, XDG_SESSION_TYPE: 'wayland', XDG_CURRENT_DESKTOP: 'sway' };
    this.env = env;
    await until('sway answering on its IPC socket', 10_000, async () => (await this.swaymsg('-t', 'get_version')) || undefined);

    // XWayland's display: sway puts it in the environment of what it starts
    const displayFile = join(this.dir, 'xwayland-display');
    await this.swaymsg(`exec printf %s "$DISPLAY" > ${displayFile}`);
    this.display = await until("XWayland's DISPLAY", 10_000, async () => {
      const d = existsSync(displayFile) ? (await readFile(displayFile, 'utf8')).trim() : '';
      return d || undefined;
    });
    env.DISPLAY = this.display;
    await until(`XWayland on ${this.display}`, 20_000, () => this.audio.run('xdpyinfo', ['-display', this.display], { timeoutMs: 5000, asUser: true, env }));
    this.xwaylandPid = xLockPid(this.display);
    // the test process (root) may talk to XWayland too
    if (this.user) await this.audio.run('xhost', ['+si:localuser:root'], { asUser: true, env });

    // A keyboard on the seat for good: chords from a virtual keyboard that has just connected are lost
    this.spawn('keyboard', 'wtype', ['-s', '3600000'], { env, asUser: true });
    await until('the virtual keyboard on the seat', 10_000, async () => {
      const inputs = JSON.parse(await this.swaymsg('-t', 'get_inputs')) as Array<{ type: string }>;
      return inputs.some((i) => i.type === 'keyboard') ? true : undefined;
    });
  }

  speak(text: string): Promise<string> {
    return this.audio.speak(text);
  }

  play(wavPath: string): Promise<void> {
    return this.audio.play(wavPath);
  }

  swaymsg(...args: string[]): Promise<string> {
    return this.audio.run('swaymsg', args, { env: this.env, timeoutMs: 10_000 });
  }

  press(modifiers: string[], key: string): HeldKeys {
    const args = [...modifiers.flatMap((m) => ['-M', m]), '-P', key, '-', '-p', key, ...modifiers.toReversed().flatMap((m) => ['-m', m])];
    const p = this.spawn(`hotkey-${++this.counter}`, 'wtype', args, { env: this.env, stdin: 'pipe', asUser: true });
    const held: HeldKeys = {
      release: async () => {
        held.releasedAt = performance.now();
        p.stdin?.end(); // EOF: wtype goes on to release the key, then the modifiers
        await exited(p);
        if (p.exitCode !== 0) throw new Error(`wtype exited with ${p.exitCode ?? p.signalCode}${this.audio.logTail(`hotkey-${this.counter}`)}`);
      },
    };
    return held;
  }

  async tap(modifiers: string[], key: string): Promise<void> {
    const args = [...modifiers.flatMap((m) => ['-M', m]), '-P', key, '-p', key, ...modifiers.toReversed().flatMap((m) => ['-m', m])];
    await this.audio.run('wtype', args, { env: this.env, asUser: true });
  }

  async setClipboard(text: string): Promise<void> {
    if (this.copier) await kill(this.copier);
    this.copier = this.spawn(`wl-copy-${++this.counter}`, 'wl-copy', ['--foreground'], { env: this.env, stdin: 'pipe', asUser: true });
    this.copier.stdin?.end(text);
    await until('the Wayland clipboard', 5000, async () => ((await this.getClipboard()) === text ? true : undefined));
  }

  async getClipboard(): Promise<string> {
    return this.audio.run('wl-paste', ['--no-newline'], { env: this.env, asUser: true, timeoutMs: 5000 }).catch((e: Error) => {
      if (/Nothing is copied|No selection/i.test(e.message)) return '';
      throw e;
    });
  }

  async focused(): Promise<string | undefined> {
    const tree = JSON.parse(await this.swaymsg('-t', 'get_tree')) as SwayNode;
    for (const n of walk(tree)) if (n.focused) return n.app_id ?? n.window_properties?.title ?? n.name ?? undefined;
    return undefined;
  }

  async openTarget(kind: 'foot' | 'xterm'): Promise<WaylandTarget> {
    const n = ++this.counter;
    const name = `prism-${kind}-${n}-${process.pid}`;
    const out = join(this.dir, `target-${n}.txt`);
    const shell = 'stty raw -echo; exec cat > "$0"';
    const proc =
      kind === 'foot'
        ? this.spawn(name, 'foot', [`--app-id=${name}`, `--title=${name}`, 'sh', '-c', shell, out], { env: this.env, asUser: true })
        : this.spawn(name, 'xterm', ['-T', name, '-n', name, '-geometry', '100x20+0+0', '-xrm', XTERM_PASTE, '-e', 'sh', '-c', shell, out], {
            env: { ...this.env, LANG: 'C.UTF-8' },
            asUser: true,
          });
    try {
      await until(`the ${kind} window "${name}"`, 15_000, async () => {
        if (proc.exitCode !== null) throw new Error(`${kind} exited with code ${proc.exitCode}${this.audio.logTail(name)}`);
        const tree = JSON.parse(await this.swaymsg('-t', 'get_tree')) as SwayNode;
        for (const w of walk(tree)) if (w.app_id === name || w.window_properties?.title === name) return true;
        return undefined;
      });
      // the file appears once the shell has set the terminal raw and cat listens
      await until(`the ${kind} window's record file`, 10_000, async () => (existsSync(out) ? true : undefined));
      const target = new SwayTarget(kind, name, out, proc, this);
      await target.focus();
      return target;
    } catch (e) {
      await kill(proc);
      throw e;
    }
  }

  pids(): number[] {
    return this.audio.pids();
  }

  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    // Clients first, then sway (its XWayland and what it started go with it), then the sound half.
    await Promise.all([...this.tracked].filter((p) => p !== this.sway).map((p) => kill(p)));
    if (this.sway) await kill(this.sway, 5000);
    await this.reapXwayland();
    await this.audio.stop();
  }

  /** The long-lived processes started here (sway, the keyboard, targets, wl-copy, held chords). */
  private readonly tracked = new Set<ChildProcess>();

  private spawn(name: string, cmd: string, args: string[], o: SpawnOptions): ChildProcess {
    const p = this.audio.spawn(name, cmd, args, { ...o, asUser: true });
    this.tracked.add(p);
    p.once('exit', () => this.tracked.delete(p));
    return p;
  }

  /** XWayland ends with sway; after a SIGKILL of sway it may not: kill it by its pid, remove its lock. */
  private async reapXwayland(): Promise<void> {
    const pid = this.xwaylandPid;
    if (!pid || !this.display) return;
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    if (alive(pid) && xLockPid(this.display) === pid) process.kill(pid, 'SIGKILL');
    const n = this.display.slice(1);
    if (xLockPid(this.display) === pid) {
      rmSync(`/tmp/.X${n}-lock`, { force: true });
      rmSync(`/tmp/.X11-unix/X${n}`, { force: true });
    }
  }
}

function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pid in an X server's lock file (/tmp/.X1-lock), if there is one. */
function xLockPid(display: string): number | undefined {
  try {
    const pid = Number(readFileSync(`/tmp/.X${display.slice(1)}-lock`, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

class SwayTarget implements WaylandTarget {
  constructor(
    readonly kind: 'foot' | 'xterm',
    readonly name: string,
    private readonly file: string,
    private readonly proc: ChildProcess,
    private readonly sway: Sway,
  ) {}

  async text(): Promise<string> {
    try {
      return await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw e;
    }
  }

  async waitFor(predicate: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = await this.text();
      if (predicate(text)) return text;
      if (Date.now() > deadline) throw new Error(`the ${this.kind} target did not receive the expected text within ${timeoutMs} ms; it has ${JSON.stringify(text)}`);
      await sleep(10); // fine-grained: release → text is measured through this
    }
  }

  async focus(): Promise<void> {
    const criteria = this.kind === 'foot' ? `[app_id="^${this.name}$"]` : `[title="^${this.name}$"]`;
    await until(`the focus on the ${this.kind} window`, 5000, async () => {
      await this.sway.swaymsg(`${criteria} focus`);
      return (await this.sway.focused()) === this.name ? true : undefined;
    });
  }

  close(): Promise<void> {
    return kill(this.proc);
  }
}
