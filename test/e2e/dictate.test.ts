import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudio } from '../../lib/audio/read.js';
import { loadModel, type WhisperModel } from '../../lib/model.js';
import { models, SCRIPT_25 } from '../helpers.js';
import { type Daemon, moduleMissing, type Rec, startDaemon } from './daemon.js';
import { type Desktop, desktopMissing, startDesktop, type Target } from './desktop.js';

const missing = desktopMissing() ?? moduleMissing('naudiodon2');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The daemon's process tree (it, its engine process, its capture process): per process the exact CPU
 * time (schedstat, ns: the kernel's tick-sampled utime is coarse for threads that wake briefly), the
 * wake-ups (voluntary context switches, all threads) and the RSS.
 */
function tree(root: number): { cpuS: number; wakeups: number; rssMiB: number; pids: number[]; each: Record<number, { cpuS: number; wakeups: number }> } {
  const stats = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => {
      try {
        const f = readFileSync(`/proc/${d}/stat`, 'utf8');
        const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
        return { pid: Number(d), ppid: Number(rest[1]), rssPages: Number(rest[21]) };
      } catch {
        return undefined;
      }
    })
    .filter((x) => x !== undefined);
  const pids = [root];
  for (let i = 0; i < pids.length; i++) for (const s of stats) if (s.ppid === pids[i]) pids.push(s.pid);
  const each: Record<number, { cpuS: number; wakeups: number }> = {};
  for (const pid of pids) {
    each[pid] = { cpuS: 0, wakeups: 0 };
    try {
      for (const t of readdirSync(`/proc/${pid}/task`)) {
        const e = each[pid];
        e.cpuS += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
        e.wakeups += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'))?.[1] ?? 0);
      }
    } catch {
      // a thread or process that just ended
    }
  }
  const mine = stats.filter((s) => pids.includes(s.pid));
  const all = Object.values(each);
  return {
    cpuS: all.reduce((a, e) => a + e.cpuS, 0),
    wakeups: all.reduce((a, e) => a + e.wakeups, 0),
    rssMiB: (mine.reduce((a, s) => a + s.rssPages, 0) * 4096) / 2 ** 20,
    pids,
    each,
  };
}

const history = (d: Daemon): Rec[] => JSON.parse(String(d.cli('history', '--json').stdout)) as Rec[];

