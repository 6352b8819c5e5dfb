/** Exit codes scripts can rely on. */
import { ERROR_TABLE, WhisperError } from '../errors.js';

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  badInput: 4,
  download: 5,
  gpu: 6,
  notRunning: 7,
  /** a microphone, hotkey or paste path is missing */
  device: 8,
} as const;

export function exitCodeFor(e: unknown): number {
  return e instanceof WhisperError ? (ERROR_TABLE[e.code]?.exit ?? EXIT.failure) : EXIT.failure;
}

/** Prints an error the way a person wants to read it and sets the exit code. */
export function report(e: unknown): void {
  const code = e instanceof WhisperError ? ` [${e.code}]` : '';
  process.stderr.write(`prism-dictate: ${(e as Error)?.message ?? String(e)}${code}\n`);
  process.exitCode = exitCodeFor(e);
}
