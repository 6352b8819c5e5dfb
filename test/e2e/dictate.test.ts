/**
 * `prism-dictate start` used as a person uses it, on a headless desktop (Xvfb, a PulseAudio virtual
 * microphone fed espeak-ng sentences, real Tk and xterm windows): every mode with pauses inside, the
 * grabbed hotkey held in windows that must not see it, the paste through the daemon's own X
 * connection, the indicator, and the latency from release to text — printed, with its parts.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudio } from '../../lib/audio/read.js';
import { encodeWav } from '../../lib/audio/wav.js';
import { XDisplay } from '../../lib/host/desktop/x11/display.js';
import type { XTestExt } from '../../lib/host/desktop/x11/types.js';
import { joinPhrases } from '../../lib/host/phrases.js';
import { loadModel, type WhisperModel } from '../../lib/model.js';
import { ServiceClient } from '../../lib/service/client.js';
import { servicePaths } from '../../lib/service/home.js';
import { models, SCRIPT_25 } from '../helpers.js';
import { bin, type Daemon, moduleMissing, type Rec, startDaemon } from './daemon.js';
import { type Desktop, desktopMissing, startDesktop, type Target } from './desktop.js';

const missing = desktopMissing() ?? moduleMissing('naudiodon2') ?? moduleMissing('x11');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const HOTKEY = 'Meta+Alt+V';
const LATCH_SILENCE_MS = 3000;

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
/** The phrases of one dictation, in order. */
const phrasesOf = (d: Daemon, dictation: unknown): Rec[] =>
  history(d)
    .filter((r) => r.settings?.dictation === dictation)
    .sort((a, b) => Number(a.settings?.phrase) - Number(b.settings?.phrase));

interface HostStatus {
  state: 'idle' | 'recording';
  dictation?: { id: string; held: boolean; latched: boolean; phrases: number; pasted: number };
  counts: Record<string, number>;
  latency: Record<string, unknown>;
}
const status = (d: Daemon) => JSON.parse(String(d.cli('status', '--json').stdout)) as { host: HostStatus; hotkey: string };

/** 10 ms RMS frames: what survives the trip through PulseAudio even if samples do not match exactly. */
function envelope(pcm: Float32Array): Float64Array {
  const n = Math.floor(pcm.length / 160);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * 160; j < (i + 1) * 160; j++) s += (pcm[j] ?? 0) ** 2;
    out[i] = Math.sqrt(s / 160);
  }
  return out;
}

