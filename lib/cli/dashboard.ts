/**
 * `prism-dictate dashboard`: the running daemon's dashboard URL (token included), from its status
 * (or from dashboard.json in its home); --open hands it to the desktop's browser.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { WhisperError } from '../errors.js';
import { ServiceClient } from '../service/client.js';
import { servicePaths } from '../service/home.js';
import { readDashboardFile } from '../web/dashboard/file.js';
import { report } from './exit.js';

/** The platform's "open this URL" command. */
function opener(url: string): [string, string[]] {
  if (process.platform === 'darwin') return ['open', [url]];
  if (process.platform === 'win32') return ['cmd', ['/c', 'start', '""', url]];
  return ['xdg-open', [url]];
}

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.body?.cancel();
    return r.ok;
  } catch {
    return false;
  }
}

async function dashboardUrl(): Promise<string> {
  const paths = servicePaths();
  const client = await ServiceClient.connect(paths.socket, 1000).catch(() => {
    throw new WhisperError('SERVICE_UNAVAILABLE', `prism-dictate is not running for ${paths.home} (start it: prism-dictate start)`);
  });
  let status: Record<string, unknown>;
  try {
    status = await client.status();
  } finally {
    client.close();
  }
  const url = (status.dashboard as { url?: string } | undefined)?.url ?? (await readDashboardFile(paths.home))?.url;
  // dashboard.json may be left by an earlier daemon: a URL is printed only when something answers on it
  if (!url || !(await answers(url)))
    throw new WhisperError('SERVICE_UNAVAILABLE', 'the running prism-dictate has no dashboard (dashboard.enabled is false, or its port was taken: see its log)');
  return url;
}

export function dashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description("the running daemon's live dashboard and /metrics: prints its URL (with its token)")
    .option('--open', 'open it in the browser')
    .option('--json', 'print { url, metrics } as JSON')
    .action(async (o: { open?: boolean; json?: boolean }) => {
      try {
        const url = await dashboardUrl();
        const metrics = url.replace('/?token=', '/metrics?token=');
        process.stdout.write(o.json ? `${JSON.stringify({ url, metrics })}\n` : `${url}\n`);
        if (o.open) {
          const [command, args] = opener(url);
          const child = spawn(command, args, { detached: true, stdio: 'ignore' });
          // xdg-open and friends return once the browser is handed the URL, non-zero when there is none:
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
          if (outcome) throw new Error(`could not open a browser with ${command} (${outcome}); open the URL above yourself`);
        }
      } catch (e) {
        report(e);
      }
    });
}
