/**
 * `prism-dictate start` in a Wayland session, as a person uses it on sway: the hotkey is a compositor
 * binding (press → `prism-dictate press`, release → `release`) pressed by a virtual keyboard, the text goes
 * into foot (a native Wayland window) and into an xterm under XWayland, the Wayland clipboard is
 * restored afterwards, and with no way to send keystrokes every phrase of the dictation ends up on the
 * clipboard and history says `copied`. The latency from release to text in foot and the idle CPU are
 * printed, never asserted.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudio } from '../../lib/audio/read.js';
import { encodeWav } from '../../lib/audio/wav.js';
import { joinPhrases } from '../../lib/host/phrases.js';
import { SCRIPT_25 } from '../helpers.js';
import { type Daemon, moduleMissing, type Rec, startDaemon } from './daemon.js';
import { startWayland, type Wayland, type WaylandTarget, waylandMissing } from './wayland.js';

const missing = waylandMissing() ?? moduleMissing('naudiodon2');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** the chord: Super+Alt+V (bound in sway as Mod4+Mod1+v), in wtype's names */
const MODS = ['logo', 'alt'];
const KEY = 'v';
const CONFIG = {
  hotkey: { keys: 'Meta+Alt+V', mode: 'hybrid' },
  desktop: { hotkey: 'compositor' },
  // the targets are terminals (foot, xterm): Ctrl+Shift+V pastes there, Ctrl+V is a literal ^V
  output: { restoreDelayMs: 300, pasteKeys: 'ctrl+shift+v' },
  vad: { latchSilenceMs: 3000 },
  indicator: { enabled: false },
};

const history = (d: Daemon): Rec[] => {
  const r = d.cli('history', '--json');
  if (r.status !== 0) throw new Error(`prism-dictate history failed: ${r.stderr}`);
  return JSON.parse(String(r.stdout)) as Rec[];
};
const phrasesOf = (d: Daemon, dictation: unknown): Rec[] =>
  history(d)
    .filter((r) => r.settings?.dictation === dictation)
    .sort((a, b) => Number(a.settings?.phrase) - Number(b.settings?.phrase));

interface HostStatus {
  state: 'idle' | 'recording';
  inFlight?: number;
  dictation?: { id: string; held: boolean; latched: boolean; phrases: number; pasted: number };
}
const status = (d: Daemon) => (JSON.parse(String(d.cli('status', '--json').stdout)) as { host: HostStatus }).host;

/** Polls until `probe` holds; throws what it last saw after timeoutMs. */
async function until(what: string, timeoutMs: number, probe: () => boolean | Promise<boolean>, last?: () => unknown): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${JSON.stringify(last())}` : ''}`);
    await sleep(50);
  }
}

/** CPU seconds (user + system, clock ticks of 10 ms) of a process and its descendants. */
function cpuSeconds(root: number): number {
  const stats = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const f = readFileSync(`/proc/${d}/stat`, 'utf8');
        const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
        return [{ pid: Number(d), ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) }];
      } catch {
        return [];
      }
    });
  const pids = [root];
  for (let i = 0; i < pids.length; i++) for (const s of stats) if (s.ppid === pids[i]) pids.push(s.pid);
  return stats.filter((s) => pids.includes(s.pid)).reduce((a, s) => a + s.ticks, 0) / 100;
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

