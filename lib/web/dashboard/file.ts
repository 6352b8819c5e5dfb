/**
 * The dashboard's files in the daemon's home, each readable by the owner only (0600), like the
 * token they hold: dashboard.json (where `prism-dictate dashboard` finds the URL; removed when the
 * daemon stops), dashboard-token (the kept token) and dashboard-open.html (the page `dashboard
 * --open` hands the browser, which redirects to the URL, so that the token never appears on a
 * command line that every local user can read in /proc).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface DashboardFile {
  url: string;
  port: number;
  pid: number;
}

export function dashboardFile(home: string): string {
  return join(home, 'dashboard.json');
}

export function openFile(home: string): string {
  return join(home, 'dashboard-open.html');
}

/**
 * Writes `name` in `dir` as a new 0600 file: made under a random name with O_EXCL|O_NOFOLLOW (no
 * symlink or file planted there is followed or reused, whatever its mode), then renamed over the
 * old one (a symlink there is replaced, not written through).
 */
async function writePrivate(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  const temp = join(dir, `.${name}.${randomBytes(6).toString('hex')}`);
  const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o600);
  try {
    await fh.chmod(0o600); // whatever the umask
    await fh.writeFile(text);
  } finally {
    await fh.close();
  }
  await rename(temp, path).catch(async (e: Error) => {
    await rm(temp, { force: true });
    throw e;
  });
  return path;
}

export async function writeDashboardFile(home: string, info: DashboardFile): Promise<void> {
  await writePrivate(home, 'dashboard.json', `${JSON.stringify(info, null, 2)}\n`);
}

export async function readDashboardFile(home: string): Promise<DashboardFile | undefined> {
  try {
    return JSON.parse(await readFile(dashboardFile(home), 'utf8')) as DashboardFile;
  } catch {
    return undefined;
  }
}

export async function removeDashboardFile(home: string): Promise<void> {
  await rm(dashboardFile(home), { force: true });
  await rm(openFile(home), { force: true });
}

/**
 * The dashboard's token, kept in the home (dashboard-token, 0600) so that the URL — a bookmark, a
 * Prometheus scrape — stays the same from one start to the next; made once, at the first start.
 */
export async function keptToken(home: string, make: () => string): Promise<string> {
  const kept = (await readFile(join(home, 'dashboard-token'), 'utf8').catch(() => '')).trim();
  if (kept.length >= 16) return kept;
  const token = make();
  await keepToken(home, token);
  return token;
}

/** Replaces the kept token (the old one may have been handed to someone else). */
export async function keepToken(home: string, token: string): Promise<void> {
  await writePrivate(home, 'dashboard-token', `${token}\n`);
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page `dashboard --open` hands the browser: it goes on to `url` at once (a link too, should it not). */
export function redirectPage(url: string): string {
  const href = escapeHtml(url);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url=${href}">
<title>prism-dictate</title>
</head>
<body>
<p>Opening the <a href="${href}">prism-dictate dashboard</a>…</p>
</body>
</html>
`;
}

/** Writes dashboard-open.html (0600) in the home and returns its path. */
export async function writeOpenFile(home: string, url: string): Promise<string> {
  return writePrivate(home, 'dashboard-open.html', redirectPage(url));
}
