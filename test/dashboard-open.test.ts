/**
 * `prism-dictate dashboard --open` and the dashboard's files: the opener's command line (which every
 * local user can read in /proc/PID/cmdline) carries only the path of a 0600 page that redirects to
 * the URL, never the token; that page, dashboard.json and dashboard-token are written without
 * following a symlink planted in their place.
 */
import { lstat, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDashboard } from '../lib/cli/dashboard.js';
import { servicePaths } from '../lib/service/home.js';
import { ServiceServer } from '../lib/service/server.js';
import { keepToken, openFile, redirectPage, removeDashboardFile, writeDashboardFile } from '../lib/web/dashboard/file.js';
import { runCli } from './helpers.js';

const TOKEN = 'secret+&#%token-0123456789';
const URL_ = `http://127.0.0.1:8179/?token=${encodeURIComponent(TOKEN)}`;

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'prism-dash-open-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

/** An opener that records its argv (and, on Linux, its /proc/self/cmdline) and exits with `code`. */
async function recordingOpener(code: number): Promise<{ opener: (target: string) => [string, string[]]; seen: () => Promise<{ argv: string[]; cmdline?: string }> }> {
  const script = join(home, 'opener.mjs');
  const out = join(home, 'opened.json');
  await writeFile(
    script,
    `import { existsSync, readFileSync, writeFileSync } from 'node:fs';
const cmdline = existsSync('/proc/self/cmdline') ? readFileSync('/proc/self/cmdline', 'utf8') : undefined;
writeFileSync(${JSON.stringify(out)}, JSON.stringify({ argv: process.argv, cmdline }));
process.exit(${code});
`,
  );
  return {
    opener: (target) => [process.execPath, [script, target]],
    seen: async () => JSON.parse(await readFile(out, 'utf8')),
  };
}

describe('dashboard --open', () => {
  it('hands the opener the path of a 0600 page that redirects to the URL: the token is not on its command line', async () => {
    const { opener, seen } = await recordingOpener(0);
    expect(await openDashboard(URL_, home, opener)).toBeUndefined();
    const { argv, cmdline } = await seen();
    const page = openFile(home);
    expect(argv.at(-1)).toBe(page);
    for (const shown of [argv.join(' '), cmdline ?? '']) {
      expect(shown).not.toContain(TOKEN);
      expect(shown).not.toContain(encodeURIComponent(TOKEN));
      expect(shown).not.toContain('token=');
    }
    const st = await lstat(page);
    expect(st.isFile()).toBe(true);
    if (process.platform !== 'win32') expect(st.mode & 0o777).toBe(0o600);
    const html = await readFile(page, 'utf8');
    expect(html).toBe(redirectPage(URL_));
    // the URL, HTML-escaped, in the refresh and the link; the token within percent-encoded
    const escaped = URL_.replace(/&/g, '&#38;');
    expect(html).toContain(`<meta http-equiv="refresh" content="0;url=${escaped}">`);
    expect(html).toContain(`<a href="${escaped}">`);
    expect(html).toContain('<meta name="referrer" content="no-referrer">');
    // removed with dashboard.json when the daemon stops
    await removeDashboardFile(home);
    await expect(lstat(page)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says so when no browser opens (the opener fails)', async () => {
    const { opener } = await recordingOpener(3);
    expect(await openDashboard(URL_, home, opener)).toBe(`could not open a browser with ${process.execPath} (it exited with code 3); open the URL above yourself`);
  });

  it.skipIf(process.platform === 'win32')('never writes through a symlink planted in place of its files', async () => {
    const victim = join(home, 'victim');
    await writeFile(victim, 'the victim file\n', { mode: 0o644 });
    for (const name of ['dashboard-open.html', 'dashboard.json', 'dashboard-token']) await symlink(victim, join(home, name));
    const { opener } = await recordingOpener(0);
    expect(await openDashboard(URL_, home, opener)).toBeUndefined();
    await writeDashboardFile(home, { url: URL_, port: 8179, pid: process.pid });
    await keepToken(home, TOKEN);
    expect(await readFile(victim, 'utf8')).toBe('the victim file\n');
    expect((await lstat(victim)).mode & 0o777).toBe(0o644);
    for (const name of ['dashboard-open.html', 'dashboard.json', 'dashboard-token']) {
      const st = await lstat(join(home, name));
      expect(st.isFile(), name).toBe(true);
      expect(st.mode & 0o777, name).toBe(0o600);
    }
    expect((await readFile(join(home, 'dashboard-token'), 'utf8')).trim()).toBe(TOKEN);
  });
});

describe('prism-dictate dashboard (the CLI, from dist/)', () => {
  it.skipIf(process.platform === 'win32')('does not send the token of a dashboard.json left by an earlier daemon to whoever holds its port now', async () => {
    // the running daemon has no dashboard; dashboard.json is an earlier daemon's, whose port another user's program holds now
    const engine = { info: { backend: 'cpu', path: 'stub.bin', states: 1 }, busy: 0, queued: 0, transcribe: () => Promise.reject(new Error('unused')) };
    const service = await ServiceServer.listen({ socketPath: servicePaths(home).socket, model: engine });
    const seen: string[] = [];
    const squatter = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? ''}`);
      res.end('ok');
    });
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    const port = (squatter.address() as AddressInfo).port;
    await writeFile(join(home, 'dashboard.json'), JSON.stringify({ url: `http://127.0.0.1:${port}/?token=${TOKEN}`, port, pid: 999_999 }));
    try {
      const r = await runCli(['dashboard'], { PRISM_DICTATE_HOME: home });
      expect(r.stderr).toMatch(/has no dashboard/);
      expect(r.code).toBe(7);
      expect(r.stdout).toBe('');
      expect(seen).toEqual([]);
    } finally {
      await service.close();
      await new Promise((r) => squatter.close(r));
    }
  });
});
