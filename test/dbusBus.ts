/**
 * A private D-Bus session bus for tests (dbus-daemon with its own config: a unix socket in a temp
 * folder, no service activation, nothing from the machine's own session), and fake services exported
 * on it through the same library the code uses.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionBus } from '../lib/host/desktop/dbus.js';

export function dbusDaemonInstalled(): boolean {
  try {
    execFileSync('dbus-daemon', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface PrivateBus {
  address: string;
  stop(): Promise<void>;
}

/** Starts dbus-daemon and resolves with its address once it listens (it prints the address when ready). */
export async function startPrivateBus(o: { abstract?: boolean } = {}): Promise<PrivateBus> {
  const dir = mkdtempSync(join(tmpdir(), 'prism-dbus-'));
  const listen = o.abstract ? `unix:abstract=${dir}/bus` : `unix:path=${join(dir, 'bus')}`;
  const config = join(dir, 'bus.conf');
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>${listen}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const child: ChildProcess = spawn('dbus-daemon', [`--config-file=${config}`, '--print-address', '--nofork'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr?.on('data', (d: Buffer) => {
    errors = (errors + d.toString()).slice(-2000); // "Failed to set fd limit" as non-root: noise, kept for a failure
  });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(line.trim());
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dbus-daemon exited (${code}) before listening: ${errors}`)));
  });
  return {
    address,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill();
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A connection that owns `name` on the bus (for a fake service). */
export async function serviceOn(address: string, name: string): Promise<SessionBus> {
  const bus = await SessionBus.connect({ address });
  const code = await new Promise<number | undefined>((resolve, reject) => bus.raw.requestName(name, 4 /* DO_NOT_QUEUE */, (err, c) => (err ? reject(err) : resolve(c))));
  if (code !== 1) throw new Error(`could not own ${name} (RequestName answered ${code})`);
  return bus;
}

/** Resolves when `predicate` holds for the recorded list (checked after each push). */
export class Recorder<T> {
  readonly items: T[] = [];
  private waiters: Array<{ until: (items: T[]) => boolean; resolve: () => void }> = [];
  push(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => {
      if (!w.until(this.items)) return true;
      w.resolve();
      return false;
    });
  }
  when(until: (items: T[]) => boolean): Promise<void> {
    if (until(this.items)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ until, resolve }));
  }
}
