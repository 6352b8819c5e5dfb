/**
 * The dashboard in a real browser (headless Chromium through playwright-core) next to a real daemon
 * on the headless desktop: dictations started with `prism-dictate toggle`, spoken into the virtual
 * microphone and ended by the next toggle must show up on the open page without a reload: the counts
 * (dictations as dictations, their phrases apart), the list with the daemon's own text, each
 * dictation's phrases under it with where the text went, a player for each phrase's kept audio and a
 * retry, the stage table, the charts (y from 0, distinct labels, no GPU series without a GPU, no chart
 * alone at half width), the microphone's name and live level, the hotkey hint. Hiding text,
 * re-pasting and the token are checked there too; a screenshot is saved to
 * test/artifacts/dashboard.png.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XDisplay } from '../../lib/host/desktop/x11/display.js';
import { focusedWindowName } from '../../lib/host/desktop/x11/window.js';
import { root, SCRIPT_25 } from '../helpers.js';
import { bin, type Daemon, moduleMissing, type Rec, startDaemon } from './daemon.js';
import { type Desktop, desktopMissing, startDesktop } from './desktop.js';

const CHROMIUM = '/usr/bin/chromium';
const _sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const missing = desktopMissing() ?? moduleMissing('naudiodon2') ?? moduleMissing('playwright-core') ?? (existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing`);

/** The page's own formatting of a stage time. */
const ms = (v: number): string => (v < 10 ? v.toFixed(1) : v.toFixed(0));

