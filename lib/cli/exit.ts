/** Exit codes scripts can rely on. */
import { WhisperError, type WhisperErrorCode } from '../errors.js';

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

const BY_CODE: Partial<Record<WhisperErrorCode, number>> = {
  MODEL_NOT_FOUND: EXIT.notFound,
  MODEL_INVALID: EXIT.badInput,
  BAD_AUDIO: EXIT.badInput,
  BAD_ARGUMENT: EXIT.usage,
  DOWNLOAD_FAILED: EXIT.download,
  CHECKSUM_MISMATCH: EXIT.download,
  GPU_UNAVAILABLE: EXIT.gpu,
  SERVICE_UNAVAILABLE: EXIT.notRunning,
  CONFIG_INVALID: EXIT.usage,
  MIC_UNAVAILABLE: EXIT.device,
  MIC_LOST: EXIT.device,
  HOTKEY_UNAVAILABLE: EXIT.device,
  PASTE_FAILED: EXIT.device,
};

export function exitCodeFor(e: unknown): number {
  return e instanceof WhisperError ? (BY_CODE[e.code] ?? EXIT.failure) : EXIT.failure;
}

/** Prints an error the way a person wants to read it and sets the exit code. */
export function report(e: unknown): void {
  const code = e instanceof WhisperError ? ` [${e.code}]` : '';
  process.stderr.write(`prism-dictate: ${(e as Error)?.message ?? String(e)}${code}\n`);
  process.exitCode = exitCodeFor(e);
}