describe.skipIf(missing)(`prism-dictate start under Xvfb + PulseAudio${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let desktop: Desktop;
  let daemon: Daemon;
  let tk: Target;
  let model: WhisperModel;
  const speech: string[] = [];
  const releaseToText: number[] = [];

  beforeAll(async () => {
    desktop = await startDesktop();
    for (const s of [
      'Please call me back after lunch.',
      'The meeting moved to Thursday at three.',
      'Send the report to the whole team today.',
      'Could you check whether the build is green?',
    ])
      speech.push(await desktop.speak(s));
    daemon = await startDaemon(desktop, { hotkey: { keys: 'Meta+Alt+V', mode: 'hybrid' }, output: { restoreDelayMs: 300 } });
    tk = await desktop.openTarget('tk');
    model = await loadModel(models().tiny, { gpu: 'cpu' });
  });

  afterAll(async () => {
    await model?.close();
    const code = await daemon?.stop();
    expect(code).toBe(0); // Ctrl+C stops it cleanly
    await desktop?.stop();
    if (releaseToText.length) {
      const sorted = [...releaseToText].sort((a, b) => a - b);
      console.log(
        `hotkey release → text in the window (tiny, this CPU): p50 ${sorted[Math.floor(sorted.length / 2)]?.toFixed(0)} ms over ${sorted.length}: ${releaseToText.map((x) => x.toFixed(0)).join(', ')} ms`,
      );
    }
  });

  /** What the Tk window receives for one dictation, and the history record of it. */
  async function dictate(act: () => Promise<void>): Promise<{ pasted: string; rec: Rec }> {
    const before = (await tk.text()).length;
    await act();
    const all = await tk.waitFor((t) => t.length > before && t.endsWith(' '), 30_000);
    const rec = history(daemon)[0] as Rec;
    return { pasted: all.slice(before), rec };
  }

  async function libraryText(rec: Rec): Promise<string> {
    const t = await model.transcribe(await readAudio(rec.audio as string), { language: 'en', audioCtx: 'auto' });
    return `${t.text.trim()} `;
  }

  let idleRss = 0;
  it('idle, the daemon (with its engine and capture processes) uses a sliver of one core', async () => {
    await sleep(5000); // past the start's own work (JIT, the first collections)
    const a = tree(daemon.child.pid as number);
    const t0 = performance.now();
    await sleep(20_000);
    const b = tree(daemon.child.pid as number);
    const seconds = (performance.now() - t0) / 1000;
    const share = (b.cpuS - a.cpuS) / seconds;
    const wakeups = (b.wakeups - a.wakeups) / seconds;
    idleRss = b.rssMiB;
    const each = b.pids
      .map(
        (p) =>
          `${((((b.each[p]?.cpuS ?? 0) - (a.each[p]?.cpuS ?? 0)) / seconds) * 100).toFixed(2)} % (${(((b.each[p]?.wakeups ?? 0) - (a.each[p]?.wakeups ?? 0)) / seconds).toFixed(0)}/s)`,
      )
      .join(' + ');
    console.log(
      `idle daemon: ${(share * 100).toFixed(2)} % of one core over ${seconds.toFixed(0)} s, ${wakeups.toFixed(0)} wake-ups/s (supervisor + engine + capture: ${each}), RSS ${b.rssMiB.toFixed(0)} MiB`,
    );
    expect(b.pids.length).toBe(3); // the supervisor, the engine, the capture
    expect(share).toBeLessThan(0.1); // the target is < 2 % (this VM's CPU time per wake-up varies 5× between runs); this catches a busy loop
    // The design that keeps it low: a long-period idle capture stream, batched IPC, no ticking timers (~36/s; ~115/s without).
    expect(wakeups).toBeLessThan(70);
  });

  it('doctor explains the desktop, one line each; devices lists the microphone', () => {
    const r = daemon.cli('doctor', '--json');
    const checks = JSON.parse(String(r.stdout)) as Array<{ name: string; ok: boolean | 'warn'; detail: string }>;
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(Object.keys(by)).toEqual(['display', 'hotkey', 'microphone', 'clipboard', 'paste', 'model', 'backend', 'daemon']);
    expect(by.display).toMatchObject({ ok: true, detail: expect.stringMatching(/^X11 on :\d+/) });
    expect(by.hotkey).toMatchObject({ ok: true, detail: 'Meta+Alt+V (hybrid) can be hooked' });
    expect(by.microphone?.detail).toMatch(/input\(s\); .*: 1\.\d s read, level/);
    expect(by.paste).toMatchObject({ ok: true, detail: expect.stringMatching(/xdotool \(XTest\)/) });
    expect(by.model).toMatchObject({ ok: true });
    expect(by.daemon).toMatchObject({ ok: true, detail: expect.stringMatching(/running .*dictating/) });
    expect(r.status).toBe(0);
    const devices = JSON.parse(String(daemon.cli('devices', '--json').stdout)) as Array<{ name: string; isDefault: boolean }>;
    expect(devices.some((d) => d.isDefault)).toBe(true);
  });

  it('hold the hotkey, speak, release: the window gets what transcribe() makes of the captured audio; the clipboard is restored', async () => {
    await tk.focus();
    await desktop.setClipboard('what the user had copied');
    let released = 0;
    const { pasted, rec } = await dictate(async () => {
      await desktop.xdotool('keydown', 'super+alt+v');
      await desktop.play(speech[0] as string);
      released = performance.now();
      await desktop.xdotool('keyup', 'v', 'alt', 'super');
    });
    releaseToText.push(performance.now() - released);
    expect(pasted).toBe(await libraryText(rec));
    expect(pasted).toBe(`${SCRIPT_25} `);
    expect(rec).toMatchObject({ state: 'done', text: pasted });
    expect(rec.settings).toMatchObject({ trigger: 'hotkey', ended: 'release' });
    expect(Object.keys(rec.timings ?? {})).toEqual(expect.arrayContaining(['trigger', 'capture', 'endOfSpeech', 'transcription', 'paste', 'total']));
    // the audio kept starts with the pre-roll and covers the sentence
    const kept = await readAudio(rec.audio as string);
    const spoken = await readAudio(speech[0] as string);
    expect(kept.length / 16000).toBeGreaterThan(spoken.length / 16000);
    await sleep(600); // restoreDelayMs 300
    expect(await desktop.getClipboard()).toBe('what the user had copied');
  });

  it('toggle over the socket; the end of speech ends it', async () => {
    await tk.focus();
    const { pasted, rec } = await dictate(async () => {
      expect(String(daemon.cli('toggle').stdout)).toMatch(/recording/);
      await desktop.play(speech[1] as string);
    });
    expect(pasted).toBe(await libraryText(rec));
    expect(rec.settings).toMatchObject({ trigger: 'socket', ended: 'silence' });
    expect(rec.timings?.endOfSpeech).toBeGreaterThanOrEqual(500);
  });

  it('a tap of the hotkey latches (hybrid); the end of speech ends it', async () => {
    await tk.focus();
    const { rec } = await dictate(async () => {
      await desktop.xdotool('key', 'super+alt+v');
      await desktop.play(speech[2] as string);
    });
    expect(rec.settings).toMatchObject({ trigger: 'hotkey', ended: 'silence' });
  });

  it('cancel (over the socket, hotkey held) drops the utterance: nothing is pasted or kept', async () => {
    await tk.focus();
    const before = await tk.text();
    const ids = history(daemon).map((r) => r.id);
    await desktop.xdotool('keydown', 'super+alt+v'); // held: the end of speech cannot end it
    await desktop.play(speech[3] as string);
    expect(String(daemon.cli('cancel').stdout)).toMatch(/cancelled the recording/);
    await desktop.xdotool('keyup', 'v', 'alt', 'super'); // the release after a cancel does nothing
    await sleep(1500);
    expect(await tk.text()).toBe(before);
    expect(history(daemon).map((r) => r.id)).toEqual(ids);
  });

  it('silence: kept in history as no-speech, nothing transcribed or pasted', async () => {
    await tk.focus();
    const before = await tk.text();
    daemon.cli('begin');
    await sleep(1500);
    daemon.cli('end');
    await sleep(1500);
    expect(await tk.text()).toBe(before);
    expect(history(daemon)[0]?.state).toBe('no-speech');
  });

  it('release → text in the window, over more hold dictations (printed)', async () => {
    await tk.focus();
    for (const wav of speech) {
      let released = 0;
      const { pasted, rec } = await dictate(async () => {
        await desktop.xdotool('keydown', 'super+alt+v');
        await desktop.play(wav);
        released = performance.now();
        await desktop.xdotool('keyup', 'v', 'alt', 'super');
      });
      releaseToText.push(performance.now() - released);
      expect(pasted).toBe(`${rec.text}`);
    }
    const status = JSON.parse(String(daemon.cli('status', '--json').stdout)) as { host: { counts: { dictations: number }; latency: Record<string, unknown> } };
    expect(status.host.counts.dictations).toBeGreaterThanOrEqual(7);
    expect(status.host.latency).toHaveProperty('total');
    console.log(`daemon stages (ms, p50/p95/n): ${JSON.stringify(status.host.latency)}`);
    console.log(
      `RSS of the daemon's processes: ${idleRss.toFixed(0)} MiB idle before, ${tree(daemon.child.pid as number).rssMiB.toFixed(0)} MiB after ${status.host.counts.dictations} dictations`,
    );
  });

  it('a second X client (xterm) gets the paste through XTest, from a second daemon side by side', async () => {
    const term = await desktop.openTarget('xterm');
    const second = await startDaemon(desktop, { hotkey: { enabled: false }, output: { pasteKeys: 'ctrl+shift+v' } });
    try {
      await term.focus();
      expect(String(second.cli('begin').stdout)).toMatch(/recording/);
      await desktop.play(speech[0] as string);
      second.cli('end');
      const got = await term.waitFor((t) => t.length > 0 && t.endsWith(' '), 30_000);
      const rec = history(second)[0] as Rec;
      expect(got).toBe(await libraryText(rec));
    } finally {
      expect(await second.stop()).toBe(0);
      await term.close();
    }
  });
});
