/**
 * dashboard.json in the daemon's home: where `prism-dictate dashboard` finds the URL (with its
 * token). Readable by the owner only (0600), like the token it holds; removed when the daemon stops.
 */
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DashboardFile {
  url: string;
  port: number;
  pid: number;
}

export function dashboardFile(home: string): string {
  return join(home, 'dashboard.json');
}

export async function writeDashboardFile(home: string, info: DashboardFile): Promise<void> {
  const path = dashboardFile(home);
  // a file left by a daemon that was killed keeps its old mode under writeFile's `mode`: set it again
  await writeFile(path, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
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
}

/**
 * The dashboard's token, kept in the home (dashboard-token, 0600) so that the URL — a bookmark, a
 * Prometheus scrape — stays the same from one start to the next; made once, at the first start.
 */
export async function keptToken(home: string, make: () => string): Promise<string> {
  const path = join(home, 'dashboard-token');
  const kept = (await readFile(path, 'utf8').catch(() => '')).trim();
  if (kept.length >= 16) return kept;
  const token = make();
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return token;
}
