/**
 * The formats the WebAssembly decoders do not read (MP4/M4A, WebM, ADTS AAC, other Ogg codecs)
 * through the system's `ffmpeg`, treated as a hostile parser of hostile bytes:
 * - it reads the upload and nothing else: the demuxer is pinned from the sniffed container (no
 *   probing, so no HLS playlist, concat script or other format that names further files or URLs),
 *   the same one is the only format allowed (nested opens included), the only protocol is `file`
 *   (no network), and MP4 data references (drefs) are not followed;
 * - bytes in no container sniffed here are refused (BAD_AUDIO, reason 'unsupported-format')
 *   without starting ffmpeg;
 * - it is bounded: killed (SIGKILL) past the decoded length limit, past a wall-clock limit that
 *   grows with that length (reason 'timeout'), when the caller's AbortSignal fires (AbortError),
 *   and when this process exits; its temporary folder is removed on every one of those paths.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortError, WhisperError } from '../errors.js';
import { MAX_AUDIO_SECONDS } from './check.js';
import { WHISPER_RATE } from './resample.js';

/** What decodeAudio hands over; `sniffed` is sniffFormat()'s answer (undefined: none it knows). */
export interface FfmpegRequest {
  sniffed: string | undefined;
  /** how the audio is named in messages */
  name: string;
  /** refuse audio longer than this once decoded; Infinity: the one-hour bound of the library */
  maxSeconds: number;
  signal?: AbortSignal;
  /** the wall-clock limit; default ffmpegTimeoutMs(maxSeconds) */
  timeoutMs?: number;
}

/** A demuxer ffmpeg is pinned to, and how the container is named in messages. */
interface Container {
  demuxer: string;
  what: string;
  options?: string[];
}

// drefs: an MP4 may point at its samples in other files or URLs; off by default, said here anyway.
const MP4: Container = { demuxer: 'mov', what: 'MP4/M4A', options: ['-enable_drefs', '0', '-use_absolute_path', '0'] };
const WEBM: Container = { demuxer: 'matroska', what: 'WebM/Matroska' };
const ADTS: Container = { demuxer: 'aac', what: 'AAC (ADTS)' };
const OGG: Container = { demuxer: 'ogg', what: 'Ogg' };

/**
 * The container ffmpeg may read these bytes as; undefined for anything else. Short on purpose: what
 * browsers, phones and OpenAI clients send beyond WAV/MP3/Ogg/FLAC (MP4/M4A/3GP, WebM, raw AAC, an
 * Ogg codec the WebAssembly decoders lack), in demuxers that never open another file.
 */
export function ffmpegContainer(b: Uint8Array, sniffed: string | undefined): Container | undefined {
  if (sniffed === 'mp4') return MP4;
  if (sniffed === 'webm') return WEBM;
  if (sniffed !== undefined) return undefined;
  // ADTS: a 12-bit sync word, then MPEG version, layer 00
  if (b.length >= 7 && b[0] === 0xff && ((b[1] ?? 0) & 0xf6) === 0xf0) return ADTS;
  if (b.length >= 4 && b[0] === 0x4f && b[1] === 0x67 && b[2] === 0x67 && b[3] === 0x53) return OGG;
  return undefined;
}

/** The wall-clock limit on ffmpeg: 10 s, plus 1 s per 20 s of audio allowed (≥ 20× real time). */
export function ffmpegTimeoutMs(maxSeconds: number): number {
  const bound = Number.isFinite(maxSeconds) ? Math.min(maxSeconds, MAX_AUDIO_SECONDS) : MAX_AUDIO_SECONDS;
  return 10_000 + Math.ceil(bound * 50);
}

/** What to run to get ffmpeg, per platform. */
export function ffmpegHint(): string {
  if (process.platform === 'darwin') return 'brew install ffmpeg';
  if (process.platform === 'win32') return 'winget install ffmpeg';
  return 'sudo apt install ffmpeg (or your distribution’s package)';
}

// Children and folders alive right now: killed and removed when this process exits, whatever the
// path to the exit (process.exit() after SIGTERM included); the 'exit' handler must be synchronous.
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHooked = false;
function onExit(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
}
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', onExit);
}

function tooLong(name: string, seconds: number, max: number): WhisperError {
  return new WhisperError('BAD_AUDIO', `${name} is longer than ${max} s (${seconds.toFixed(1)} s decoded when it stopped); at most ${max} s per request`, {
    reason: 'too-long',
  });
}

/**
 * The bytes through ffmpeg, as 16 kHz mono float samples. It reads a temporary copy, not a pipe:
 * MP4 files often keep their index (moov) at the end, which ffmpeg can only reach in a file it seeks.
 */
