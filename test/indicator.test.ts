/**
 * The X11 recording indicator, checked on a private Xvfb as a person would see it: where it is, whether
 * it is viewable, that it never takes the focus from the window being dictated into, what its pixels
 * look like (a screenshot lands in test/artifacts/indicator.png), and that it sends nothing while hidden.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Indicator, type IndicatorClock } from '../lib/host/desktop/x11/indicator.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const onPath = (cmd: string) => (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, cmd)));
const missingTools = ['Xvfb', 'xwininfo', 'xprop', 'xdotool', 'xterm'].filter((c) => !onPath(c));
const hasX11 = (() => {
  try {
    return Boolean(require.resolve('x11'));
  } catch {
    return false;
  }
})();
const missing =
  process.platform !== 'linux'
    ? 'X11 tests run on Linux'
    : missingTools.length
      ? `missing ${missingTools.join(', ')} (apt-get install --no-install-recommends xvfb x11-utils xdotool xterm)`
      : hasX11
        ? undefined
        : 'the npm package x11 is not installed';

type Fn = (...args: unknown[]) => unknown;
type XClient = Record<string, Fn> & { seq_num: number; on(e: string, fn: Fn): void; sync(): Promise<void>; close(cb?: () => void): void };
type XDisplay = { client: XClient; screen: { root: number }[] };

/** Timers that fire only when the test advances them. */
class FakeClock implements IndicatorClock {
  t = 1000;
  private next = 0;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    this.timers.set(++this.next, { at: this.t + ms, fn });
    return this.next;
  };
  clearTimeout = (h: unknown) => void this.timers.delete(h as number);
  advance(ms: number): void {
    this.t += ms;
    for (const [id, timer] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.t || !this.timers.has(id)) continue;
      this.timers.delete(id);
      timer.fn();
    }
  }
}

