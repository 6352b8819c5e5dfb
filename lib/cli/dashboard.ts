/**
 * `prism-dictate dashboard`: the running daemon's dashboard URL (token included), from its status
 * (or from dashboard.json in its home); --open hands it to the desktop's browser through a 0600
 * page in the home that redirects to it, so that the token is not on the opener's command line,
 * which every local user can read (/proc/PID/cmdline).
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { WhisperError } from '../errors.js';
import { ServiceClient } from '../service/client.js';
import { isUnsafeSocket, notRunning, servicePaths } from '../service/home.js';
import { readDashboardFile, writeOpenFile } from '../web/dashboard/file.js';
import { report } from './exit.js';

/** The command that opens a file or URL in the desktop's browser: [command, args]. */
export type Opener = (target: string) => [string, string[]];

/** The platform's "open this" command. */
export const platformOpener: Opener = (target) => {
  if (process.platform === 'darwin') return ['open', [target]];
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '""', target]];
  return ['xdg-open', [target]];
};

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  }
}

async function dashboardUrl(): Promise<{ url: string; notice?: string }> {
  const paths = servicePaths();
  const client = await ServiceClient.connect(paths.socket, 1000).catch((e: unknown) => {
    if (isUnsafeSocket(e)) throw e;
    throw new WhisperError('SERVICE_UNAVAILABLE', notRunning(paths.home));
  });
  let status: Record<string, unknown>;
  try {
    status = await client.status();
  } finally {
    client.close();
  }
  const own = status.dashboard as { url?: string; notice?: string } | undefined;
  // dashboard.json may be left by an earlier daemon whose port someone else holds now: only the
  // running daemon's own file is read, and its URL printed only when something answers on it
  const file = own?.url ? undefined : await readDashboardFile(paths.home);
  const url = own?.url ?? (file && file.pid === status.pid ? file.url : undefined);
  if (!url || !(await answers(url)))
    throw new WhisperError('SERVICE_UNAVAILABLE', 'the running prism-dictate has no dashboard (dashboard.enabled is false, or its port was taken: see its log)');
  return { url, notice: own?.notice };
}

/**
 * Opens `url` in the browser: writes dashboard-open.html (0600) in `home`, which redirects to it,
 * and hands the opener only that file's path. Resolves to why no browser opened, or undefined.
 */
export async function openDashboard(url: string, home: string, opener: Opener = platformOpener): Promise<string | undefined> {
  const page = await writeOpenFile(home, url);
  const [command, args] = opener(page);
  const child = spawn(command, args, { detached: true, stdio: 'ignore' });
  // xdg-open and friends return once the browser is handed the page, non-zero when there is none:
  // wait a little for that answer, then leave a browser that keeps the opener running alone
  const outcome = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), 5000);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve(e.message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `it exited with ${signal ?? `code ${code}`}`);
    });
  });
  child.unref();
  return outcome && `could not open a browser with ${command} (${outcome}); open the URL above yourself`;
}

export function dashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description("the running daemon's live dashboard and /metrics: prints its URL (with its token)")
    .option('--open', 'open it in the browser')
    .option('--json', 'print { url, metrics } as JSON')
    .action(async (o: { open?: boolean; json?: boolean }) => {
      try {
        const { url, notice } = await dashboardUrl();
        const metrics = url.replace('/?token=', '/metrics?token=');
        if (notice) process.stderr.write(`prism-dictate: ${notice}\n`);
        process.stdout.write(o.json ? `${JSON.stringify(notice ? { url, metrics, notice } : { url, metrics })}\n` : `${url}\n`);
        if (o.open) {
          const failed = await openDashboard(url, servicePaths().home);
          if (failed) throw new Error(failed);
        }
      } catch (e) {
        report(e);
      }
    });
}
