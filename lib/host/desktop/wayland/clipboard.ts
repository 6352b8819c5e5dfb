/**
 * The Wayland clipboard through wl-clipboard (wl-copy, wl-paste): what native Wayland windows paste
 * from, whether or not XWayland runs (the X CLIPBOARD reaches X clients only).
 *
 * The owner we read from is another program, maybe a hostile one: a read is bounded in time and takes
 * at most 1 MiB (a bigger clipboard is killed off mid-transfer, never buffered whole). A read that
 * cannot give the clipboard back as text REJECTS (PASTE_FAILED, reason below) rather than return
 * something that is not what the user had: Output treats a rejected read as "nothing to restore", so
 * the paste goes on and the clipboard keeps our text. Reasons:
 * - 'clipboard-not-text': an image or a file, or bytes that are not UTF-8;
 * - 'clipboard-too-big': more than the cap;
 * - 'timeout': the owner did not answer in time.
 * An empty clipboard ("No selection") reads as ''.
 *
 * wl-copy forks a server that keeps the selection after it exits; a write resolves when wl-copy itself
 * exits (the server is the clipboard's owner until something else is copied).
 */
import { WhisperError } from '../../../errors.js';
import type { Clipboard } from '../../output.js';
import { runProblem, runTool, type ToolRun } from './wtype.js';

export const TEXT_TYPE = 'text/plain;charset=utf-8';
/** the most a read takes in (a restored clipboard is text someone copied; 1 MiB is a long document) */
export const READ_MAX_BYTES = 1024 * 1024;
/** the most a whole read may take (both attempts) */
const READ_DEADLINE_MS = 2000;
const WRITE_TIMEOUT_MS = 3000;

export interface WaylandClipboardOptions {
  env?: NodeJS.ProcessEnv;
  /** default 1 MiB */
  maxBytes?: number;
  /** default 2000 ms */
  readDeadlineMs?: number;
  /** default 3000 ms */
  writeTimeoutMs?: number;
}

const notRestorable = (message: string, reason: string) => new WhisperError('PASTE_FAILED', message, { reason });

export class WaylandClipboard implements Clipboard {
  readonly name = 'wl-copy/wl-paste (Wayland clipboard)';

  constructor(private readonly o: WaylandClipboardOptions = {}) {}

  private get env(): NodeJS.ProcessEnv {
    return this.o.env ?? process.env;
  }

  async read(): Promise<string> {
    const maxBytes = this.o.maxBytes ?? READ_MAX_BYTES;
    const deadline = Date.now() + (this.o.readDeadlineMs ?? READ_DEADLINE_MS);
    // the exact type first; then whatever text the owner offers (text/plain, UTF8_STRING, STRING …)
    for (const type of [TEXT_TYPE, 'text']) {
      const r = await this.paste(type, maxBytes, Math.max(1, deadline - Date.now()));
      if (r.timedOut) throw notRestorable('the clipboard owner did not answer in time: not kept for restoring', 'timeout');
      if (r.overflow) throw notRestorable(`the clipboard holds more than ${maxBytes} bytes: not kept for restoring`, 'clipboard-too-big');
      if (r.code === 0) {
        try {
          return new TextDecoder('utf-8', { fatal: true }).decode(r.stdout);
        } catch {
          throw notRestorable('the clipboard holds bytes that are not UTF-8 text: not kept for restoring', 'clipboard-not-text');
        }
      }
      if (/no selection|nothing is copied/i.test(r.stderr)) return '';
      if (!/no suitable type/i.test(r.stderr)) throw new WhisperError('PASTE_FAILED', `wl-paste could not read the clipboard: ${runProblem('wl-paste', r)}`);
    }
    throw notRestorable('the clipboard holds no text (an image or a file?): it cannot be restored after the paste', 'clipboard-not-text');
  }

  async write(text: string): Promise<void> {
    const timeoutMs = this.o.writeTimeoutMs ?? WRITE_TIMEOUT_MS;
    let r: ToolRun;
    try {
      r = await runTool('wl-copy', ['--type', TEXT_TYPE], { timeoutMs, env: this.env, input: text, forks: true });
    } catch (e) {
      throw missingOr('wl-copy', e);
    }
    if (r.code !== 0 || r.timedOut) throw new WhisperError('PASTE_FAILED', `wl-copy could not set the clipboard: ${runProblem('wl-copy', r)}`);
  }

  private async paste(type: string, maxBytes: number, timeoutMs: number): Promise<ToolRun> {
    try {
      return await runTool('wl-paste', ['--no-newline', '--type', type], { timeoutMs, env: this.env, maxStdout: maxBytes });
    } catch (e) {
      throw missingOr('wl-paste', e);
    }
  }
}

function missingOr(tool: string, e: unknown): WhisperError {
  const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
  return new WhisperError('PASTE_FAILED', missing ? `${tool} is not installed (sudo apt install wl-clipboard)` : `${tool} could not be started: ${(e as Error).message}`, {
    cause: e,
  });
}
