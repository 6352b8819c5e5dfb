/**
 * A throwaway headless desktop for end-to-end tests (this file is the whole recipe): Xvfb with RECORD
 * (uiohook needs it), a private PulseAudio whose null sink `vmic_sink` is remapped to the
 * default source `vmic` (the microphone) and whose default sink `speakers` takes what is played
 * (the cues), HOME and XDG_RUNTIME_DIR in a temp folder, and X windows that record what is typed or
 * pasted into them. Every process it starts is tracked by PID and killed by stop() (and, as a last
 * resort, when the test process exits).
 *
 * Pasting through XTest (`xdotool key --clearmodifiers …`), verified by hand:
 * - Tk target: ctrl+v and shift+Insert paste CLIPBOARD.
 * - xterm target: ctrl+v sends a literal ^V; ctrl+shift+v pastes CLIPBOARD (this harness adds that
 *   translation, as modern terminals have it); shift+Insert pastes PRIMARY (stock xterm).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { xselCommand } from '../../lib/host/desktop/x11/session.js';

export interface Target {
  readonly kind: 'tk' | 'xterm';
  /** The X window id (decimal, as xdotool prints it). */
  readonly window: string;
  readonly title: string;
  /** Everything the window received so far. */
  text(): Promise<string>;
  /** Polls text() until predicate holds; rejects with the last text after timeoutMs. */
  waitFor(predicate: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Gives the window the X input focus and checks that it has it. */
  focus(): Promise<void>;
  close(): Promise<void>;
}

export type Selection = 'clipboard' | 'primary';

/** An unprivileged user that the session's own processes (the sound server, a compositor, the daemon) run as. */
export interface SessionUser {
  uid: number;
  gid: number;
}

export interface DesktopOptions {
  /** false: no Xvfb, no DISPLAY (a Wayland harness brings its own display); default true */
  x11?: boolean;
  /**
   * Run the session's long-lived processes (PulseAudio, and whatever is spawned with asUser) as this
   * user, the temp folder owned by it (needs root): a compositor that refuses root, and a daemon whose
   * 0700 home its compositor's key bindings must reach, are then one user, as on a real desktop.
   */
  user?: SessionUser;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  stdin?: 'pipe';
  stdout?: 'pipe';
  extraFd?: boolean;
  /** run it as the desktop's user (setpriv) */
  asUser?: boolean;
}

export interface Desktop {
  /** The environment to spawn children with: DISPLAY, PULSE_SERVER, HOME, XDG_RUNTIME_DIR, … */
  readonly env: NodeJS.ProcessEnv;
  /** '' without X11 */
  readonly display: string;
  /** the user the session runs as (undefined: this process's) */
  readonly user?: SessionUser;
  /** The temp folder holding HOME, XDG_RUNTIME_DIR, logs/ (each process's output) and the files made here. */
  readonly dir: string;
  /** espeak-ng → sox: a 16 kHz mono 16-bit WAV of `text`; resolves with its path. */
  speak(text: string): Promise<string>;
  /** Plays a WAV into the microphone (vmic_sink); resolves once it has been played. */
  play(wavPath: string, sink?: 'vmic_sink' | 'desk_sink'): Promise<void>;
  xdotool(...args: string[]): Promise<string>;
  pactl(...args: string[]): Promise<string>;
  /** Stops PulseAudio, as when the sound server dies (clients lose their streams; nothing respawns it). */
  stopAudio(): Promise<void>;
  /** Starts PulseAudio again (same socket, same vmic), e.g. after stopAudio(). */
  startAudio(): Promise<void>;
  /** Owns the X selection with `text` (an xsel kept running) and waits until it is served. */
  setClipboard(text: string, selection?: Selection): Promise<void>;
  getClipboard(selection?: Selection): Promise<string>;
  openTarget(kind: 'tk' | 'xterm'): Promise<Target>;
  /** PIDs of the processes started here that are still running (Xvfb, pulseaudio, targets, xsel, …). */
  pids(): number[];
  /** Starts a process with its output in logs/<name>.log, tracked until it exits (and killed by stop()). */
  spawn(name: string, cmd: string, args: string[], o?: SpawnOptions): ChildProcess;
  /** Runs a command to completion (tracked); resolves with its stdout, rejects with its stderr. */
  run(cmd: string, args: string[], o?: RunOptions): Promise<string>;
  /** The last lines a process started by spawn() wrote, for error messages. */
  logTail(name: string): string;
  /** Kills every process started here, checks the X lock file is gone, removes the temp folder. */
  stop(): Promise<void>;
}