/** The best normalised correlation of `needle`'s envelope at any place inside `hay` (1 = found whole). */
function found(hay: Float32Array, needle: Float32Array): number {
  const h = envelope(hay);
  const n = envelope(needle);
  const mean = (a: Float64Array, from: number, len: number) => {
    let s = 0;
    for (let i = 0; i < len; i++) s += a[from + i] ?? 0;
    return s / len;
  };
  const nm = mean(n, 0, n.length);
  let best = -1;
  for (let off = 0; off + n.length <= h.length; off++) {
    const hm = mean(h, off, n.length);
    let num = 0;
    let dh = 0;
    let dn = 0;
    for (let i = 0; i < n.length; i++) {
      const a = (h[off + i] ?? 0) - hm;
      const b = (n[i] ?? 0) - nm;
      num += a * b;
      dh += a * a;
      dn += b * b;
    }
    best = Math.max(best, num / Math.sqrt(dh * dn || 1));
  }
  return best;
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

describe.skipIf(missing)(`prism-dictate start under Xvfb + PulseAudio${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let desktop: Desktop;
  let daemon: Daemon;
  let tk: Target;
  let model: WhisperModel;
  const speech: string[] = [];
  const pcm: Float32Array[] = [];
  /** per hold dictation: release → text in the window, and its parts from the record */
  const holds: Array<{ releaseToText: number; transcription: number; endDecided: number; paste: number; seconds: number }> = [];

  let x: XDisplay;
  let xtest: XTestExt;
  /**
   * The person's hand on Super+Alt+V, as key events through XTest from this process; resolves once the
   * X server has processed them, so that "released" is the moment the server saw the release.
   */
  async function hotkey(how: 'down' | 'up' | 'tap'): Promise<void> {
    const codes = [0xffeb, 0xffe9, 0x76].map((sym) => x.keycodeOf(sym) as number); // Super_L, Alt_L, v
    if (how !== 'up') for (const k of codes) xtest.FakeInput(xtest.KeyPress, k, 0, 0, 0, 0);
    if (how !== 'down') for (const k of codes.reverse()) xtest.FakeInput(xtest.KeyRelease, k, 0, 0, 0, 0);
    await x.sync();
  }

  beforeAll(async () => {
    desktop = await startDesktop();
    x = await XDisplay.open(desktop.display);
    xtest = await new Promise<XTestExt>((resolve, reject) => x.X.require('xtest', (e, ext) => (e ? reject(e) : resolve(ext))));
    for (const s of [
      'Please call me back after lunch.',
      'The meeting moved to Thursday at three.',
      'Send the report to the whole team today.',
      'Could you check whether the build is green?',
      'Before the release goes out on Monday morning we still need the final numbers from finance and a signed approval from legal.',
    ]) {
      const wav = await desktop.speak(s);
      speech.push(wav);
      pcm.push(await readAudio(wav));
    }
    daemon = await startDaemon(desktop, { hotkey: { keys: HOTKEY, mode: 'hybrid' }, output: { restoreDelayMs: 300 }, vad: { latchSilenceMs: LATCH_SILENCE_MS } });
    tk = await desktop.openTarget('tk');
    model = await loadModel(models().tiny, { gpu: 'cpu' });
  });

  afterAll(async () => {
    await model?.close();
    await x?.close();
    const code = await daemon?.stop();
    expect(code).toBe(0); // Ctrl+C stops it cleanly
    await desktop?.stop();
    if (holds.length) {
      const f = (k: keyof (typeof holds)[number]) => p50(holds.map((h) => h[k])).toFixed(0);
      console.log(
        `hold → release → text in the window (tiny, this CPU, n=${holds.length}): p50 ${f('releaseToText')} ms, of which transcription ${f('transcription')} ms, ` +
          `not transcription ${p50(holds.map((h) => h.releaseToText - h.transcription)).toFixed(0)} ms; release → end decided ${f('endDecided')} ms; paste stage ${p50(holds.map((h) => h.paste)).toFixed(2)} ms; ` +
          `each (audio s / ms): ${holds.map((h) => `${h.seconds.toFixed(1)}/${h.releaseToText.toFixed(0)}`).join(', ')}`,
      );
    }
  });

  /** A WAV of speech files and pauses (seconds); where each sentence ends in it (seconds). */
  function compose(name: string, parts: Array<number | number[]>): { path: string; ends: number[]; seconds: number } {
    const chunks: Float32Array[] = [];
    const ends: number[] = [];
    let at = 0;
    for (const p of parts) {
      const chunk = typeof p === 'number' ? new Float32Array(Math.round(p * 16000)) : (pcm[p[0] as number] as Float32Array);
      chunks.push(chunk);
      at += chunk.length;
      if (typeof p !== 'number') ends.push(at / 16000);
    }
    const all = new Float32Array(at);
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    const path = join(desktop.dir, `${name}.wav`);
    writeFileSync(path, encodeWav(all));
    return { path, ends, seconds: at / 16000 };
  }

  /** Every change of the window's text from now on, with when it came (ms, performance.now()). */
  function watch(target: Target): { changes: Array<{ at: number; text: string }>; stop(): Promise<void> } {
    const changes: Array<{ at: number; text: string }> = [];
    let on = true;
    let last: string | undefined;
    const look = async () => {
      const t = await target.text();
      if (last !== undefined && t !== last) changes.push({ at: performance.now(), text: t.slice(last.length) });
      last = t;
    };
    const loop = (async () => {
      while (on) {
        await look();
        await sleep(10);
      }
    })();
    return {
      changes,
      stop: async () => {
        on = false;
        await loop;
        await look(); // a change after the loop's last look
      },
    };
  }

  async function idle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (status(daemon).host.state !== 'idle' || Number((status(daemon).host as unknown as { inFlight: number }).inFlight) > 0) {
      if (Date.now() > deadline) throw new Error('the daemon did not come back to idle');
      await sleep(100);
    }
  }

  async function libraryText(rec: Rec): Promise<string> {
    const t = await model.transcribe(await readAudio(rec.audio as string), { language: 'en', audioCtx: 'auto' });
    return `${t.text.trim()} `;
  }

  /** Asserts that the phrases' audio, together, holds each sentence whole. */
  async function keptAll(phrases: Rec[], sentences: number[]): Promise<void> {
    const kept = await Promise.all(phrases.map((r) => readAudio(r.audio as string)));
    for (const [i, s] of sentences.entries()) {
      const best = Math.max(...kept.map((k) => found(k, pcm[s] as Float32Array)));
      expect(best, `sentence ${i + 1} is in the audio kept`).toBeGreaterThan(0.9);
    }
  }

  /** The daemon's log line matching `re`, once it has been written (the line follows the paste). */
  async function logged(d: Daemon, re: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = d.log.find((l) => re.test(l));
      if (line) return line;
      if (Date.now() > deadline) throw new Error(`no log line matching ${re} in:\n${d.log.join('\n')}`);
      await sleep(50);
    }
  }

  const indicatorState = () => /Map State:\s*(\w+)/.exec(spawnSync('xwininfo', ['-name', 'prism-dictate'], { env: desktop.env, encoding: 'utf8' }).stdout)?.[1];

  let idleRss = 0;
  it('idle, with the indicator on, the daemon (with its engine and capture processes) uses a sliver of one core', async () => {
    expect(daemon.log.join('\n')).toMatch(/indicator\s+top of the screen/);
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

  it('doctor --listen asks for a sentence and says what it heard (on the running service)', async () => {
    const child = spawn(process.execPath, [bin, 'doctor', '--json', '--listen', '4'], { env: { ...desktop.env, PRISM_DICTATE_HOME: daemon.home } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    // the sentence once doctor has said so (its earlier checks take a moment)
    const deadline = Date.now() + 15_000;
    while (!err.includes('say a sentence now') && Date.now() < deadline) await sleep(50);
    expect(err).toMatch(/doctor: say a sentence now \(recording 4 s from .*vmic.*\)/); // it names the input (issue 27)
    await desktop.play(speech[0] as string);
    await new Promise((r) => child.once('close', r));
    const mic = (JSON.parse(out) as Array<{ name: string; ok: boolean | 'warn'; detail: string }>).find((c) => c.name === 'microphone');
    expect(mic?.ok).toBe(true);
    expect(mic?.detail).toMatch(new RegExp(`\\[vmic\\].*: 4\\.\\d s recorded, level -\\d+\\.\\d dBFS, speech \\d\\.\\d s; heard: "${SCRIPT_25}"`));
  }, 40_000);

  it('doctor explains the desktop, one line each; devices lists the microphone', () => {
    const r = daemon.cli('doctor', '--json');
    const checks = JSON.parse(String(r.stdout)) as Array<{ name: string; ok: boolean | 'warn'; detail: string }>;
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(Object.keys(by)).toEqual(['display', 'hotkey', 'microphone', 'clipboard', 'paste', 'indicator', 'model', 'backend', 'daemon']);
    expect(by.indicator).toMatchObject({ ok: true, detail: expect.stringMatching(/^an always-on-top X window/) });
    expect(by.display).toMatchObject({ ok: true, detail: expect.stringMatching(/^X11 on :\d+/) });
    expect(by.hotkey).toMatchObject({ ok: true, detail: expect.stringMatching(/^Meta\+Alt\+V \(hybrid\) is grabbed by the running daemon \(pid \d+\)$/) });
    expect(by.microphone?.detail).toMatch(/\[vmic\].*: 1\.\d s read, level/); // the input by name (issue 27)
    expect(by.paste).toMatchObject({ ok: true, detail: expect.stringMatching(/^the daemon's X connection: CLIPBOARD owner \+ XTest, no processes \(fallback: xdotool/) });
    expect(by.model).toMatchObject({ ok: true });
    expect(by.daemon).toMatchObject({ ok: true, detail: expect.stringMatching(/running .*, dictation idle\)$/) }); // idle: nothing is being dictated now
    expect(by.model).toMatchObject({ detail: expect.stringContaining(`${models().tiny} (the running daemon's)`) }); // the model it loaded
    // a config naming a model that is not downloaded: doctor still checks the one the daemon runs (issue 27, item 3)
    const other = join(daemon.home, 'other-config.json');
    writeFileSync(other, JSON.stringify({ model: 'base.en', gpu: 'cpu' }));
    const withOther = JSON.parse(String(daemon.cli('--config', other, 'doctor', '--json', '--no-listen').stdout)) as Array<{ name: string; ok: boolean | 'warn'; detail: string }>;
    expect(withOther.find((c) => c.name === 'model')).toMatchObject({ ok: true, detail: expect.stringContaining(models().tiny) });
    expect(by.backend).toMatchObject({ ok: true, detail: expect.stringMatching(/^CPU \(gpu: cpu in the config\)/) });
    expect(r.status).toBe(0);
    const listed = JSON.parse(String(daemon.cli('devices', '--json').stdout)) as {
      devices: Array<{ name: string; isDefault: boolean }>;
      sources: Array<{ name: string; description: string; isDefault: boolean }>;
    };
    expect(listed.devices.some((d) => d.isDefault)).toBe(true);
    expect(listed.sources).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'vmic', description: 'Virtual_Microphone', isDefault: true })]));
    expect(daemon.log.join('\n')).toMatch(/output\s+paste via X connection \(XTest\), clipboard through the X connection/);
  });

  it('hold the hotkey 5 s in the Tk window, speak, release: only the text arrives; the indicator shows it; the clipboard is restored', async () => {
    await tk.focus();
    await desktop.setClipboard('what the user had copied');
    const before = await tk.text();
    expect(indicatorState()).toBe('IsUnMapped');
    await hotkey('down');
    const pressed = performance.now();
    await desktop.play(speech[0] as string);
    expect(status(daemon).host.dictation).toMatchObject({ held: true, latched: false });
    expect(indicatorState()).toBe('IsViewable');
    await sleep(5000 - (performance.now() - pressed)); // held 5 s: the server auto-repeats V all along
    const released = performance.now();
    await hotkey('up');
    const all = await tk.waitFor((t) => t.length > before.length && t.endsWith(' '), 30_000);
    const releaseToText = performance.now() - released;
    const pasted = all.slice(before.length);
    const rec = history(daemon)[0] as Rec;
    expect(pasted).toBe(rec.text); // nothing but the text: no ö, no NUL, no ^V
    expect(pasted).toBe(await libraryText(rec));
    expect(pasted).toBe(`${SCRIPT_25} `);
    // the sentence was cut at the pause after it; the silent rest up to the release is not kept, and
    // the phrase carries the end: release → end decided, the paste, total from the release
    expect(rec.settings).toMatchObject({ trigger: 'hotkey', ended: 'pause', phrase: 1 });
    expect(Object.keys(rec.timings ?? {})).toEqual(expect.arrayContaining(['trigger', 'capture', 'endOfSpeech', 'transcription', 'paste', 'total']));
    await keptAll([rec], [0]);
    holds.push({
      releaseToText,
      transcription: rec.timings?.transcription ?? 0,
      endDecided: rec.timings?.endOfSpeech ?? 0,
      paste: rec.timings?.paste ?? 0,
      seconds: rec.seconds ?? 0,
    });
    await sleep(1200); // 'pasted' shows ~800 ms; restoreDelayMs 300
    expect(indicatorState()).toBe('IsUnMapped');
    expect(await desktop.getClipboard()).toBe('what the user had copied');
    const line = await logged(daemon, /dictation \d+ hybrid\/held \(hotkey, ended by release\): 1 phrase, \d+\.\d s audio, \d+ characters; ms: .*paste/);
    expect(line).not.toContain(rec.text?.trim().slice(0, 20)); // log.text is off: the words stay out of the log
  }, 60_000);

  it('the hotkey held 5 s in an xterm types nothing there (the grab keeps it from the window)', async () => {
    const term = await desktop.openTarget('xterm');
    try {
      await hotkey('down');
      await sleep(5000);
      await hotkey('up');
      await idle();
      await desktop.xdotool('type', 'ok');
      expect(await term.waitFor((t) => t.includes('ok'))).toBe('ok');
    } finally {
      await term.close();
    }
  }, 30_000);

  it('hold of ~25 s with pauses of 1.5, 2.5 and 2 s inside: one paste of every phrase, transcribed ahead while held', async () => {
    await tk.focus();
    const wav = compose('hold-pauses', [[4], 1.5, [1], 2.5, [4], 2.0, [3]]);
    const before = (await tk.text()).length;
    const w = watch(tk);
    await hotkey('down');
    await desktop.play(wav.path);
    const released = performance.now();
    await hotkey('up');
    const all = await tk.waitFor((t) => t.length > before && t.endsWith(' '), 30_000);
    const releaseToText = performance.now() - released;
    await idle();
    await w.stop();
    expect(w.changes).toHaveLength(1); // held: one paste, at the release
    const dictation = history(daemon)[0]?.settings?.dictation;
    const phrases = phrasesOf(daemon, dictation);
    expect(phrases.map((p) => p.settings?.ended)).toEqual(['pause', 'pause', 'pause', 'release']);
    expect(all.slice(before)).toBe(joinPhrases(phrases.map((p) => p.text ?? '')));
    await keptAll(phrases, [4, 1, 3]);
    const last = phrases.at(-1) as Rec;
    console.log(
      `hold of ${wav.seconds.toFixed(1)} s with 3 pauses: release → text ${releaseToText.toFixed(0)} ms; phrases (s, transcription ms): ${phrases.map((p) => `${p.seconds?.toFixed(1)}/${p.timings?.transcription?.toFixed(0)}`).join(', ')}`,
    );
    holds.push({
      releaseToText,
      transcription: last.timings?.transcription ?? 0,
      endDecided: last.timings?.endOfSpeech ?? 0,
      paste: last.timings?.paste ?? 0,
      seconds: wav.seconds,
    });
  }, 60_000);

  it('begin/end over the socket with pauses inside: nothing lost, one paste', async () => {
    await tk.focus();
    const wav = compose('socket-pauses', [[0], 0.6, [1], 2.0, [2]]);
    const before = (await tk.text()).length;
    expect(String(daemon.cli('begin').stdout)).toMatch(/recording/);
    await desktop.play(wav.path);
    expect(status(daemon).host.state).toBe('recording'); // pauses do not end push-to-talk
    expect(String(daemon.cli('end').stdout)).toMatch(/transcribing/);
    const all = await tk.waitFor((t) => t.length > before && t.endsWith(' '), 30_000);
    await idle();
    const phrases = phrasesOf(daemon, history(daemon)[0]?.settings?.dictation);
    expect(phrases.every((p) => p.settings?.trigger === 'socket')).toBe(true);
    expect(phrases.length).toBeGreaterThanOrEqual(2); // the 2 s pause is cut; the 0.6 s one may be (hangover 500 ms)
    await logged(daemon, new RegExp(`held \\(socket, ended by socket\\): ${phrases.length} phrases`));
    expect(all.slice(before)).toBe(joinPhrases(phrases.map((p) => p.text ?? '')));
    await keptAll(phrases, [0, 1, 2]);
  }, 60_000);

  it('a tap latches (hybrid): three phrases with 1.5 s pauses are pasted in order as each ends; a press ends it and starts nothing', async () => {
    await tk.focus();
    const wav = compose('latched', [[1], 1.5, [2], 1.5, [3], 1.0]);
    const w = watch(tk);
    await hotkey('tap');
    expect(status(daemon).host.dictation).toMatchObject({ latched: true });
    const start = performance.now();
    await desktop.play(wav.path);
    // the third phrase ends at the end of the sentence; its paste may come after the file ends
    const deadline = Date.now() + 10_000;
    while (w.changes.length < 3 && Date.now() < deadline) await sleep(50);
    expect(status(daemon).host.state).toBe('recording'); // still latched after three phrases and their pauses
    await hotkey('tap'); // the press that ends it
    expect(status(daemon).host.state).toBe('idle');
    await idle();
    await sleep(1000);
    expect(status(daemon).host.state).toBe('idle'); // …and no new recording started
    await w.stop();
    expect(w.changes).toHaveLength(3);
    // each phrase's text is in the window before the next phrase ends
    const ends = wav.ends.map((s) => start + s * 1000);
    expect(w.changes[0]?.at).toBeLessThan(ends[1] as number);
    expect(w.changes[1]?.at).toBeLessThan(ends[2] as number);
    const phrases = phrasesOf(daemon, history(daemon)[0]?.settings?.dictation);
    expect(phrases.map((p) => [p.settings?.trigger, p.settings?.ended])).toEqual([
      ['hotkey', 'pause'],
      ['hotkey', 'pause'],
      ['hotkey', 'pause'],
    ]);
    expect(w.changes.map((c) => c.text)).toEqual(phrases.map((p) => p.text));
    await keptAll(phrases, [1, 2, 3]);
    console.log(`latched: phrase ends → pasted (ms): ${w.changes.map((c, i) => (c.at - (ends[i] as number)).toFixed(0)).join(', ')}`);
    await logged(daemon, /hybrid\/latched \(hotkey, ended by press\): 3 phrases/);
  }, 60_000);

  it(`toggle: a latched dictation that ${LATCH_SILENCE_MS / 1000} s of silence ends`, async () => {
    // What holds however loaded the machine: the order of events and what was kept. When the phrase is
    // pasted (before or after the silence ends the dictation) depends on the speed; the bench measures it.
    await tk.focus();
    const before = (await tk.text()).length;
    expect(String(daemon.cli('toggle').stdout)).toMatch(/recording/);
    await desktop.play(speech[2] as string);
    const spoken = performance.now();
    // the end of the sentence does not end a latched dictation: asked over the socket at once, before
    // the daemon can have heard seconds of silence, it is recording still
    const client = await ServiceClient.connect(servicePaths(daemon.home).socket);
    const host = ((await client.status()) as unknown as { host: HostStatus }).host;
    client.close();
    expect(host.state).toBe('recording');
    expect(host.dictation).toMatchObject({ latched: true });
    const text = await tk.waitFor((t) => t.length > before && t.endsWith(' '), 60_000);
    await idle();
    // the silence ended it, not sooner than it lasted; its one phrase was pasted, as its record says
    expect(performance.now() - spoken).toBeGreaterThan(LATCH_SILENCE_MS - 300);
    await logged(daemon, /\(socket, ended by silence\): 1 phrase,/, 30_000);
    expect(text.slice(before)).toBe(history(daemon)[0]?.text);
  }, 120_000);

  it('cancel in the middle of a latched dictation: what was pasted stays, the rest is dropped', async () => {
    await tk.focus();
    const wav = compose('cancelled', [[0], 1.5, [3]]);
    const before = (await tk.text()).length;
    await hotkey('tap');
    const playing = desktop.play(wav.path);
    const first = await tk.waitFor((t) => t.length > before && t.endsWith(' '), 15_000);
    expect(String(daemon.cli('cancel').stdout)).toMatch(/cancelled the recording/);
    expect(status(daemon).host.state).toBe('idle');
    await playing;
    await sleep(1500);
    expect(await tk.text()).toBe(first);
    expect(status(daemon).host.state).toBe('idle');
  }, 30_000);

  it('silence: kept in history as no-speech, nothing transcribed or pasted', async () => {
    await tk.focus();
    const before = await tk.text();
    daemon.cli('begin');
    await sleep(1500);
    daemon.cli('end');
    await idle();
    expect(await tk.text()).toBe(before);
    expect(history(daemon)[0]?.state).toBe('no-speech');
  });

  it('release → text in the window, over more hold dictations (printed)', async () => {
    await tk.focus();
    for (const wav of speech) {
      const before = (await tk.text()).length;
      await hotkey('down');
      await desktop.play(wav);
      const released = performance.now();
      await hotkey('up');
      const all = await tk.waitFor((t) => t.length > before && t.endsWith(' '), 30_000);
      const releaseToText = performance.now() - released;
      const rec = history(daemon)[0] as Rec;
      expect(all.slice(before)).toBe(rec.text);
      holds.push({
        releaseToText,
        transcription: rec.timings?.transcription ?? 0,
        endDecided: rec.timings?.endOfSpeech ?? 0,
        paste: rec.timings?.paste ?? 0,
        seconds: rec.seconds ?? 0,
      });
    }
    const st = status(daemon).host;
    expect(st.counts.dictations).toBeGreaterThanOrEqual(9);
    expect(st.latency).toHaveProperty('total');
    console.log(`daemon stages (ms, p50/p95/n): ${JSON.stringify(st.latency)}`);
    console.log(
      `RSS of the daemon's processes: ${idleRss.toFixed(0)} MiB idle before, ${tree(daemon.child.pid as number).rssMiB.toFixed(0)} MiB after ${st.counts.dictations} dictations`,
    );
    // the paste stage's time is printed (below, with the other stages): a speed, for the bench, not a
    // limit here (11.8 ms > 10 failed once on a loaded machine, 3.5 ms idle)
  }, 120_000);

  it('a second daemon cannot grab the same hotkey (it says which and what to do) and pastes into an xterm through its own X connection', async () => {
    const term = await desktop.openTarget('xterm');
    const second = await startDaemon(desktop, { hotkey: { keys: HOTKEY }, output: { pasteKeys: 'ctrl+shift+v', restoreDelayMs: 300 } });
    try {
      expect(second.log.join('\n')).toMatch(
        /no global hotkey: Meta\+Alt\+V is already taken by another program on :\d+ \(it grabbed the key\): free it there or choose another hotkey\.keys/,
      );
      expect(status(second).hotkey).toMatch(/^none: Meta\+Alt\+V is already taken/);
      const doctor = JSON.parse(String(second.cli('doctor', '--json').stdout)) as Array<{ name: string; ok: boolean | 'warn'; detail: string }>;
      expect(doctor.find((c) => c.name === 'hotkey')).toMatchObject({ ok: false, detail: expect.stringMatching(/Meta\+Alt\+V is already taken by another program/) });

      await desktop.setClipboard('copied before the terminal paste');
      await term.focus();
      expect(String(second.cli('begin').stdout)).toMatch(/recording/);
      await desktop.play(speech[0] as string);
      second.cli('end');
      const got = await term.waitFor((t) => t.length > 0 && t.endsWith(' '), 30_000);
      const rec = history(second)[0] as Rec;
      expect(got).toBe(await libraryText(rec));
      await sleep(800);
      expect(await desktop.getClipboard()).toBe('copied before the terminal paste');
    } finally {
      expect(await second.stop()).toBe(0);
      await term.close();
    }
  }, 90_000);
});
