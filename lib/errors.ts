/**
 * Typed errors with stable string codes. The native addon throws plain Errors whose `code`
 * property carries one of these codes; `fromNative` turns them into WhisperError.
 */
/**
 * Every code that crosses a boundary — the native addon, the service's wire protocol, the HTTP API,
 * the CLI's exit status — in one table: its exit code and what it means. The README's table is
 * checked against this one (test/errors.test.ts).
 */
export const ERROR_TABLE = {
  MODEL_NOT_FOUND: { exit: 3, meaning: 'no model file at that path, or a known model that is not pulled yet' },
  MODEL_INVALID: { exit: 4, meaning: 'the file is not a usable ggml Whisper model (truncated, another format)' },
  MODEL_LOAD_FAILED: { exit: 1, meaning: 'the model could not be loaded (memory, the backend)' },
  BAD_AUDIO: { exit: 4, meaning: 'the audio cannot be used: unreadable, empty, too short or too long, not audio' },
  BAD_ARGUMENT: { exit: 2, meaning: 'an option or argument is out of range' },
  CLOSED: { exit: 1, meaning: 'the model was closed' },
  GPU_UNAVAILABLE: { exit: 6, meaning: 'a GPU was asked for and none works' },
  TRANSCRIBE_FAILED: { exit: 1, meaning: 'whisper.cpp failed on this audio' },
  ABORTED: { exit: 1, meaning: 'the call was aborted (in JavaScript an AbortError, code ABORT_ERR, as fetch rejects)' },
  NATIVE_MISSING: { exit: 1, meaning: 'the native addon does not load (rebuild it)' },
  DEPENDENCY_MISSING: { exit: 1, meaning: 'a package or tool a feature needs is missing' },
  DOWNLOAD_FAILED: { exit: 5, meaning: 'a download failed; the message names the cause' },
  CHECKSUM_MISMATCH: { exit: 5, meaning: 'a downloaded file is not the one published' },
  PROTOCOL: { exit: 1, meaning: 'the service answered something this version does not understand' },
  QUEUE_FULL: { exit: 1, meaning: 'the service has too many batch requests waiting' },
  SERVICE_UNAVAILABLE: { exit: 7, meaning: 'no service is running, or it cannot answer' },
  CONFIG_INVALID: { exit: 2, meaning: 'the config file is not valid; each bad setting is named' },
  MIC_UNAVAILABLE: { exit: 8, meaning: 'no microphone, or not the one asked for' },
  MIC_LOST: { exit: 8, meaning: 'the microphone went away while in use' },
  HOTKEY_UNAVAILABLE: { exit: 8, meaning: 'the hotkey cannot be grabbed or hooked' },
  PASTE_FAILED: { exit: 8, meaning: 'the text could not be delivered to the window' },
  HISTORY_FAILED: { exit: 1, meaning: 'the dictation history could not be read or written' },
} as const satisfies Record<string, { exit: number; meaning: string }>;

export type WhisperErrorCode = keyof typeof ERROR_TABLE;
export const ERROR_CODES = Object.keys(ERROR_TABLE) as WhisperErrorCode[];

/** Whether `code` is one of ours (a code from the native side or the wire is checked before it is trusted). */
export function isErrorCode(code: unknown): code is WhisperErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_TABLE, code);
}

export class WhisperError extends Error {
  override readonly name = 'WhisperError';
  readonly code: WhisperErrorCode;
  /** a finer reason within the code, for code that reacts to it (BAD_AUDIO: 'too-long', 'needs-ffmpeg', 'unsupported-format', 'timeout'; SERVICE_UNAVAILABLE: 'unsafe-socket', a socket or its folder that is not the user's own; DOWNLOAD_FAILED: 'proxy', the proxy in HTTPS_PROXY/HTTP_PROXY failed) */
  readonly reason?: string;

  constructor(code: WhisperErrorCode, message: string, options?: { cause?: unknown; reason?: string }) {
    super(message, options);
    this.code = code;
    if (options?.reason !== undefined) this.reason = options.reason;
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
  if (isErrorCode(code)) return new WhisperError(code, e.message);
  return new WhisperError('TRANSCRIBE_FAILED', e.message, { cause: e });
}