describe.skipIf(missing)(`the dashboard in headless Chromium${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let desktop: Desktop;
  let daemon: Daemon;
  let browser: Browser;
  let page: Page;
  let url: string;
  let speech: string;
  let twice: string;

  beforeAll(async () => {
    desktop = await startDesktop();
    speech = await desktop.speak('Please call me back after lunch.');
    // two phrases in one dictation: the speech, a pause the VAD cuts at, the speech again
    const padded = join(desktop.dir, 'padded.wav');
    twice = join(desktop.dir, 'twice.wav');
    await desktop.run('sox', [speech, padded, 'pad', '0', '1.5']);
    await desktop.run('sox', [padded, speech, twice]);
    // socket triggers (the hotkey is grabbed, for its hint, but not pressed), and the text to the
    // clipboard: nothing depends on a focused window
    daemon = await startDaemon(desktop, { hotkey: { keys: 'Ctrl+Alt+Space', mode: 'hybrid' }, output: { method: 'clipboard' } });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 1400 }, permissions: ['clipboard-read', 'clipboard-write'] });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    const code = await daemon?.stop({ keepHome: true });
    expect(code).toBe(0);
    expect(existsSync(join(daemon.home, 'dashboard.json'))).toBe(false); // removed on stop
    await rm(daemon.home, { recursive: true, force: true });
    await desktop?.stop();
  });

  const history = (): Rec[] => JSON.parse(String(daemon.cli('history', '--json').stdout)) as Rec[];
  const text = async (selector: string): Promise<string> => (await page.locator(selector).textContent()) ?? '';
  // polled from here: the page's CSP forbids the string evaluation waitForFunction would need
  const until = (selector: string, expected: string | RegExp, timeout = 10_000) =>
    typeof expected === 'string' ? expect.poll(() => text(selector), { timeout }).toBe(expected) : expect.poll(() => text(selector), { timeout }).toMatch(expected);
  // this project's TypeScript has no DOM types: the canvas is typed by hand
  const stagesCanvas = (): Promise<string> =>
    page
      .locator('#chart-stages canvas')
      .first()
      .evaluate((c) => (c as unknown as { toDataURL(): string }).toDataURL());

  /** One dictation of `wav`; resolves with its newest phrase's record once the page counts it. */
  async function dictate(expectedCount: number, wav = speech): Promise<Rec> {
    expect(String(daemon.cli('toggle').stdout)).toBe('prism-dictate: recording\n');
    // the page's level meter moves while the person speaks (it was silence before)
    const heard = expect.poll(() => text('#mic-db'), { timeout: 60_000 }).toMatch(/^-\d+ dBFS$/);
    await desktop.play(wav); // the VAD cuts a phrase at each pause
    await heard;
    expect(String(daemon.cli('toggle').stdout)).toBe('prism-dictate: transcribing\n'); // and the next toggle ends it
    await until('#dictation-count', String(expectedCount), 60_000);
    return history()[0] as Rec;
  }
  /** What the page's uPlot charts hold (exposed for this test as window.prismDashboard.charts). */
  const chart = (name: string) =>
    page.evaluate((n) => {
      const u = (
        globalThis as unknown as {
          prismDashboard: { charts: Record<string, { series: Array<{ label: string }>; scales: { y: { min: number; max: number } }; axes: Array<{ _values?: string[] }> }> };
        }
      ).prismDashboard.charts[n];
      return u && { labels: u.series.map((x) => x.label), yMin: u.scales.y.min, yMax: u.scales.y.max, yTicks: u.axes[1]?._values ?? null };
    }, name);

  it('`prism-dictate dashboard --json` prints the URL with its token; no daemon → exit 7', async () => {
    const r = daemon.cli('dashboard', '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(String(r.stdout)) as { url: string; metrics: string };
    expect(out.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
    expect(out.metrics).toBe(out.url.replace('/?token=', '/metrics?token='));
    url = out.url;
    expect(JSON.parse(String(daemon.cli('status', '--json').stdout)).dashboard).toEqual({ url });
    expect(daemon.log.join('\n')).not.toContain(new URL(url).searchParams.get('token'));
    // the microphone is named once at start (it was twice: a log line and the report)
    expect(
      daemon.log.filter((l) => /\bmicrophone\b.*\bHz\b/.test(l)),
      daemon.log.join('\n'),
    ).toHaveLength(1);
    // the start message ends with what to do with the hotkey
    expect(daemon.log.find((l) => l.includes('dictation ready'))).toMatch(/dictation ready: hold Ctrl\+Alt\+Space while you speak \(release to paste\), or tap it/);
    const empty = await mkdtemp(join(tmpdir(), 'prism-e2e-none-'));
    const none = spawnSync(process.execPath, [bin, 'dashboard'], { env: { ...desktop.env, PRISM_DICTATE_HOME: empty }, encoding: 'utf8' });
    await rm(empty, { recursive: true, force: true });
    expect(none.status).toBe(7);
    expect(none.stderr).toMatch(/not running/);
  });

  it('refuses requests without the token or with a wrong one', async () => {
    const base = url.slice(0, url.indexOf('?'));
    expect((await fetch(base)).status).toBe(401);
    expect((await fetch(`${base}metrics`)).status).toBe(401);
    expect((await fetch(`${base}?token=${'A'.repeat(32)}`)).status).toBe(403);
    const refused = await page.goto(base);
    expect(refused?.status()).toBe(401);
    expect(await page.content()).not.toContain('prism-dictate</h1>');
  });

  it('shows each dictation live, without a reload: count, list, stage table, charts', async () => {
    await page.goto(url);
    await until('#conn', 'live');
    expect(await text('#dictation-count')).toBe('0');
    expect(await text('#service-state')).toBe('ready');
    expect(await text('#service-backend')).toMatch(/^cpu|CPU/i);
    expect(await page.locator('#dictations > li').count()).toBe(0);
    // the setup at the top: model, backend, output, hotkey; the microphone by its name, the hotkey's hint
    expect(await text('#about')).toMatch(/^model \S+\.bin · cpu · output clipboard · hotkey Ctrl\+Alt\+Space \(grabbed\), hybrid$/);
    const mic = await text('#mic-name');
    // the sound server's source (vmic, "Virtual_Microphone"), through parec or PortAudio — not "default"
    expect(mic).toMatch(/Virtual_Microphone.*\bvmic\b/);
    expect(mic).not.toMatch(/^default/);
    expect(await text('#hotkey-hint')).toBe('hold Ctrl+Alt+Space while you speak (release to paste), or tap it to dictate hands-free and tap again to stop');
    // the level, live while the page is open: nothing is played yet
    await until('#mic-db', 'silence');
    const captureCanvas = (): Promise<string> =>
      page
        .locator('#chart-capture canvas')
        .first()
        .evaluate((c) => (c as unknown as { toDataURL(): string }).toDataURL());
    const emptyCapture = await captureCanvas();
    await page.evaluate(() => {
      (globalThis as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    const emptyChart = await stagesCanvas();

    const first = await dictate(1);
    expect(first.state).toBe('copied'); // output.method 'clipboard': on the clipboard, to be pasted (issue 26)
    expect(first.text?.trim()).toBe(SCRIPT_25);
    await expect.poll(() => page.locator('#dictations > li').count()).toBe(1);
    expect(await text('#phrase-count')).toBe('1');
    const entry = page.locator('#dictations > li').first();
    expect(await entry.locator('li.phrase .text').textContent()).toBe(first.text); // exactly the daemon's text
    expect(await entry.locator('li.phrase').getAttribute('data-id')).toBe(first.id);
    expect(await entry.getAttribute('data-id')).toBe(first.settings?.dictation);
    expect(await entry.locator('.count').textContent()).toBe('1 phrase');
    expect(await entry.locator('.window').textContent()).toBe('→ the clipboard (to paste)'); // where it went
    // its kept audio: a player whose address serves the WAV of the history, which the browser can load
    const audio = entry.locator('li.phrase audio');
    expect(await audio.count()).toBe(1);
    const src = new URL((await audio.getAttribute('src')) as string, url);
    expect(src.pathname).toBe(`/audio/${first.id}.wav`);
    const served = await fetch(src);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('audio/wav');
    const wav = Buffer.from(await served.arrayBuffer());
    expect([wav.subarray(0, 4).toString(), wav.subarray(8, 12).toString()]).toEqual(['RIFF', 'WAVE']);
    expect(wav.length).toBe(44 + Math.round((first.seconds as number) * 16000) * 2);
    await audio.evaluate((a) => (a as unknown as { load(): void }).load());
    await expect.poll(() => audio.evaluate((a) => (a as unknown as { duration: number }).duration), { timeout: 10_000 }).toBeCloseTo(first.seconds as number, 1);
    const row = (stage: string) => page.locator(`#stage-table tr[data-stage="${stage}"] td`).allTextContents();
    for (const stage of ['trigger', 'capture', 'endOfSpeech', 'transcription', 'paste', 'total']) {
      const cells = await row(stage);
      expect(cells[1], stage).toBe(ms(first.timings?.[stage] as number));
      expect(cells[4], stage).toBe('1');
    }
    const oneBar = await stagesCanvas();
    expect(oneBar).not.toBe(emptyChart);
    expect(await captureCanvas()).not.toBe(emptyCapture); // the capture has its own chart
    // the copy button of a dictation puts its text on the clipboard
    await page.locator('#dictations .copy').first().click();
    await expect.poll(() => page.locator('#dictations .copy').first().textContent()).toBe('copied');
    expect(await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText())).toBe(first.text);

    // a dictation of two phrases (a pause between): one more dictation, two more phrases, under it
    const second = await dictate(2, twice);
    expect(second.id).not.toBe(first.id);
    const phrases = history().filter((r) => r.settings?.dictation === second.settings?.dictation);
    expect(phrases.map((r) => r.settings?.phrase)).toEqual([2, 1]);
    await until('#phrase-count', '3');
    expect(await text('#dictation-count')).toBe('2');
    await expect.poll(() => page.locator('#dictations > li').count()).toBe(2);
    const newest = page.locator('#dictations > li').first(); // newest first
    expect(await newest.getAttribute('data-id')).toBe(second.settings?.dictation);
    expect(await newest.locator('.count').textContent()).toBe('2 phrases');
    expect(await newest.locator('li.phrase').evaluateAll((ls) => ls.map((l) => (l as unknown as { dataset: { id: string } }).dataset.id))).toEqual(
      phrases.map((r) => r.id).reverse(),
    );
    expect(await newest.locator('li.phrase .text').allTextContents()).toEqual(phrases.map((r) => r.text).reverse());
    expect(await newest.locator('li.phrase audio').count()).toBe(2);
    expect((await row('transcription'))[1]).toBe(ms(second.timings?.transcription as number));
    // the stage table counts phrases (its column says so): a latched dictation pastes each at its pause
    expect((await row('total'))[4]).toBe('3');
    expect((await row('transcription'))[4]).toBe('3');
    // the charts: one bar per dictation (2), y from 0, tick labels all different
    for (const name of ['stages', 'capture']) {
      const c = await chart(name);
      expect(c?.yMin, name).toBe(0);
      expect(c?.yTicks?.length, name).toBeGreaterThan(1);
      expect(new Set(c?.yTicks).size, `${name}: ${c?.yTicks?.join(' ')}`).toBe(c?.yTicks?.length);
    }
    expect(await stagesCanvas()).not.toBe(oneBar);
    expect(await page.locator('#chart-latency canvas').count()).toBeGreaterThan(0);
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

    // resource samples arrive every ~2 s: the captions show the latest values; this machine's GPU line
    await until('#cpu-now', /^now: daemon \d+\.\d %, engine \d+\.\d %$/);
    expect(await text('#mem-now')).toMatch(/^now: daemon \d+\.\d MiB, engine \d+\.\d MiB$/);
    const hasNvidia = spawnSync('nvidia-smi', ['-L']).status === 0;
    if (hasNvidia) expect(await text('#gpu-now')).toMatch(/^GPU 0: \d+ %, \d+ \/ \d+ MiB/);
    else {
      expect(await text('#gpu-now')).toBe('no GPU');
      // no GPU series, and so no GPU legend
      expect((await chart('cpu'))?.labels).toEqual(['x', 'daemon', 'engine']);
      expect((await chart('mem'))?.labels).toEqual(['x', 'daemon RSS', 'engine RSS']);
      expect(await text('#chart-cpu')).not.toMatch(/GPU/);
      expect(await text('#chart-mem')).not.toMatch(/GPU/);
    }
    // the layout: no chart alone on its row at part of the width
    const boxes = await page.locator('.grid > .card').evaluateAll((cards) =>
      cards.map((c) => {
        const r = (c as unknown as { getBoundingClientRect(): { y: number; width: number } }).getBoundingClientRect();
        const p = (c as unknown as { parentElement: { getBoundingClientRect(): { width: number } } }).parentElement.getBoundingClientRect();
        return { y: Math.round(r.y), width: r.width, row: p.width };
      }),
    );
    expect(boxes).toHaveLength(5);
    for (const b of boxes) if (boxes.filter((o) => o.y === b.y).length === 1) expect(b.width, JSON.stringify(boxes)).toBeGreaterThan(b.row - 2);
    expect(await text('#errors')).toBe('0');
    expect(await text('#fallbacks')).toBe('0');
    expect(await text('#restarts')).toBe('0');
    mkdirSync(join(root, 'test', 'artifacts'), { recursive: true });
    await page.screenshot({ path: join(root, 'test', 'artifacts', 'dashboard.png'), fullPage: true });
  });

  it('"hide text" hides dictated text, and is remembered across reloads', async () => {
    const words = SCRIPT_25.split(' ').slice(0, 4).join(' ');
    const shown = await page.locator('#dictations li.phrase .text').allTextContents();
    expect(shown).toHaveLength(3);
    expect(await text('#dictations')).toContain(words);
    await page.locator('#hide-text').check();
    expect(await page.locator('#dictations li.phrase .text').allTextContents()).toEqual(['(hidden)', '(hidden)', '(hidden)']);
    expect(await text('body')).not.toContain(words);
    await page.reload();
    await until('#conn', 'live');
    expect(await page.locator('#hide-text').isChecked()).toBe(true);
    await expect.poll(() => page.locator('#dictations li.phrase .text').allTextContents()).toEqual(['(hidden)', '(hidden)', '(hidden)']);
    await page.locator('#hide-text').uncheck();
    expect(await page.locator('#dictations li.phrase .text').allTextContents()).toEqual(shown);
  });

  it("retry transcribes a phrase's kept audio again and delivers it (copied: this daemon only copies)", async () => {
    const oldest = history().at(-1) as Rec;
    await desktop.setClipboard('something the user copied');
    const phrase = page.locator(`#dictations li.phrase[data-id="${oldest.id}"]`);
    await phrase.locator('.retry').click();
    await expect.poll(() => phrase.locator('.retry-result').textContent(), { timeout: 60_000 }).toBe('retried: copied to the clipboard — press Ctrl+V to paste');
    expect((await desktop.getClipboard()).trim()).toBe(SCRIPT_25);
    expect(history().find((r) => r.id === oldest.id)).toMatchObject({ state: 'copied', text: oldest.text });
    expect(await page.locator('#dictations li.phrase').count()).toBe(3); // in place: no new phrase
    // the same from the command line, by id
    const cli = daemon.cli('retry', oldest.id);
    expect(cli.stderr).toBe('');
    expect(String(cli.stdout)).toBe(`prism-dictate: transcribed: ${oldest.text} (copied: press Ctrl+V to paste)\n`);
    expect(daemon.cli('retry', '20990101-000000-000-000').status).not.toBe(0);
  });

  it('the window a dictation went to: the focused X window by its title and class (as the history records it)', async () => {
    const d = await XDisplay.open(desktop.display);
    try {
      for (const kind of ['xterm', 'tk'] as const) {
        const target = await desktop.openTarget(kind);
        await target.focus();
        // the focus may sit on a child of the named top-level (Tk): its parents are asked
        const name = await focusedWindowName(d);
        if (kind === 'xterm') expect(name).toBe(`"${target.title}" (XTerm)`);
        else expect(name).toMatch(new RegExp(`^"${target.title}" \\([^)]+\\)$`)); // Tk names its class after the script
        await target.close();
      }
    } finally {
      await d.close();
    }
  });

  it('the re-paste button delivers the last text again, and says how (copied: this daemon only copies)', async () => {
    await desktop.setClipboard('something the user copied');
    await page.locator('#repaste').click();
    await until('#repaste-result', 'copied to the clipboard — press Ctrl+V to paste');
    expect((await desktop.getClipboard()).trim()).toBe(SCRIPT_25);
  });
});