describe.skipIf(missing)(`the X11 recording indicator${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let xvfb: ChildProcess;
  let xterm: ChildProcess | undefined;
  let dpy = '';
  let display: XDisplay;
  let X: XClient;
  let ind: Indicator;
  const clock = new FakeClock();
  const logged: string[] = [];
  const clientErrors: unknown[] = [];
  const x = async (cmd: string, ...args: string[]) => (await run(cmd, args, { env: { ...process.env, DISPLAY: dpy }, timeout: 10_000 })).stdout;
  const info = async (wid: number) => x('xwininfo', '-id', String(wid));
  const field = (text: string, name: string) => text.match(new RegExp(`${name}:\\s*(.+)`))?.[1]?.trim();
  const count = (name: string) => {
    const calls = { n: 0 };
    const real = X[name] as Fn;
    X[name] = (...args: unknown[]) => {
      calls.n++;
      return real.apply(X, args);
    };
    // put the real one back (the client's requests are its own properties: deleting would lose them)
    return {
      calls,
      restore: () => {
        X[name] = real;
      },
    };
  };

  beforeAll(async () => {
    // -displayfd: Xvfb picks a free display number itself and writes it to fd 3 once it accepts clients.
    xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '800x600x24', '-nolisten', 'tcp', '-noreset'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    dpy = await new Promise<string>((resolve, reject) => {
      let out = '';
      xvfb.stdio[3]?.on('data', (d: Buffer) => {
        out += d;
        if (out.includes('\n')) resolve(`:${out.trim()}`);
      });
      xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (${code})`)));
    });
    const x11 = require('x11') as { createClient(o: { display: string }, cb: (err: Error | null, d: XDisplay) => void): void };
    display = await new Promise((resolve, reject) => x11.createClient({ display: dpy }, (err, d) => (err ? reject(err) : resolve(d))));
    X = display.client;
    X.on('error', (e) => void clientErrors.push(e));
    ind = await Indicator.create({ X, display }, { clock, log: (m) => logged.push(m) });
  });

  afterAll(async () => {
    if (X) await new Promise<void>((resolve) => X.close(() => resolve()));
    for (const p of [xterm, xvfb]) {
      if (!p || p.exitCode !== null || p.signalCode !== null) continue;
      const gone = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGTERM');
      await gone;
    }
    if (dpy) expect(existsSync(`/tmp/.X11-unix/X${dpy.slice(1)}`)).toBe(false);
  });

  it('creates an unmapped, override-redirect notification window named prism-dictate', async () => {
    await X.sync();
    expect((await x('xdotool', 'search', '--name', 'prism-dictate')).trim()).toBe(String(ind.wid));
    const w = await x('xwininfo', '-name', 'prism-dictate');
    expect(field(w, 'Map State')).toBe('IsUnMapped');
    expect(field(w, 'Override Redirect State')).toBe('yes');
    const props = await x('xprop', '-id', String(ind.wid), 'WM_CLASS', '_NET_WM_NAME', '_NET_WM_WINDOW_TYPE');
    expect(props).toContain('WM_CLASS(STRING) = "prism-dictate", "prism-dictate"');
    expect(props).toContain('_NET_WM_NAME(UTF8_STRING) = "prism-dictate"');
    expect(props).toContain('_NET_WM_WINDOW_TYPE(ATOM) = _NET_WM_WINDOW_TYPE_NOTIFICATION');
  });

  it('shows "listening" at the top centre, on top, with a level bar, and leaves the focus where it was', async () => {
    xterm = spawn('xterm', ['-T', 'focus-target', '-geometry', '60x10+40+120'], { env: { ...process.env, DISPLAY: dpy }, stdio: 'ignore' });
    const target = (await x('xdotool', 'search', '--sync', '--name', 'focus-target')).trim().split('\n')[0] ?? '';
    await x('xdotool', 'windowfocus', '--sync', target);
    expect((await x('xdotool', 'getwindowfocus')).trim()).toBe(target);

    ind.show('listening');
    clock.advance(100);
    ind.level(0.1); // −20 dBFS: two thirds of the bar
    await X.sync();
    const w = await x('xwininfo', '-name', 'prism-dictate');
    expect(field(w, 'Map State')).toBe('IsViewable');
    expect(field(w, 'Override Redirect State')).toBe('yes');
    expect([field(w, 'Absolute upper-left X'), field(w, 'Absolute upper-left Y'), field(w, 'Width'), field(w, 'Height')]).toEqual(['290', '8', '220', '28']);
    const tree = await x('xwininfo', '-root', '-children');
    expect(tree.indexOf(`0x${ind.wid.toString(16)}`)).toBeLessThan(tree.indexOf('focus-target')); // listed first = on top
    await sleep(200); // the xterm would react to a focus change by now
    expect((await x('xdotool', 'getwindowfocus')).trim()).toBe(target);

    const shot = await screenshot(X, display.screen[0]?.root ?? 0, 800, 600);
    const at = (px: number, py: number) => shot.rgb(290 + px, 8 + py);
    expect(at(16, 14)).toBe(0xe53935); // the red dot
    expect(at(3, 3)).toBe(0x202124); // the dark strip
    expect(at(112, 14)).toBe(0x43a047); // the level bar, left end
    expect(at(205, 14)).toBe(0x3c4043); // its empty track, right end
    const ink = Array.from({ length: 60 }, (_, i) => at(30 + i, 14)).filter((c) => c === 0xf1f3f4).length;
    expect(ink).toBeGreaterThan(5); // "listening" in light text
    mkdirSync(join(import.meta.dirname, 'artifacts'), { recursive: true });
    writeFileSync(join(import.meta.dirname, 'artifacts', 'indicator.png'), shot.png());
    writeFileSync(join(import.meta.dirname, 'artifacts', 'indicator-zoom.png'), shot.png({ x: 280, y: 0, w: 240, h: 44, scale: 3 }));
  });

  it('coalesces level() to ~15 redraws a second', () => {
    const bars = count('PolyFillRectangle');
    clock.advance(100);
    for (let i = 1; i <= 50; i++) ind.level(i / 100); // one burst: one draw now, one when the 66 ms are up
    expect(bars.calls.n).toBe(2); // track + fill
    clock.advance(70);
    expect(bars.calls.n).toBe(4);
    bars.restore();
  });

  it('redraws on Expose', async () => {
    const texts = count('ImageText8');
    X.ClearArea?.(ind.wid, 0, 0, 0, 0, 1); // clear it and ask the server for an Expose, as when uncovered
    await X.sync();
    for (let i = 0; i < 40 && texts.calls.n === 0; i++) await sleep(25);
    expect(texts.calls.n).toBe(1);
    texts.restore();
  });

  it('shows the live text (issue 28): the strip widens to a second row, settled words light, the tail dimmed, the newest words kept; a final state takes it away', async () => {
    ind.show('listening');
    await X.sync();
    const root = display.screen[0]?.root ?? 0;
    const plain = await screenshot(X, root, 800, 600);
    ind.live('Please call me back', 'after lunch');
    await X.sync();
    let w = await info(ind.wid);
    expect([field(w, 'Absolute upper-left X'), field(w, 'Width')]).toEqual(['160', '480']); // centred, 480 wide
    const height = Number(field(w, 'Height'));
    expect(height).toBeGreaterThan(28 + 10);
    const shot = await screenshot(X, root, 800, 600);
    writeFileSync(join(import.meta.dirname, 'artifacts', 'indicator-live.png'), shot.png({ x: 150, y: 0, w: 500, h: height + 16, scale: 2 }));
    const row = (img: typeof shot, colour: number) => {
      let n = 0;
      for (let y = 30; y < height; y++) for (let x = 0; x < 470; x++) if (img.rgb(160 + x, 8 + y) === colour) n++;
      return n;
    };
    expect(row(plain, 0xf1f3f4)).toBe(0); // nothing was there before
    expect(row(shot, 0xf1f3f4)).toBeGreaterThan(50); // "Please call me back": light
    expect(row(shot, 0x8a8f94)).toBeGreaterThan(30); // "after lunch": dimmed
    // the settled words stand left of the tail: light ink ends where the dimmed ink begins
    const columns = (colour: number) => {
      const xs: number[] = [];
      for (let x = 0; x < 470; x++) for (let y = 30; y < height; y++) if (shot.rgb(160 + x, 8 + y) === colour) xs.push(x);
      return xs;
    };
    expect(Math.max(...columns(0xf1f3f4))).toBeLessThan(Math.min(...columns(0x8a8f94)));
    expect(shot.rgb(160 + 16, 8 + 14)).toBe(0xe53935); // the dot and the level bar stay on the first row

    // a long dictation: its last line, the newest words visible, cut at the left
    const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    ind.live(long, 'newest tail');
    expect(ind.liveLine?.tail.endsWith('newest tail')).toBe(true);
    expect(ind.liveLine?.committed.endsWith('word39 ')).toBe(true);
    expect((ind.liveLine?.committed.length ?? 0) + (ind.liveLine?.tail.length ?? 0)).toBeLessThanOrEqual(Math.floor((480 - 20) / 6));
    ind.show('transcribing'); // kept while the last phrase is transcribed
    await X.sync();
    expect(field(await info(ind.wid), 'Width')).toBe('480');
    ind.show('pasted', 'pasted 42 chars');
    await X.sync();
    w = await info(ind.wid);
    expect([field(w, 'Absolute upper-left X'), field(w, 'Width'), field(w, 'Height')]).toEqual(['290', '220', '28']);
    expect(ind.liveLine).toBeUndefined();
    ind.show('listening');
  });

  it('hide() unmaps it, and level() while hidden sends nothing at all', async () => {
    ind.hide();
    await X.sync();
    expect(field(await info(ind.wid), 'Map State')).toBe('IsUnMapped');
    const seq = X.seq_num;
    for (let i = 0; i < 100; i++) ind.level(0.5);
    clock.advance(1000);
    expect(X.seq_num).toBe(seq);
    expect(clock.timers.size).toBe(0);
  });

  it("'pasted' and 'no-speech' hide by themselves after ~800 ms, unless another show() comes first", async () => {
    ind.show('pasted', 'pasted 42 chars');
    await X.sync();
    expect(field(await info(ind.wid), 'Map State')).toBe('IsViewable');
    clock.advance(790);
    await X.sync();
    expect(field(await info(ind.wid), 'Map State')).toBe('IsViewable');
    clock.advance(20);
    await X.sync();
    expect(field(await info(ind.wid), 'Map State')).toBe('IsUnMapped');

    ind.show('no-speech');
    clock.advance(400);
    ind.show('transcribing');
    clock.advance(2000);
    await X.sync();
    expect(field(await info(ind.wid), 'Map State')).toBe('IsViewable');
    ind.hide();
  });

  it('sits at the bottom centre when asked', async () => {
    const low = await Indicator.create({ X, display }, { position: 'bottom', clock });
    low.show('transcribing');
    await X.sync();
    const w = await info(low.wid);
    expect([field(w, 'Absolute upper-left X'), field(w, 'Absolute upper-left Y')]).toEqual(['290', '564']);
    low.close();
  });

  it('logs X errors from its requests instead of throwing them', async () => {
    const lost = await Indicator.create({ X, display }, { clock, log: (m) => logged.push(m) });
    X.DestroyWindow?.(lost.wid); // pulled from under it
    lost.show('error', 'microphone lost');
    lost.close();
    await X.sync();
    await sleep(50);
    expect(logged.some((m) => /X error 3 .*Bad ?Window/i.test(m))).toBe(true);
    expect(clientErrors).toEqual([]);
  });

  it('close() destroys the window', async () => {
    ind.close();
    await X.sync();
    await expect(info(ind.wid)).rejects.toThrow();
    expect(clientErrors).toEqual([]);
  });
});

