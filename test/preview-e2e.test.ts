/**
 * The live preview as a person meets it (issue 28, items 2, 4 and 5): two `prism-dictate start` daemons
 * of the same build on one headless desktop (Xvfb + PulseAudio's virtual microphone, the tiny test model
 * on the CPU, one inference state each), one with preview.enabled (hotkey Meta+Alt+V) and one without
 * (Meta+Alt+B), dictating the same espeak-ng sentences into a Tk window in alternation (on, off, off,
 * on, …). It observes the indicator's live text on the real window while the key is held, checks that
 * only final text arrives, and prints release → text with the preview on and off from the same run.
 * No timing is asserted (the load of a shared machine decides them): the numbers are printed.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XDisplay } from '../lib/host/desktop/x11/display.js';
import type { XTestExt } from '../lib/host/desktop/x11/types.js';
import { type Daemon, moduleMissing, type Rec, startDaemon } from './e2e/daemon.js';
import { type Desktop, desktopMissing, startDesktop, type Target } from './e2e/desktop.js';

const missing = desktopMissing() ?? moduleMissing('naudiodon2') ?? moduleMissing('x11');
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ROUNDS = Number(process.env.PREVIEW_ROUNDS ?? 2);
const SENTENCES = [
  'The meeting moved to Thursday at three, so please tell everyone on the team before lunch.',
  'Before the release goes out on Monday morning we still need the final numbers from finance.',
  'Could you check whether the build is green and send the report to the whole team today?',
];

/** CPU seconds of a process and its descendants (schedstat: exact, per thread). */
function cpuOf(root: number): number {
  const parents = new Map<number, number>();
  for (const d of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8');
      parents.set(Number(d), Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const pids = [root];
  for (let i = 0; i < pids.length; i++) for (const [pid, ppid] of parents) if (ppid === pids[i]) pids.push(pid);
  let s = 0;
  for (const pid of pids) {
    try {
      for (const t of readdirSync(`/proc/${pid}/task`)) s += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
    } catch {
      // gone
    }
  }
  return s;
}

const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? Number.NaN;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

describe.skipIf(missing)(`the live preview, end to end${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let desktop: Desktop;
  let on: Daemon;
  let off: Daemon;
  let tk: Target;
  let x: XDisplay;
  let xtest: XTestExt;
  const wavs: string[] = [];
  const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
  /** CPU seconds of each daemon's processes over its dictations (press → text) */
  const cpu: Record<'on' | 'off', number> = { on: 0, off: 0 };
  const audioSeconds: Record<'on' | 'off', number> = { on: 0, off: 0 };
  /** per dictation: release → text, and the record's transcription and end-decided stages */
  const parts: Record<'on' | 'off', string[]> = { on: [], off: [] };
  /** what the indicator showed while a preview-on key was held */
  const seen: Array<{ width: number; light: number; dim: number }> = [];

  async function key(letter: number, how: 'down' | 'up'): Promise<void> {
    const codes = [0xffeb, 0xffe9, letter].map((sym) => x.keycodeOf(sym) as number); // Super_L, Alt_L, the letter
    if (how === 'down') for (const k of codes) xtest.FakeInput(xtest.KeyPress, k, 0, 0, 0, 0);
    else for (const k of codes.reverse()) xtest.FakeInput(xtest.KeyRelease, k, 0, 0, 0, 0);
    await x.sync();
  }

  /** The indicator windows (one per daemon) that are on screen: geometry, and their light / dimmed text pixels on the live row. */
  async function indicators(): Promise<Array<{ width: number; light: number; dim: number }>> {
    const env = desktop.env;
    const ids = (await run('xdotool', ['search', '--name', '^prism-dictate$'], { env }).catch(() => ({ stdout: '' }))).stdout.split('\n').filter(Boolean);
    const out: Array<{ width: number; light: number; dim: number }> = [];
    for (const id of ids) {
      const w = (await run('xwininfo', ['-id', id], { env }).catch(() => ({ stdout: '' }))).stdout;
      if (!/Map State:\s*IsViewable/.test(w)) continue;
      const num = (name: string) => Number(new RegExp(`${name}:\\s*(-?\\d+)`).exec(w)?.[1]);
      const [left, top, width, height] = [num('Absolute upper-left X'), num('Absolute upper-left Y'), num('Width'), num('Height')];
      let light = 0;
      let dim = 0;
      if (height > 30) {
        const img = await new Promise<Buffer>((resolve, reject) =>
          (x.X as unknown as Record<string, (...a: unknown[]) => unknown>).GetImage?.(
            2,
            x.root,
            left,
            top + 30,
            width,
            height - 30,
            0xffffffff,
            (err: Error | null, r: { data: Buffer }) => {
              if (err) reject(err);
              else resolve(r.data);
              return true;
            },
          ),
        );
        for (let i = 0; i + 4 <= img.length; i += 4) {
          const c = img.readUInt32LE(i) & 0xffffff;
          if (c === 0xf1f3f4) light++;
          else if (c === 0x8a8f94) dim++;
        }
      }
      out.push({ width, light, dim });
    }
    return out;
  }

  beforeAll(async () => {
    desktop = await startDesktop();
    x = await XDisplay.open(desktop.display);
    xtest = await new Promise<XTestExt>((resolve, reject) => x.X.require('xtest', (e, ext) => (e ? reject(e) : resolve(ext))));
    for (const s of SENTENCES) wavs.push(await desktop.speak(s));
    const common = { output: { restoreDelayMs: 300 }, dashboard: { enabled: false }, cue: { enabled: false } };
    // PREVIEW_OFF_FIRST=1 starts the preview-off daemon first (a check that the start order does not decide)
    const startOn = () => startDaemon(desktop, { ...common, hotkey: { keys: 'Meta+Alt+V', mode: 'hold' }, preview: { enabled: true } });
    const startOff = () => startDaemon(desktop, { ...common, hotkey: { keys: 'Meta+Alt+B', mode: 'hold' }, preview: { enabled: false } });
    if (process.env.PREVIEW_OFF_FIRST) {
      off = await startOff();
      on = await startOn();
    } else {
      on = await startOn();
      off = await startOff();
    }
    tk = await desktop.openTarget('tk');
  }, 300_000);

  afterAll(async () => {
    await x?.close();
    if (on) expect(await on.stop()).toBe(0);
    if (off) expect(await off.stop()).toBe(0);
    await desktop?.stop();
    if (times.on.length && times.off.length) {
      const line = (k: 'on' | 'off') =>
        `preview ${k.padEnd(3)}: p50 ${p(times[k], 0.5).toFixed(0)} ms, mean ${mean(times[k]).toFixed(0)} ms, max ${Math.max(...times[k]).toFixed(0)} ms (n=${times[k].length}: ${times[k].map((t) => t.toFixed(0)).join(', ')})`;
      console.log(`release → text in the window (tiny, CPU, 1 state, same run, alternating):\n  ${line('on')}\n  ${line('off')}`);
      const rest = (k: 'on' | 'off') =>
        p(
          times[k].map((t, i) => t - Number(parts[k][i]?.split('/')[1])),
          0.5,
        ).toFixed(0);
      const stage = (k: 'on' | 'off') =>
        p(
          parts[k].map((e) => Number(e.split('/')[1])),
          0.5,
        ).toFixed(0);
      console.log(`  the final's transcription stage p50: on ${stage('on')} ms, off ${stage('off')} ms; release → text less it, p50: on ${rest('on')} ms, off ${rest('off')} ms`);
      const per = (k: 'on' | 'off') =>
        `${((cpu[k] / Math.max(1e-9, audioSeconds[k])) * 100).toFixed(0)} % of a core per second of audio (${cpu[k].toFixed(1)} CPU s / ${audioSeconds[k].toFixed(1)} s held)`;
      console.log(`  CPU of the daemon's processes, press → text: on ${per('on')}; off ${per('off')}`);
      console.log(`each (release → text / transcription ms / ended by): on ${parts.on.join(', ')}; off ${parts.off.join(', ')}`);
    }
  });

  it('hold, speak, release — alternating preview on and off: the indicator shows live text while held (on), only the final text is pasted, and release → text is printed for both', async () => {
    await tk.focus();
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, wav] of wavs.entries()) {
        // on, off / off, on / …: a drift in load hits both
        const order: Array<'on' | 'off'> = (round * wavs.length + i) % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
        for (const which of order) {
          const daemon = which === 'on' ? on : off;
          const letter = which === 'on' ? 0x76 : 0x62; // v, b
          const before = (await tk.text()).length;
          const cpu0 = cpuOf(daemon.child.pid as number);
          await key(letter, 'down');
          const pressed = performance.now();
          let watching = true;
          const watcher = (async () => {
            while (watching) {
              if (which === 'on') for (const ind of await indicators()) if (ind.width > 220) seen.push(ind);
              await sleep(150);
            }
          })();
          await desktop.play(wav);
          const released = performance.now();
          audioSeconds[which] += (released - pressed) / 1000;
          await key(letter, 'up');
          const all = await tk.waitFor((t) => t.length > before && t.endsWith(' '), 30_000);
          times[which].push(performance.now() - released);
          cpu[which] += cpuOf(daemon.child.pid as number) - cpu0;
          watching = false;
          await watcher;
          const rec = (JSON.parse(String(daemon.cli('history', '--json').stdout)) as Rec[])[0] as Rec;
          expect(all.slice(before)).toBe(rec.text); // the final text, nothing of a preview
          parts[which].push(`${(times[which].at(-1) as number).toFixed(0)}/${rec.timings?.transcription?.toFixed(0)}/${rec.settings?.ended}`);
          n++;
          while (JSON.parse(String(daemon.cli('status', '--json').stdout)).host.inFlight > 0) await sleep(100);
          await sleep(300);
        }
      }
    }
    expect(n).toBe(ROUNDS * wavs.length * 2);
    const stats = (d: Daemon) =>
      JSON.parse(String(d.cli('status', '--json').stdout)).host.preview as { enabled: boolean; previews: number; aborted: number; failed: number; ms: number };
    const sOn = stats(on);
    const sOff = stats(off);
    console.log(`previews (on): ${JSON.stringify(sOn)}; (off): ${JSON.stringify(sOff)}`);
    expect(sOn.previews).toBeGreaterThan(0);
    expect(sOff).toMatchObject({ enabled: false, previews: 0, aborted: 0 });
    // the live text was on the indicator: the strip widened, with settled (light) text on its second row
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((s) => s.width === 480 && s.light > 20)).toBe(true);
    // no speed limit here: release → text on and off are printed (on this shared 2-core VM one run saw
    // p50 4.0 s on vs 0.4 s off while other jobs ran, another 0.36 s on vs 1.6 s off: the load decides)
  }, 600_000);
});
