/**
 * The socket commands (toggle, begin, end, cancel, repaste, retry) without loading the rest of the CLI:
 * a desktop binding with key auto-repeat may start dozens of `prism-dictate begin` a second, and each
 * should cost a connection and a reply, not the whole program's start-up. bin/prism-dictate.js takes
 * this path for `prism-dictate <action> [--json]` and nothing else; `dictate.ts` uses the same run().
 */
import { WhisperError } from '../errors.js';
import { HOST_ACTIONS, type HostAction } from '../host/actions.js';
import { ServiceClient } from '../service/client.js';
import { isUnsafeSocket, notRunning, servicePaths } from '../service/home.js';
import { report } from './exit.js';

async function daemon(): Promise<ServiceClient> {
  try {
    return await ServiceClient.connect(servicePaths().socket, 1000);
  } catch (e) {
    if (isUnsafeSocket(e)) throw e;
    throw new WhisperError('SERVICE_UNAVAILABLE', notRunning(servicePaths().home));
  }
}

/** Sends one action to the running daemon and prints its reply (an error: printed, with its exit code). */
export async function runAction(action: HostAction, o: { json?: boolean; id?: string } = {}): Promise<void> {
  try {
    const client = await daemon();
    try {
      const reply = await client.control(o.id ? { action, id: o.id } : { action });
      process.stdout.write(o.json ? `${JSON.stringify(reply)}\n` : `prism-dictate: ${reply.result}\n`);
    } finally {
      client.close();
    }
  } catch (e) {
    if ((e as WhisperError).code === 'BAD_ARGUMENT') report(new WhisperError('SERVICE_UNAVAILABLE', 'the running prism-dictate was started with --no-host: it does not dictate'));
    else report(e);
  }
}

/** `<action>` or `<action> --json` exactly (anything else, --help included, goes through the full CLI). */
export function quickAction(args: readonly string[]): { action: HostAction; json: boolean } | undefined {
  const [action, ...rest] = args;
  if (!HOST_ACTIONS.includes(action as HostAction)) return undefined;
  if (rest.length === 0) return { action: action as HostAction, json: false };
  if (rest.length === 1 && rest[0] === '--json') return { action: action as HostAction, json: true };
  return undefined;
}
