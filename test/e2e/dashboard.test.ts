/**
 * The dashboard in a real browser (headless Chromium through playwright-core) next to a real daemon
 * on the headless desktop: dictations started with `prism-dictate toggle`, spoken into the virtual
 * microphone and ended by the next toggle must show up on the open page without a reload: the count, the
 * list with the daemon's own text, the stage table, the charts. Hiding text, re-pasting and the
 * token are checked there too; a screenshot is saved to test/artifacts/dashboard.png.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  beforeAll(async () => {
    desktop = await startDesktop();
    speech = await desktop.speak('Please call me back after lunch.');
    // socket triggers only, and the text to the clipboard: nothing depends on a focused window
    daemon = await startDaemon(desktop, { hotkey: { enabled: false }, output: { method: 'clipboard' } });
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

  async function dictate(expectedCount: number): Promise<Rec> {
    expect(String(daemon.cli('toggle').stdout)).toBe('prism-dictate: recording\n');
    await desktop.play(speech); // the VAD cuts the phrase at the pause after the sentence
    expect(String(daemon.cli('toggle').stdout)).toBe('prism-dictate: transcribing\n'); // and the next toggle ends it
    await until('#dictation-count', String(expectedCount), 60_000);
    return history()[0] as Rec;
  }

  it('`prism-dictate dashboard --json` prints the URL with its token; no daemon → exit 7', async () => {
    const r = daemon.cli('dashboard', '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(String(r.stdout)) as { url: string; metrics: string };
    expect(out.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
    expect(out.metrics).toBe(out.url.replace('/?token=', '/metrics?token='));
    url = out.url;
    expect(JSON.parse(String(daemon.cli('status', '--json').stdout)).dashboard).toEqual({ url });
    expect(daemon.log.join('\n')).not.toContain(new URL(url).searchParams.get('token'));
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
    expect(await page.locator('#dictations li').count()).toBe(0);
    // the setup at the top: model, backend, microphone, hotkey (off here: socket triggers), output
    expect(await text('#about')).toMatch(/^model \S+\.bin · cpu · microphone \S.* · hotkey off: prism-dictate toggle\|begin\|end · output clipboard$/);
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
    await expect.poll(() => page.locator('#dictations li').count()).toBe(1);
    expect(await page.locator('#dictations li .text').textContent()).toBe(first.text); // exactly the daemon's text
    expect(await page.locator('#dictations li').getAttribute('data-id')).toBe(first.id);
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
    await page.locator('#dictations li .copy').first().click();
    await expect.poll(() => page.locator('#dictations li .copy').first().textContent()).toBe('copied');
    expect(await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText())).toBe(first.text);

    const second = await dictate(2);
    expect(second.id).not.toBe(first.id);
    await expect.poll(() => page.locator('#dictations li').count()).toBe(2);
    expect(await page.locator('#dictations li').first().getAttribute('data-id')).toBe(second.id); // newest first
    expect((await row('transcription'))[1]).toBe(ms(second.timings?.transcription as number));
    expect((await row('total'))[4]).toBe('2');
    expect(await stagesCanvas()).not.toBe(oneBar);
    expect(await page.locator('#chart-latency canvas').count()).toBeGreaterThan(0);
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

    // resource samples arrive every ~2 s; this machine's GPU line
    await until('#cpu-now', /^daemon \d+\.\d %, engine \d+\.\d %$/);
    expect(await text('#mem-now')).toMatch(/^daemon \d+\.\d MiB, engine \d+\.\d MiB$/);
    const hasNvidia = spawnSync('nvidia-smi', ['-L']).status === 0;
    if (hasNvidia) expect(await text('#gpu-now')).toMatch(/^GPU 0: \d+ %, \d+ \/ \d+ MiB/);
    else expect(await text('#gpu-now')).toBe('no GPU');
    expect(await text('#errors')).toBe('0');
    expect(await text('#fallbacks')).toBe('0');
    expect(await text('#restarts')).toBe('0');
    mkdirSync(join(root, 'test', 'artifacts'), { recursive: true });
    await page.screenshot({ path: join(root, 'test', 'artifacts', 'dashboard.png'), fullPage: true });
  });

  it('"hide text" hides dictated text, and is remembered across reloads', async () => {
    const words = SCRIPT_25.split(' ').slice(0, 4).join(' ');
    expect(await text('#dictations')).toContain(words);
    await page.locator('#hide-text').check();
    expect(await page.locator('#dictations li .text').allTextContents()).toEqual(['(hidden)', '(hidden)']);
    expect(await text('body')).not.toContain(words);
    await page.reload();
    await until('#conn', 'live');
    expect(await page.locator('#hide-text').isChecked()).toBe(true);
    await expect.poll(() => page.locator('#dictations li .text').allTextContents()).toEqual(['(hidden)', '(hidden)']);
    await page.locator('#hide-text').uncheck();
    expect(await page.locator('#dictations li .text').allTextContents()).toEqual([`${SCRIPT_25} `, `${SCRIPT_25} `]);
  });

  it('the re-paste button delivers the last text again, and says how (copied: this daemon only copies)', async () => {
    await desktop.setClipboard('something the user copied');
    await page.locator('#repaste').click();
    await until('#repaste-result', 'copied to the clipboard — press Ctrl+V to paste');
    expect((await desktop.getClipboard()).trim()).toBe(SCRIPT_25);
  });
});
