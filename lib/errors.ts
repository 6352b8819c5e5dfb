/**
 * Typed errors with stable string codes. The native addon throws plain Errors whose `code`
 * property carries one of these codes; `fromNative` turns them into WhisperError.
 */
export const ERROR_CODES = [
  'MODEL_NOT_FOUND',
  'MODEL_INVALID',
  'MODEL_LOAD_FAILED',
  'BAD_AUDIO',
  'BAD_ARGUMENT',
  'CLOSED',
  'GPU_UNAVAILABLE',
  'TRANSCRIBE_FAILED',
  'NATIVE_MISSING',
  'DOWNLOAD_FAILED',
  'CHECKSUM_MISMATCH',
  'PROTOCOL',
  'QUEUE_FULL',
  'SERVICE_UNAVAILABLE',
  'CONFIG_INVALID',
  'MIC_UNAVAILABLE',
  'MIC_LOST',
  'HOTKEY_UNAVAILABLE',
  'PASTE_FAILED',
  'HISTORY_FAILED',
  'NO_SPEECH',
] as const;
export type WhisperErrorCode = (typeof ERROR_CODES)[number];

export class WhisperError extends Error {
  override readonly name = 'WhisperError';
  readonly code: WhisperErrorCode;

  constructor(code: WhisperErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  static is(e: unknown, code?: WhisperErrorCode): e is WhisperError {
    return e instanceof WhisperError && (code === undefined || e.code === code);
  }
}

/** The rejection of an aborted call: a DOMException-like AbortError, as fetch() and timers use. */
export class AbortError extends Error {
  override readonly name = 'AbortError';
  readonly code = 'ABORT_ERR';

  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Map an error thrown by the addon to a WhisperError (or AbortError). */
export function fromNative(e: unknown): Error {
  if (!(e instanceof Error)) return new WhisperError('TRANSCRIBE_FAILED', String(e));
  const code = (e as Error & { code?: string }).code;
  if (code === 'ABORTED') return new AbortError();
  if (code && (ERROR_CODES as readonly string[]).includes(code)) return new WhisperError(code as WhisperErrorCode, e.message);
  return new WhisperError('TRANSCRIBE_FAILED', e.message, { cause: e });
}