describe.skipIf(missing)(`prism-dictate start in a headless sway session (foot, XWayland, wtype, wl-clipboard)${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let wl: Wayland;
  let daemon: Daemon;
  let foot: WaylandTarget;
  const speech: string[] = [];
  const pcm: Float32Array[] = [];
  /** per hold dictation into foot: release → text in foot, and the daemon's own stages */
  const holds: Array<{ releaseToText: number; transcription: number; paste: number; total: number }> = [];

  beforeAll(async () => {
    wl = await startWayland();
    for (const s of ['Please call me back after lunch.', 'The meeting moved to Thursday at three.', 'Send the report to the whole team today.']) {
      const wav = await wl.speak(s);
      speech.push(wav);
      pcm.push(await readAudio(wav));
    }
    daemon = await startDaemon(wl, CONFIG);
    await wl.dictateFor(daemon.home);
    foot = await wl.openTarget('foot');
  });

  afterAll(async () => {
    const code = await daemon?.stop();
    await wl?.stop();
    expect(code).toBe(0);
  });

  /** A WAV of speech files and pauses (seconds). */
  function compose(name: string, parts: Array<number | number[]>): { path: string; seconds: number } {
    const chunks = parts.map((p) => (typeof p === 'number' ? new Float32Array(Math.round(p * 16000)) : (pcm[p[0] as number] as Float32Array)));
    const all = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    const path = join(wl.dir, `${name}.wav`);
    writeFileSync(path, encodeWav(all));
    return { path, seconds: all.length / 16000 };
  }

  async function idle(d: Daemon, timeoutMs = 30_000): Promise<void> {
    await until('the daemon to come back to idle', timeoutMs, () => {
      const s = status(d);
      return s.state === 'idle' && !s.inFlight;
    });
  }

  /**
   * Holds the chord through the compositor binding while `wav` plays into the microphone, then releases
   * it; resolves with the moment of the release (performance.now()).
   */
  async function hold(d: Daemon, wav: string): Promise<number> {
    await idle(d);
    const keys = wl.press(MODS, KEY);
    try {
      await until('the binding to begin a dictation', 15_000, () => status(d).state === 'recording');
      await wl.play(wav);
    } finally {
      await keys.release();
    }
    return keys.releasedAt as number;
  }

  /** Waits until wl-paste gives `expected` (after `norm`); fails with what it last gave. */
  async function clipboardBecomes(expected: string, norm = (t: string) => t): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const now = await wl.getClipboard();
      if (norm(now) === expected) return;
      if (Date.now() > deadline) expect(norm(now), 'the Wayland clipboard').toBe(expected);
      await sleep(50);
    }
  }

  /** `p`, or its error with the daemon's last log lines (what it did instead) */
  async function explained<T>(d: Daemon, p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      throw new Error(`${(e as Error).message}\nthe daemon's log ends:\n${d.log.slice(-15).join('\n')}`);
    }
  }

  /** The phrases of the newest dictation, once the daemon is idle. */
  async function lastDictation(d: Daemon): Promise<Rec[]> {
    await idle(d);
    return phrasesOf(d, history(d)[0]?.settings?.dictation);
  }

  it('hold the hotkey in foot, two sentences with a pause, release: both phrases, and only them, are typed into foot', async () => {
    await foot.focus();
    const wav = compose('hold-pause', [[0], 1.5, [1]]);
    const before = await foot.text();
    const released = await hold(daemon, wav.path);
    const all = await explained(
      daemon,
      foot.waitFor((t) => t.length > before.length && t.endsWith(' '), 60_000),
    );
    const releaseToText = performance.now() - released;
    const phrases = await lastDictation(daemon);
    expect(phrases.length).toBeGreaterThanOrEqual(2); // the 1.5 s pause cuts a phrase
    expect(phrases.every((p) => p.settings?.trigger === 'hotkey')).toBe(true); // the binding's press/release are the hotkey's
    expect(all.slice(before.length)).toBe(joinPhrases(phrases.map((p) => p.text ?? ''))); // nothing else: no v, no ESC
    expect(phrases.map((p) => p.text?.trim())).toEqual(phrases.map(() => SCRIPT_25));
    expect(phrases.map((p) => p.state)).toEqual(phrases.map(() => 'done'));
    const last = phrases.at(-1) as Rec;
    holds.push({ releaseToText, transcription: last.timings?.transcription ?? 0, paste: last.timings?.paste ?? 0, total: last.timings?.total ?? 0 });
  }, 120_000);

  it('the toggle binding latches: two phrases with a pause are typed into foot as each ends; a second press ends it', async () => {
    await foot.focus();
    const wav = compose('toggled', [[1], 1.5, [2], 0.5]);
    const before = (await foot.text()).length;
    await wl.tap(MODS, 't');
    await until(
      'a latched dictation',
      15_000,
      () => status(daemon).dictation?.latched === true,
      () => status(daemon),
    );
    await wl.play(wav.path);
    await explained(
      daemon,
      until('two phrases typed into foot', 60_000, async () => (await foot.text()).slice(before).split(SCRIPT_25).length - 1 >= 2),
    );
    expect(status(daemon).state).toBe('recording'); // latched: the pauses and the end of speech do not end it
    await wl.tap(MODS, 't');
    const phrases = await lastDictation(daemon);
    expect(phrases.length).toBeGreaterThanOrEqual(2);
    expect(phrases.map((p) => p.state)).toEqual(phrases.map(() => 'done'));
    expect((await foot.text()).slice(before)).toBe(joinPhrases(phrases.map((p) => p.text ?? '')));
  }, 120_000);

  // Each key event of the binding starts its own `prism-dictate` process: on a quick tap the release's
  // can reach the daemon before the press's (seen with begin/end: a held dictation left recording until
  // the next press).
  it('a tap on the push-to-talk binding latches (hybrid), whichever of its two processes arrives first, and a second tap ends it', async () => {
    try {
      await foot.focus();
      const wav = compose('latched', [[1], 1.5, [2], 0.5]);
      const before = (await foot.text()).length;
      await wl.tap(MODS, KEY);
      await until(
        'a latched dictation',
        15_000,
        () => status(daemon).dictation?.latched === true,
        () => status(daemon),
      );
      await wl.play(wav.path);
      // the second phrase is typed once it has been transcribed, while still latched
      await explained(
        daemon,
        until('two phrases typed into foot', 60_000, async () => (await foot.text()).slice(before).split(SCRIPT_25).length - 1 >= 2),
      );
      expect(status(daemon).state).toBe('recording'); // latched: the pauses and the end of speech do not end it
      await wl.tap(MODS, KEY);
      const phrases = await lastDictation(daemon);
      expect(phrases.length).toBeGreaterThanOrEqual(2);
      expect((await foot.text()).slice(before)).toBe(joinPhrases(phrases.map((p) => p.text ?? '')));
      await sleep(1000);
      expect(status(daemon).state).toBe('idle'); // the tap that ended it started nothing
    } finally {
      if (status(daemon).state === 'recording') daemon.cli('cancel'); // leave no dictation to the next case
      await idle(daemon);
    }
  }, 120_000);

  it("a tap whose release's process reaches the daemon before its press's does not leave a dictation recording", async () => {
    // what the race above does, in that order: `release` (no key down: nothing), then `press`
    try {
      expect(String(daemon.cli('release').stdout)).toMatch(/not recording/);
      daemon.cli('press'); // answered once the daemon has acted on it
      // a tap latches in hybrid mode; what must not happen is a held dictation that waits for a release already gone
      const s = status(daemon);
      expect(s.state === 'idle' || s.dictation?.latched === true, `after release, press: ${JSON.stringify(s.dictation ?? s.state)}`).toBe(true);
    } finally {
      if (status(daemon).state === 'recording') daemon.cli('cancel');
      await idle(daemon);
    }
  });

  it('hold the hotkey in an xterm under XWayland: the text arrives there', async () => {
    const term = await wl.openTarget('xterm');
    try {
      const before = await term.text();
      await hold(daemon, speech[0] as string);
      const all = await explained(
        daemon,
        term.waitFor((t) => t.length > before.length && t.endsWith(' '), 60_000),
      );
      const phrases = await lastDictation(daemon);
      expect(all.slice(before.length)).toBe(joinPhrases(phrases.map((p) => p.text ?? '')));
      expect(all.slice(before.length).trim()).toBe(SCRIPT_25);
    } finally {
      await term.close();
    }
  }, 120_000);

  it('the Wayland clipboard the user had is there again after a dictation', async () => {
    await foot.focus();
    const copied = 'what the user had copied — ü ✓';
    await wl.setClipboard(copied);
    const before = (await foot.text()).length;
    await hold(daemon, speech[1] as string);
    await explained(
      daemon,
      foot.waitFor((t) => t.length > before && t.endsWith(' '), 60_000),
    );
    await idle(daemon);
    await clipboardBecomes(copied);
  }, 120_000);

  it('prism-dictate hotkey setup prints, for sway, the binding this session runs (press → press without repeat, release → release, into the trigger pipe)', () => {
    const r = daemon.cli('hotkey', 'setup', '--json');
    expect(r.status, String(r.stderr)).toBe(0);
    const plan = JSON.parse(String(r.stdout)) as { desktop: string; pressRelease: boolean; lines: string[] };
    expect(plan).toMatchObject({ desktop: 'sway', pressRelease: true });
    const pipe = join(daemon.home, 'trigger');
    expect(plan.lines).toEqual(
      expect.arrayContaining([`bindsym --no-repeat Mod4+Mod1+v exec echo press 1<>${pipe}`, `bindsym --release Mod4+Mod1+v exec echo release 1<>${pipe}`]),
    );
    // --command: the prism-dictate client instead (a process start per key event)
    const cli = JSON.parse(String(daemon.cli('hotkey', 'setup', '--json', '--command', wl.command).stdout)) as { lines: string[] };
    expect(cli.lines).toEqual(expect.arrayContaining([`bindsym --no-repeat Mod4+Mod1+v exec ${wl.command} press`, `bindsym --release Mod4+Mod1+v exec ${wl.command} release`]));
  });

  it('doctor in the Wayland session names the Wayland mechanisms, and says ok only for what works', () => {
    const r = daemon.cli('doctor', '--json', '--no-listen');
    const checks = JSON.parse(String(r.stdout)) as Array<{ name: string; ok: boolean | 'warn'; detail: string }>;
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    console.log(`doctor (Wayland, sway):\n${checks.map((c) => `  ${c.name}: ${c.ok} — ${c.detail}`).join('\n')}`);
    expect(by.display?.detail).toMatch(/^Wayland on wayland-\d+, XWayland on :\d+/);
    // the hotkey is the compositor's binding here (found in the config sway loaded): nothing grabs a key
    expect(by.hotkey).toMatchObject({ ok: true, detail: expect.stringMatching(/^sway: press bound \(no repeat\), and release \(press and release: push-to-talk\)/) });
    expect(by.hotkey?.detail).not.toMatch(/grabbed|XGrabKey|uiohook/);
    const typing = by.typing ?? by.paste;
    expect(typing).toMatchObject({ ok: true, detail: expect.stringMatching(/wtype/) });
    expect(typing?.detail).not.toMatch(/xdotool|XTest/);
    expect(by.clipboard).toMatchObject({ ok: true, detail: expect.stringMatching(/wl-copy|wl-paste|data-control/) });
    expect(by.clipboard?.detail).not.toMatch(/xsel|X11 CLIPBOARD/);
    for (const c of checks) if (c.ok === true) expect(c.detail, `${c.name} says ok`).not.toMatch(/not available|cannot|missing|no way/i);
  });

  /**
   * A second daemon that cannot send keystrokes (how: `config` or `env`) dictates two phrases into
   * focused foot: nothing is typed, the whole dictation is on the Wayland clipboard and stays there,
   * history says copied, and doctor's typing line is not ok and says why (`why`).
   */
  async function copiedWhole(name: string, session: { env: NodeJS.ProcessEnv; user?: Wayland['user'] }, config: Record<string, unknown>, why: RegExp): Promise<void> {
    const copier = await startDaemon(session, { ...CONFIG, ...config, dashboard: { enabled: false } });
    try {
      await wl.dictateFor(copier.home);
      expect(copier.log.join('\n')).toMatch(/output\s+clipboard .*instead of paste/);
      await foot.focus();
      await wl.setClipboard('something older');
      const before = await foot.text();
      await hold(copier, compose(name, [[0], 1.5, [2]]).path);
      const phrases = await lastDictation(copier);
      expect(phrases.length).toBeGreaterThanOrEqual(2);
      expect(phrases.map((p) => p.state)).toEqual(phrases.map(() => 'copied'));
      const joined = joinPhrases(phrases.map((p) => p.text ?? ''));
      await clipboardBecomes(joined.trim(), (t) => t.trim());
      await sleep(1000); // past restoreDelayMs: the copy stays, it is not restored away
      expect((await wl.getClipboard()).trim()).toBe(joined.trim());
      expect(await foot.text()).toBe(before); // nothing typed
      const doctor = JSON.parse(String(copier.cli('doctor', '--json', '--no-listen').stdout)) as Array<{ name: string; ok: boolean | 'warn'; detail: string }>;
      console.log(`doctor (Wayland, ${name}):\n${doctor.map((c) => `  ${c.name}: ${c.ok} — ${c.detail}`).join('\n')}`);
      const typing = doctor.find((c) => c.name === 'typing') ?? doctor.find((c) => c.name === 'paste');
      expect(typing?.ok).not.toBe(true);
      expect(typing?.detail).toMatch(/cop(y|ied)/);
      expect(typing?.detail).toMatch(why);
    } finally {
      await wl.dictateFor(daemon.home);
      expect(await copier.stop()).toBe(0);
    }
  }

  it('with keystrokes turned off (desktop.keys none), the whole dictation is on the Wayland clipboard and history says copied', async () => {
    await copiedWhole('keys-none', wl, { desktop: { ...CONFIG.desktop, keys: 'none' } }, /desktop\.keys is "none"/);
  }, 120_000);

  it('with no keystroke tool installed (wtype not on the PATH), the same: all copied, history copied, doctor says to install wtype', async () => {
    // the daemon's PATH: every program of this one's, but wtype
    const bin = join(wl.dir, 'path-without-wtype');
    mkdirSync(bin);
    for (const dir of (process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')))
      for (const f of (() => {
        try {
          return readdirSync(dir);
        } catch {
          return [];
        }
      })())
        if (f !== 'wtype' && !existsSync(join(bin, f))) symlinkSync(join(dir, f), join(bin, f));
    await copiedWhole('no-wtype', { env: { ...wl.env, PATH: bin }, user: wl.user }, {}, /wtype/);
  }, 120_000);

  it('release → text in foot over more holds, the paste stage and the idle CPU (printed)', async () => {
    await foot.focus();
    for (let i = 0; i < 5; i++) {
      const before = (await foot.text()).length;
      const released = await hold(daemon, speech[i % speech.length] as string);
      const all = await explained(
        daemon,
        foot.waitFor((t) => t.length > before && t.endsWith(' '), 60_000),
      );
      const releaseToText = performance.now() - released;
      const rec = history(daemon)[0] as Rec;
      expect(all.slice(before)).toBe(rec.text);
      holds.push({ releaseToText, transcription: rec.timings?.transcription ?? 0, paste: rec.timings?.paste ?? 0, total: rec.timings?.total ?? 0 });
      await idle(daemon);
    }
    const f = (k: keyof (typeof holds)[number]) => p50(holds.map((h) => h[k])).toFixed(1);
    console.log(
      `Wayland (sway, foot, wtype), tiny, this CPU, n=${holds.length}: release → text in foot p50 ${f('releaseToText')} ms, of which transcription ${f('transcription')} ms, ` +
        `not transcription ${p50(holds.map((h) => h.releaseToText - h.transcription)).toFixed(1)} ms; the daemon's paste stage p50 ${f('paste')} ms, total ${f('total')} ms; ` +
        `each release → text: ${holds.map((h) => h.releaseToText.toFixed(0)).join(', ')} ms; paste: ${holds.map((h) => h.paste.toFixed(1)).join(', ')} ms`,
    );
    // idle CPU of the daemon's process tree (it, its engine, its capture)
    await sleep(3000); // past the last dictation's own work
    const pid = daemon.child.pid as number;
    const a = cpuSeconds(pid);
    const t0 = performance.now();
    await sleep(10_000);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`idle daemon on Wayland: ${(((cpuSeconds(pid) - a) / seconds) * 100).toFixed(2)} % of one core over ${seconds.toFixed(0)} s (/proc stat ticks)`);
  }, 300_000);
});