const TOOLS: [command: string, debianPackage: string][] = [
  ['Xvfb', 'xvfb'],
  ['xdpyinfo', 'x11-utils'],
  ['pulseaudio', 'pulseaudio'],
  ['pactl', 'pulseaudio-utils'],
  ['paplay', 'pulseaudio-utils'],
  ['xdotool', 'xdotool'],
  ['wish', 'tk'],
  ['xterm', 'xterm'],
  ['espeak-ng', 'espeak-ng'],
  ['sox', 'sox'],
];

/** Names the missing tools (and their Debian packages); undefined when everything is there. */
export function desktopMissing(): string | undefined {
  if (process.platform !== 'linux') return `an X11/PulseAudio desktop (Linux only; this is ${process.platform})`;
  const missing = TOOLS.filter(([cmd]) => !onPath(cmd));
  if (!xselCommand()) missing.push(['xsel', 'xsel (or the one clipboardy bundles)']);
  if (!missing.length) return undefined;
  const names = missing.map(([cmd]) => cmd).join(', ');
  const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
  return `missing ${names} (apt-get install --no-install-recommends ${packages} libasound2-plugins)`;
}

export async function startDesktop(o: DesktopOptions = {}): Promise<Desktop> {
  const dir = await mkdtemp(join(tmpdir(), 'prism-desktop-'));
  const desktop = new HeadlessDesktop(dir, o);
  try {
    await desktop.start();
    return desktop;
  } catch (e) {
    await desktop.stop();
    throw e;
  }
}

// ---- processes -------------------------------------------------------------------------------

/** Desktops not stopped yet: torn down (synchronously, with SIGKILL) if the test process exits first. */
const liveDesktops = new Set<HeadlessDesktop>();
let exitHookInstalled = false;

function remember(d: HeadlessDesktop): void {
  liveDesktops.add(d);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const live of liveDesktops) live.abandon();
  });
}

export function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.once('exit', () => resolve());
    p.once('error', () => resolve());
  });
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process has exited. */
export async function kill(p: ChildProcess, graceMs = 3000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited(p);
  clearTimeout(timer);
}

export interface RunOptions {
  timeoutMs?: number;
  /** Accept these exit codes besides 0 (xdotool search exits 1 when nothing matches). */
  okCodes?: number[];
  /** run it as the desktop's user (setpriv) */
  asUser?: boolean;
  /** written to its stdin */
  input?: string;
  /** this environment instead of the desktop's */
  env?: NodeJS.ProcessEnv;
}

