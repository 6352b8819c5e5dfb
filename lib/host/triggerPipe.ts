/**
 * The trigger pipe: a named pipe (FIFO, mode 0600) in the daemon's home that a compositor binding
 * writes one word to — `echo press 1<>PIPE` — instead of starting a `prism-dictate press` process.
 * A Node client costs ~140 ms to start on a 2-core machine, a shell's echo about 1 ms: that is the
 * difference between the key's release and the text. Opening read-write (`1<>`) never blocks, so a
 * binding pressed while no daemon runs writes into a pipe nobody reads and exits at once (the words are
 * dropped with the pipe), never a hung shell.
 *
 * The daemon holds the pipe open read-write and non-blocking, read through libuv's pipe handle (no
 * thread-pool read parked on it). Words are the socket actions that make sense from a key: press,
 * release, begin, end, toggle, cancel; a line is at most 32 bytes, anything else is dropped with a log
 * line. Only the user can write it (0600 in the user's home), and the daemon checks that the file is
 * its own FIFO before it trusts it.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants, fstatSync, lstatSync, openSync, unlinkSync } from 'node:fs';
import { Socket } from 'node:net';

/** the pipe's name in the daemon's home */
export const TRIGGER_PIPE = 'trigger';

export const PIPE_ACTIONS = ['press', 'release', 'begin', 'end', 'toggle', 'cancel'] as const;
export type PipeAction = (typeof PIPE_ACTIONS)[number];

const MAX_LINE = 32;

export class TriggerPipe {
  private buffered = '';
  private dropping = false;

  private constructor(
    readonly path: string,
    private readonly socket: Socket,
    private readonly onAction: (action: PipeAction) => void,
    private readonly log: (line: string) => void,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.take(chunk));
    socket.on('error', (e) => log(`trigger pipe: ${e.message}`));
    socket.unref(); // the daemon's life is not this pipe's business
  }

  /** Creates (or takes back) the FIFO at `path` and starts reading it; rejects on a file that is not ours. */
  static open(path: string, onAction: (action: PipeAction) => void, log: (line: string) => void): TriggerPipe {
    const existing = lstatOrUndefined(path);
    if (existing && (!existing.isFIFO() || existing.uid !== process.getuid?.() || (existing.mode & 0o077) !== 0)) {
      if (existing.uid !== process.getuid?.()) throw new Error(`${path} belongs to uid ${existing.uid}, not to you: not used`);
      unlinkSync(path); // ours but not a private FIFO (a stale file, a changed mode): made again
    }
    if (!lstatOrUndefined(path)) {
      const r = spawnSync('mkfifo', ['-m', '600', path], { encoding: 'utf8', timeout: 5000 });
      if (r.status !== 0) throw new Error(`mkfifo ${path}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
    }
    const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    try {
      const st = fstatSync(fd);
      if (!st.isFIFO() || (st.mode & 0o077) !== 0) throw new Error(`${path} is not a private named pipe`);
      return new TriggerPipe(path, new Socket({ fd, readable: true, writable: false }), onAction, log);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  private take(chunk: string): void {
    this.buffered += chunk;
    let nl = this.buffered.indexOf('\n');
    while (nl >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (this.dropping)
        this.dropping = false; // the rest of an overlong line
      else this.word(line);
      nl = this.buffered.indexOf('\n');
    }
    if (this.buffered.length > MAX_LINE) {
      this.log(`trigger pipe: a line longer than ${MAX_LINE} bytes dropped`);
      this.buffered = '';
      this.dropping = true;
    }
  }

  private word(line: string): void {
    if (!line) return;
    if ((PIPE_ACTIONS as readonly string[]).includes(line)) this.onAction(line as PipeAction);
    else this.log(`trigger pipe: "${line.slice(0, MAX_LINE).replace(/[^\x20-\x7e]/g, '?')}" is not one of ${PIPE_ACTIONS.join(', ')}`);
  }

  /** Stops reading and removes the pipe (a binding then writes into nothing, as when no daemon runs). */
  close(): void {
    this.socket.destroy();
    try {
      unlinkSync(this.path);
    } catch {}
  }
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