export async function decodeFfmpeg(bytes: Uint8Array, request: FfmpegRequest): Promise<{ samples: Float32Array; what: string }> {
  const { name, signal } = request;
  const container = ffmpegContainer(bytes, request.sniffed);
  if (!container) {
    throw new WhisperError('BAD_AUDIO', `${name} is not in a format read here: WAV, MP3, Ogg, FLAC, and with ffmpeg MP4/M4A, WebM and AAC (ADTS)`, {
      reason: 'unsupported-format',
    });
  }
  if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
  hookExit();
  const dir = await mkdtemp(join(tmpdir(), 'prism-audio-'));
  liveDirs.add(dir);
  try {
    const input = join(dir, 'input');
    await writeFile(input, bytes, { mode: 0o600 });
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const samples = await runFfmpeg(input, container, request);
    return { samples, what: container.what };
  } finally {
    liveDirs.delete(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

function runFfmpeg(input: string, container: Container, request: FfmpegRequest): Promise<Float32Array> {
  const { name, signal } = request;
  const maxSeconds = Number.isFinite(request.maxSeconds) ? request.maxSeconds : MAX_AUDIO_SECONDS;
  const limit = Math.ceil(maxSeconds * WHISPER_RATE) * 4;
  const timeoutMs = request.timeoutMs ?? ffmpegTimeoutMs(maxSeconds);
  const what = container.what;
  // Input options first (they apply to the one input), then the output: the first audio stream only.
  const args = [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
    ...['-protocol_whitelist', 'file', '-format_whitelist', container.demuxer, '-f', container.demuxer, ...(container.options ?? [])],
    ...['-i', `file:${input}`],
    ...['-map', '0:a:0', '-vn', '-sn', '-dn', '-f', 'f32le', '-ac', '1', '-ar', String(WHISPER_RATE), 'pipe:1'],
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.PRISM_FFMPEG || 'ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.add(child);
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failure: Error | undefined;
    let exited = false;
    let settled = false;
    const finish = (code: number | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      liveChildren.delete(child);
      if (failure) {
        child.stdout.destroy();
        child.stderr.destroy();
        reject(failure);
      } else if (code !== 0 || size === 0) {
        const said = (stderr.trim().split('\n').at(-1) ?? '').replaceAll(input, 'input');
        reject(new WhisperError('BAD_AUDIO', `${name} (${what}) could not be decoded by ffmpeg${said ? `: ${said}` : ''}`));
      } else {
        resolve(toFloats(out, size));
      }
    };
    /** Stops ffmpeg for good; the promise settles once it has exited. */
    const stop = (why: Error): void => {
      failure ??= why;
      if (exited) finish(null);
      else child.kill('SIGKILL');
    };
    const timer = setTimeout(() => {
      const took = `took ffmpeg longer than ${(timeoutMs / 1000).toFixed(0)} s to decode; stopped`;
      stop(new WhisperError('BAD_AUDIO', `${name} (${what}) ${took}`, { reason: 'timeout' }));
    }, timeoutMs);
    const onAbort = (): void => stop(new AbortError(undefined, { cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (e: NodeJS.ErrnoException) => {
      failure ??=
        e.code === 'ENOENT'
          ? new WhisperError('BAD_AUDIO', `${name} is ${what}: decoding it needs ffmpeg, which is not installed (${ffmpegHint()}); WAV, MP3, Ogg and FLAC need nothing`, {
              reason: 'needs-ffmpeg',
            })
          : new WhisperError('BAD_AUDIO', `${name}: ffmpeg could not start: ${e.message}`, { cause: e });
    });
    child.stdout.on('data', (d: Buffer) => {
      if (failure) return;
      size += d.length;
      if (size > limit) return stop(tooLong(name, size / 4 / WHISPER_RATE, maxSeconds));
      out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString();
    });
    // A killed ffmpeg settles on 'exit' (its pipes may be held open by a process it started), a
    // finished one on 'close', once all of its output has been read.
    child.on('exit', () => {
      exited = true;
      liveChildren.delete(child);
      if (failure) finish(null);
    });
    child.on('close', (code) => finish(code));
  });
}

/** ffmpeg's f32le chunks → one Float32Array: a byte copy into aligned memory, no per-sample work. */
export function toFloats(chunks: readonly Uint8Array[], size: number): Float32Array {
  const samples = new Float32Array(size >> 2);
  const bytes = new Uint8Array(samples.buffer);
  let at = 0;
  for (const c of chunks) {
    const n = Math.min(c.length, bytes.length - at);
    bytes.set(n === c.length ? c : c.subarray(0, n), at);
    at += n;
  }
  if (endianness() === 'BE') {
    const view = new DataView(samples.buffer);
    for (let i = 0; i < samples.length; i++) samples[i] = view.getFloat32(i * 4, true);
  }
  return samples;
}