/** Polls probe (every 50 ms) until it returns a value; throws with its last error after timeoutMs. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(50);
  }
}

class HeadlessDesktop implements Desktop {
  env: NodeJS.ProcessEnv = {};
  display = '';
  private readonly procs = new Set<ChildProcess>();
  private readonly selections = new Map<Selection, ChildProcess>();
  private xvfb: ChildProcess | undefined;
  private pulse: ChildProcess | undefined;
  private counter = 0;
  private stopping: Promise<void> | undefined;

  readonly user: SessionUser | undefined;
  private readonly x11: boolean;

  constructor(
    readonly dir: string,
    o: DesktopOptions = {},
  ) {
    this.user = o.user;
    this.x11 = o.x11 ?? true;
    remember(this);
  }

  async start(): Promise<void> {
    const home = join(this.dir, 'home');
    const run = join(this.dir, 'run');
    await mkdir(join(home, '.config'), { recursive: true });
    await mkdir(join(run, 'pulse'), { recursive: true, mode: 0o700 });
    await mkdir(join(this.dir, 'logs'));
    if (this.user) await chownTree(this.dir, this.user);

    if (this.x11) this.display = await this.startXvfb();
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of ['WAYLAND_DISPLAY', 'XAUTHORITY', 'DBUS_SESSION_BUS_ADDRESS', 'SESSION_MANAGER', 'LC_ALL', 'LC_CTYPE', 'LANGUAGE']) delete env[k];
    for (const k of Object.keys(env)) if (k.startsWith('PULSE_')) delete env[k];
    if (!this.x11) delete env.DISPLAY;
    Object.assign(env, {
      ...(this.x11 ? { DISPLAY: this.display, XDG_SESSION_TYPE: 'x11' } : {}),
      HOME: home,
      XDG_RUNTIME_DIR: run,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_CACHE_HOME: join(home, '.cache'),
      LANG: 'C.UTF-8',
      PULSE_SERVER: `unix:${join(run, 'pulse', 'native')}`,
      PULSE_CLIENTCONFIG: join(this.dir, 'client.conf'), // autospawn = no: a dead server stays dead
    });
    this.env = env;
    if (this.x11)
      await until(`X display ${this.display}`, 10_000, async () => {
        const info = await this.run('xdpyinfo', ['-display', this.display], { timeoutMs: 5000 });
        if (!/\bRECORD\b/.test(info)) throw new Error(`Xvfb on ${this.display} has no RECORD extension`);
        return true;
      });
    await this.startAudio();
  }

  /** Xvfb picks a free display itself and writes its number to fd 3 once it accepts connections. */
  private async startXvfb(): Promise<string> {
    const args = ['-displayfd', '3', '-screen', '0', '1280x800x24', '+extension', 'RECORD', '-nolisten', 'tcp', '-noreset'];
    const xvfb = this.spawn('xvfb', 'Xvfb', args, { env: process.env, extraFd: true });
    this.xvfb = xvfb;
    const fd3 = xvfb.stdio[3] as NodeJS.ReadableStream;
    let text = '';
    const n = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Xvfb did not report a display within 10 s${this.logTail('xvfb')}`)), 10_000);
      fd3.setEncoding('utf8');
      fd3.on('data', (s: string) => {
        text += s;
        if (text.includes('\n')) {
          clearTimeout(timer);
          resolve(text.trim());
        }
      });
      xvfb.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Xvfb exited with code ${code}${this.logTail('xvfb')}`));
      });
    });
    return `:${n}`;
  }

  async startAudio(): Promise<void> {
    if (this.pulse && this.pulse.exitCode === null && this.pulse.signalCode === null) throw new Error('PulseAudio is running already');
    const socket = join(this.dir, 'run', 'pulse', 'native');
    const script = join(this.dir, 'default.pa');
    await writeFile(
      script,
      [
        `load-module module-native-protocol-unix auth-anonymous=1 socket=${socket}`,
        'load-module module-null-sink sink_name=vmic_sink rate=16000 channels=1 format=s16le',
        'load-module module-remap-source master=vmic_sink.monitor source_name=vmic source_properties=device.description=Virtual_Microphone',
        'set-default-source vmic',
        // a second microphone, chosen by name in tests of audio.device (play(wav, 'desk_sink') speaks into it)
        'load-module module-null-sink sink_name=desk_sink rate=16000 channels=1 format=s16le',
        'load-module module-remap-source master=desk_sink.monitor source_name=desk source_properties=device.description=Desk_USB_Microphone',
        // the speakers: where the daemon's cues (and anything else not aimed at the microphone) play
        'load-module module-null-sink sink_name=speakers rate=16000 channels=1 format=s16le',
        'set-default-sink speakers',
        '',
      ].join('\n'),
    );
    await writeFile(join(this.dir, 'client.conf'), 'autospawn = no\n');
    const env = { ...this.env };
    delete env.DISPLAY; // else it tries to autolaunch D-Bus through X11
    const args = ['-n', '-F', script, '--daemonize=no', '--exit-idle-time=-1', '--disallow-exit', '--use-pid-file=no', '--disable-shm=yes', '--log-target=stderr'];
    this.pulse = this.spawn('pulseaudio', 'pulseaudio', args, { env, asUser: true });
    const pulse = this.pulse;
    await until('PulseAudio', 10_000, async () => {
      if (pulse.exitCode !== null) throw new Error(`pulseaudio exited with code ${pulse.exitCode}${this.logTail('pulseaudio')}`);
      const info = await this.pactl('info');
      if (!/^Default Source: vmic$/m.test(info)) throw new Error(`default source is not vmic:\n${info}`);
      return true;
    });
  }

  async stopAudio(): Promise<void> {
    if (this.pulse) await kill(this.pulse);
  }

  speak(text: string): Promise<string> {
    const wav = join(this.dir, `speech-${++this.counter}.wav`);
    const espeak = this.spawn('espeak-ng', 'espeak-ng', ['-v', 'en-us', '--stdout', '--stdin'], { stdin: 'pipe', stdout: 'pipe' });
    espeak.stdin?.end(text);
    const sox = this.spawn('sox', 'sox', ['-q', '-t', 'wav', '-', '-r', '16000', '-c', '1', '-b', '16', wav], { stdin: 'pipe' });
    espeak.stdout?.pipe(sox.stdin as NodeJS.WritableStream);
    const ok = (p: ChildProcess, name: string) =>
      exited(p).then(() => {
        if (p.exitCode !== 0) throw new Error(`${name} failed (exit ${p.exitCode ?? p.signalCode})${this.logTail(name)}`);
      });
    return Promise.all([ok(espeak, 'espeak-ng'), ok(sox, 'sox')]).then(() => wav);
  }

  /** Plays a WAV into the virtual microphone (or into the second one: 'desk_sink'). */
  async play(wavPath: string, sink: 'vmic_sink' | 'desk_sink' = 'vmic_sink'): Promise<void> {
    await this.run('paplay', [`--device=${sink}`, wavPath], { timeoutMs: 120_000 });
  }

  async xdotool(...args: string[]): Promise<string> {
    return (await this.run('xdotool', args)).trim();
  }

  async pactl(...args: string[]): Promise<string> {
    return (await this.run('pactl', args, { timeoutMs: 5000 })).trim();
  }

  async setClipboard(text: string, selection: Selection = 'clipboard'): Promise<void> {
    const previous = this.selections.get(selection);
    if (previous) await kill(previous);
    const xsel = this.spawn(`xsel-${selection}`, xselCommand() ?? 'xsel', [`--${selection}`, '--input', '--nodetach'], { stdin: 'pipe' });
    this.selections.set(selection, xsel);
    xsel.stdin?.end(text);
    await until(`the ${selection} selection`, 5000, async () => ((await this.getClipboard(selection)) === text ? true : undefined));
  }

  async getClipboard(selection: Selection = 'clipboard'): Promise<string> {
    return this.run(xselCommand() ?? 'xsel', [`--${selection}`, '--output'], { timeoutMs: 5000 });
  }

  async openTarget(kind: 'tk' | 'xterm'): Promise<Target> {
    const n = ++this.counter;
    const title = `prism-target-${kind}-${n}-${process.pid}`;
    const out = join(this.dir, `target-${n}.txt`);
    let proc: ChildProcess;
    if (kind === 'tk') {
      const script = join(this.dir, 'target.tcl');
      if (!existsSync(script)) await writeFile(script, TK_TARGET);
      proc = this.spawn(`wish-${n}`, 'wish', [script, title, out]);
    } else {
      const paste = 'XTerm*VT100.translations: #override Ctrl Shift <Key>V: insert-selection(CLIPBOARD)';
      const shell = 'stty -icanon -echo; exec cat > "$0"';
      proc = this.spawn(`xterm-${n}`, 'xterm', ['-T', title, '-n', title, '-geometry', '100x20+0+0', '-xrm', paste, '-e', 'sh', '-c', shell, out]);
    }
    try {
      const window = await until(`the ${kind} window "${title}"`, 10_000, async () => {
        if (proc.exitCode !== null) throw new Error(`${kind} exited with code ${proc.exitCode}${this.logTail(`${kind === 'tk' ? 'wish' : 'xterm'}-${n}`)}`);
        const found = await this.run('xdotool', ['search', '--name', `^${title}$`], { okCodes: [1] });
        return found.trim().split('\n')[0] || undefined;
      });
      // The file appears once the window is listening: Tk writes it after mapping, the shell after stty.
      await until(`the ${kind} window's record file`, 10_000, async () => (existsSync(out) ? true : undefined));
      const target = new WindowTarget(kind, window, title, out, proc, this);
      await target.focus();
      return target;
    } catch (e) {
      await kill(proc);
      throw e;
    }
  }

  pids(): number[] {
    return [...this.procs].flatMap((p) => (p.pid === undefined ? [] : [p.pid]));
  }

  stop(): Promise<void> {
    this.stopping ??= this.teardown();
    return this.stopping;
  }

  private async teardown(): Promise<void> {
    // Clients first (they would complain about the server going away), then the servers.
    const servers = new Set([this.xvfb, this.pulse]);
    await Promise.all([...this.procs].filter((p) => !servers.has(p)).map((p) => kill(p)));
    if (this.pulse) await kill(this.pulse);
    if (this.xvfb) await kill(this.xvfb);
    this.removeXFiles();
    await rm(this.dir, { recursive: true, force: true });
    liveDesktops.delete(this);
  }

  /** The last resort when the test process exits without stop(): SIGKILL everything, remove the files. */
  abandon(): void {
    for (const p of this.procs) p.kill('SIGKILL');
    this.removeXFiles();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Xvfb removes its lock file and socket on SIGTERM; after a SIGKILL they are ours to remove, but only
   * while the lock still names our Xvfb (another server may have taken the display number since).
   */
  private removeXFiles(): void {
    if (!this.display || this.xvfb?.pid === undefined) return;
    const n = this.display.slice(1);
    const lock = `/tmp/.X${n}-lock`;
    const ours = () => {
      try {
        return readFileSync(lock, 'utf8').trim() === String(this.xvfb?.pid);
      } catch {
        return false;
      }
    };
    if (!ours()) return;
    rmSync(lock, { force: true });
    rmSync(`/tmp/.X11-unix/X${n}`, { force: true });
    if (ours()) throw new Error(`the X lock file ${lock} is still there`);
  }

  /** Starts a process with its output in logs/<name>.log, tracked until it exits. */
  spawn(name: string, cmd: string, args: string[], o: SpawnOptions = {}): ChildProcess {
    if (this.stopping) throw new Error('the desktop is stopped');
    const log = openSync(join(this.dir, 'logs', `${name}.log`), 'a');
    try {
      const stdio: ('pipe' | 'ignore' | number)[] = [o.stdin ?? 'ignore', o.stdout ?? log, log];
      if (o.extraFd) stdio.push('pipe');
      const [c, a] = this.command(cmd, args, o.asUser);
      const p = spawn(c, a, { env: o.env ?? this.env, cwd: this.dir, stdio });
      p.stdin?.on('error', () => {}); // EPIPE when it exits early: its exit code tells
      this.procs.add(p);
      p.once('exit', () => this.procs.delete(p));
      p.once('error', () => this.procs.delete(p));
      return p;
    } finally {
      closeSync(log);
    }
  }

  /** Runs a command to completion; resolves with its stdout, rejects with its stderr. */
  run(cmd: string, args: string[], o: RunOptions = {}): Promise<string> {
    if (this.stopping) return Promise.reject(new Error('the desktop is stopped'));
    const [c, a] = this.command(cmd, args, o.asUser);
    const p = spawn(c, a, { env: o.env ?? this.env, cwd: this.dir, stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (o.input !== undefined) {
      p.stdin?.on('error', () => {});
      p.stdin?.end(o.input);
    }
    this.procs.add(p);
    p.once('exit', () => this.procs.delete(p));
    let stdout = '';
    let stderr = '';
    p.stdout?.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    p.stderr?.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timeoutMs = o.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        p.kill('SIGKILL');
      }, timeoutMs);
      p.once('error', (e) => {
        clearTimeout(timer);
        this.procs.delete(p);
        reject(new Error(`${cmd}: ${e.message}`));
      });
      p.once('close', (code, signal) => {
        clearTimeout(timer);
        if (code === 0 || (code !== null && o.okCodes?.includes(code))) return resolve(stdout);
        const how = timedOut ? `timed out after ${timeoutMs} ms` : signal ? `killed by ${signal}` : `exit ${code}`;
        reject(new Error(`${cmd} ${args.join(' ')} failed (${how}): ${stderr.trim()}`));
      });
    });
  }

  /** cmd and args as they run: through setpriv as the desktop's user when asked (and there is one). */
  private command(cmd: string, args: string[], asUser = false): [string, string[]] {
    if (!asUser || !this.user) return [cmd, args];
    return ['setpriv', [`--reuid=${this.user.uid}`, `--regid=${this.user.gid}`, '--clear-groups', '--', cmd, ...args]];
  }

  /** The last lines a process wrote, for error messages (its log goes away with the temp folder). */
  logTail(name: string): string {
    try {
      const lines = readFileSync(join(this.dir, 'logs', `${name}.log`), 'utf8')
        .trim()
        .split('\n');
      return lines[0] ? `:\n${lines.slice(-8).join('\n')}` : '';
    } catch {
      return '';
    }
  }
}