/** The root window's pixels (GetImage, ZPixmap, 32 bpp BGRX) with a PNG writer. */
async function screenshot(X: XClient, root: number, w: number, h: number) {
  const data = await new Promise<Buffer>((resolve, reject) =>
    X.GetImage?.(2, root, 0, 0, w, h, 0xffffffff, (err: Error | null, img: { data: Buffer }) => {
      if (err) reject(err);
      else resolve(img.data);
      return true;
    }),
  );
  const rgb = (px: number, py: number) => data.readUInt32LE((py * w + px) * 4) & 0xffffff;
  const png = (r = { x: 0, y: 0, w, h, scale: 1 }) => {
    const [ow, oh] = [r.w * r.scale, r.h * r.scale];
    const raw = Buffer.alloc(oh * (1 + ow * 3));
    for (let y = 0; y < oh; y++)
      for (let i = 0; i < ow; i++) {
        const c = rgb(r.x + Math.floor(i / r.scale), r.y + Math.floor(y / r.scale));
        raw.writeUIntBE(c, y * (1 + ow * 3) + 1 + i * 3, 3);
      }
    const chunk = (type: string, body: Buffer) => {
      const out = Buffer.alloc(12 + body.length);
      out.writeUInt32BE(body.length, 0);
      out.write(type, 4, 'latin1');
      body.copy(out, 8);
      out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
      return out;
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(ow, 0);
    ihdr.writeUInt32BE(oh, 4);
    ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
    return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
  };
  return { rgb, png };
}