class WindowTarget implements Target {
  constructor(
    readonly kind: 'tk' | 'xterm',
    readonly window: string,
    readonly title: string,
    private readonly file: string,
    private readonly proc: ChildProcess,
    private readonly desktop: HeadlessDesktop,
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

  /** No window manager runs, so no windowactivate: XSetInputFocus (windowfocus), re-asked until it holds. */
  async focus(): Promise<void> {
    await this.desktop.xdotool('windowraise', this.window);
    await until(`the input focus on the ${this.kind} window`, 5000, async () => {
      await this.desktop.xdotool('windowfocus', this.window);
      await sleep(30);
      return (await this.desktop.xdotool('getwindowfocus')) === this.window ? true : undefined;
    });
  }

  close(): Promise<void> {
    return kill(this.proc);
  }
}

/**
 * The Tk target: a text widget with the focus that rewrites the file named on the command line
 * (atomically: a temp file renamed) with its whole content on every change.
 */
const TK_TARGET = `lassign $argv title out
wm title . $title
wm geometry . 640x300+0+0
text .t -width 80 -height 16
pack .t -fill both -expand 1
proc dump {} {
  global out
  set f [open $out.tmp w]
  fconfigure $f -encoding utf-8 -translation lf
  puts -nonewline $f [.t get 1.0 end-1c]
  close $f
  file rename -force $out.tmp $out
  .t edit modified 0
}
bind .t <<Modified>> dump
focus .t
update
dump
`;

// ---- tools -------------------------------------------------------------------------------------

/** Gives `dir` and everything in it to `user`. */
export async function chownTree(dir: string, user: SessionUser): Promise<void> {
  await chown(dir, user.uid, user.gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, user);
    else await chown(p, user.uid, user.gid);
  }
}

export function onPath(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (!d) continue;
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}
