/**
 * Microphone capture through PortAudio (the optional dependency naudiodon2), delivered as 16 kHz
 * mono Float32 blocks of blockMs (default 20) while an utterance records (live) and in ~1 s batches otherwise.
 *
 * PortAudio runs in a small child Node process (captureChild.ts), not in this one, because loading it
 * in-process costs the host more than a process does: on a machine without sound cards PortAudio's ALSA
 * probing prints over a hundred lines of "ALSA lib … Unknown PCM" and JACK noise to stderr (ALSA has no
 * setting to quiet it; only native code could), naudiodon printf()s to stdout, lists devices
 * synchronously (~0.3 s with the event loop blocked), and parks one libuv threadpool thread in a
 * blocking read for as long as a stream runs (the pool the transcription addon's workers use too).
 * In the child all of that is contained, its stderr is kept for error messages, and a hung or crashed
 * PortAudio becomes MIC_LOST.
 *
 * Idle cost: on ALSA (PulseAudio, PipeWire) the stream that always runs has ~250 ms periods, so the
 * sound server and PortAudio wake the child a few times a second instead of ~40; while an utterance
 * records, a short-block stream runs beside it and is spliced in by content (splice.ts). Elsewhere one
 * short-block stream runs and is read in ~250 ms batches while idle. Either way idle audio reaches this
 * process in ~1 s batches (one wake-up a second).
 *
 * The capture runs until stop(). A device that goes away does not end a stream: PortAudio's callback
 * thread just stops, so a watchdog reports MIC_LOST when no audio has come for LOST_AFTER_MS.
 * openCapture resolves only once the first block has arrived (PortAudio through the ALSA pulse plugin
 * delivers nothing for the first 0.5–2 s). The child gets process.env as it is when openCapture is
 * called: PULSE_SERVER, XDG_RUNTIME_DIR etc. decide which sound server it reaches.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamResampler, WHISPER_RATE } from '../audio/resample.js';
import { WhisperError } from '../errors.js';
import { packageRoot } from '../native.js';
import type { FromChild, ToChild } from './captureChild.js';
import { chooseInput, FIX_HINT, type InputDevice } from './devices.js';

export interface CaptureOptions {
  /** Device id, or a (case-insensitive) substring of its name; default: the default input. */
  device?: number | string;
  /** Block length in ms while an utterance records (default 20). */
  blockMs?: number;
  /**
   * Period of the stream that runs while idle, in ms (default 250). On ALSA (PulseAudio, PipeWire) a
   * second stream of blockMs blocks joins while recording (live(true)) without a gap; elsewhere, or
   * with 0, one stream of blockMs blocks runs all the time and is read in ~250 ms batches while idle.
   */
  idlePeriodMs?: number;
  /** Device rate to open at; default 16 kHz when the device takes it, else its default rate. */
  rate?: number;
  /** 16 kHz mono samples in [-1, 1], any length. The first call may come before openCapture resolves. */
  onData: (pcm: Float32Array) => void;
  /** MIC_LOST once the stream has died (device gone, sound server stopped); the capture is then stopped. */
  onError: (e: WhisperError) => void;
  /** Something worth telling the user that does not stop capture (e.g. no second stream on this device). */
  onNote?: (message: string) => void;
}

export interface Capture {
  readonly device: InputDevice;
  /** The rate the device was opened at. */
  readonly rate: number;
  /** 2: a long-period idle stream with a short-block stream joining while live; 1: one short-block stream. */
  readonly streams: 1 | 2;
  /**
   * Live delivery (each ~blockMs block as it comes) while an utterance records; otherwise audio arrives
   * in ~1 s batches, which keeps an idle daemon cheap. Going live sends what is held at once; short
   * blocks follow within ~0.25–0.6 s (the idle chunk being read, or the second stream's start); the
   * audio stays gap-free throughout.
   */
  live(on: boolean): void;
  /** Stops the stream and its process; idempotent. */
  stop(): Promise<void>;
}

/** MIC_LOST after this long without a block (a dead device raises no error: PortAudio just stops calling back); idle audio comes every ~1 s. */
const LOST_AFTER_MS = 3000;
const RECHECK_MS = 250;
const CHILD_READY_TIMEOUT_MS = 15_000;
const FIRST_DATA_TIMEOUT_MS = 6000;
const STOP_GRACE_MS = 1500;
/** PortAudio-side queue of blocks: the callback thread blocks (and the device overruns) when it is full. */
const MAX_QUEUE = 100;

const LOAD_HINT = 'reinstall it (`npm rebuild naudiodon2`); on Linux it needs libasound2.';

/** Lists the input devices PortAudio sees (devices with at least one input channel). */
export async function listInputDevices(): Promise<InputDevice[]> {
  const child = new CaptureChild(resolveNaudiodon());
  try {
    return (await child.devices).filter((d) => d.maxInputChannels > 0);
  } finally {
    await child.close();
  }
}

export async function openCapture(o: CaptureOptions): Promise<Capture> {
  const blockMs = o.blockMs ?? 20;
  if (!(blockMs >= 5 && blockMs <= 500)) throw new WhisperError('BAD_ARGUMENT', `blockMs must be within 5..500, got ${blockMs}`);
  const idleMs = o.idlePeriodMs ?? 250;
  if (!(idleMs === 0 || (idleMs >= blockMs && idleMs <= 1000))) throw new WhisperError('BAD_ARGUMENT', `idlePeriodMs must be 0 or within blockMs..1000, got ${idleMs}`);
  if (o.rate !== undefined && !(Number.isInteger(o.rate) && o.rate >= 8000 && o.rate <= 384_000)) {
    throw new WhisperError('BAD_ARGUMENT', `rate must be an integer within 8000..384000, got ${o.rate}`);
  }
  const child = new CaptureChild(resolveNaudiodon());
  try {
    const { device, source } = await chooseInput(await child.devices, o.device);
    let resampler: StreamResampler | undefined;
    child.onPcm = (bytes, rate) => {
      const pcm = int16ToFloat(bytes);
      if (rate === WHISPER_RATE) return o.onData(pcm);
      resampler ??= new StreamResampler(rate, WHISPER_RATE);
      o.onData(resampler.push(pcm));
    };
    const rates = o.rate ? [o.rate] : [...new Set([WHISPER_RATE, Math.round(device.defaultSampleRate), 48000, 44100])].filter((r) => r > 0);
    child.onNote = o.onNote;
    const { rate, twoStreams } = await child.open(device, rates, blockMs, idleMs, source?.name);
    await child.firstData(FIRST_DATA_TIMEOUT_MS);
    return new RunningCapture(child, device, rate, twoStreams ? 2 : 1, o.onError);
  } catch (e) {
    await child.close();
    throw e;
  }
}

class RunningCapture implements Capture {
  private lastDataAt = Date.now();
  /** fires LOST_AFTER_MS after the last block (each block pushes it back: no wake-ups while audio flows) */
  private readonly timer: NodeJS.Timeout;
  private recheck: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly child: CaptureChild,
    readonly device: InputDevice,
    readonly rate: number,
    readonly streams: 1 | 2,
    private readonly onError: (e: WhisperError) => void,
  ) {
    child.onExit = (why) => this.lost(`the capture process ended (${why})`);
    child.onAlive = () => {
      this.lastDataAt = Date.now();
      this.timer.refresh();
    };
    this.timer = setTimeout(() => this.suspect(), LOST_AFTER_MS);
  }

  /**
   * No block for LOST_AFTER_MS, as far as this process has read: after its event loop was blocked,
   * the timer runs before the blocks queued meanwhile are read, so look again a moment later.
   */
  private suspect(): void {
    const seen = this.child.blocks;
    this.recheck = setTimeout(() => {
      if (this.child.blocks !== seen) return;
      this.lost(`no audio for ${((Date.now() - this.lastDataAt) / 1000).toFixed(1)} s: the device stopped delivering`);
    }, RECHECK_MS);
  }

  private lost(why: string): void {
    if (this.stopping) return;
    clearTimeout(this.timer);
    clearTimeout(this.recheck);
    this.stopping = this.child.close();
    this.onError(new WhisperError('MIC_LOST', `Lost the microphone "${this.device.name}": ${why}${this.child.stderrSummary()}`));
  }

  live(on: boolean): void {
    this.child.live(on);
  }

  stop(): Promise<void> {
    clearTimeout(this.timer);
    clearTimeout(this.recheck);
    this.stopping ??= this.child.close();
    return this.stopping;
  }
}

// ---- the child process ---------------------------------------------------------------------

type Waiter = { types: FromChild['type'][]; resolve: (m: FromChild) => void; reject: (e: Error) => void };

/** One PortAudio child process: its device list, opening the stream, the blocks, and its end. */
class CaptureChild {
  readonly devices: Promise<InputDevice[]>;
  /** Called with each block of 16-bit mono samples at the rate opened. */
  onPcm: ((pcm: Uint8Array, rate: number) => void) | undefined;
  /** Called once when the process ends other than through close(). */
  onExit: ((why: string) => void) | undefined;
  /** Something worth telling the user that does not stop capture. */
  onNote: ((message: string) => void) | undefined;
  /** Called after each block (the watchdog). */
  onAlive: (() => void) | undefined;
  /** Blocks received so far. */
  blocks = 0;
  private rate = 0;
  private listed = false;
  private readonly proc: ChildProcess;
  private readonly exited: Promise<void>;
  private stderr = '';
  private exitWhy: string | undefined;
  private readonly waiters = new Set<Waiter>();

  constructor(naudiodonPath: string) {
    this.proc = fork(join(packageRoot, 'dist', 'host', 'captureChild.js'), [naudiodonPath], {
      execArgv: [],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
      cwd: tmpdir(),
      env: { ...process.env, JACK_NO_START_SERVER: '1' },
    });
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (s: string) => {
      this.stderr = (this.stderr + s).slice(-16_384);
    });
    this.proc.on('message', (m: FromChild) => this.message(m));
    this.exited = new Promise((resolve) => {
      this.proc.on('error', (e) => this.ended(`could not start: ${e.message}`, resolve));
      this.proc.on('exit', (code, signal) => this.ended(signal ? `killed by ${signal}` : `exit code ${code}`, resolve));
    });
    this.devices = this.next(['devices', 'failed'], CHILD_READY_TIMEOUT_MS).then((m) => {
      if (m.type === 'devices') return m.devices.map((d) => ({ ...d, isDefault: d.id === m.defaultInput }));
      throw new WhisperError('MIC_UNAVAILABLE', `naudiodon2 did not load (${m.type === 'failed' ? m.message : m.type}): ${LOAD_HINT}`);
    });
    this.devices.catch(() => {}); // awaited by the callers; never an unhandled rejection
  }

  /** Opens the device at the first of `rates` it takes; resolves with that rate and the way it runs. */
  async open(device: InputDevice, rates: number[], blockMs: number, idleMs: number, source?: string): Promise<{ rate: number; twoStreams: boolean }> {
    const twoStreams = device.hostApi === 'ALSA' && idleMs > 0;
    this.send({ type: 'open', id: device.id, rates, blockMs, idleMs, twoStreams, maxQueue: MAX_QUEUE, source });
    const m = await this.next(['opened', 'failed'], CHILD_READY_TIMEOUT_MS);
    if (m.type === 'opened') return m;
    const why = m.type === 'failed' ? m.message : m.type;
    throw new WhisperError('MIC_UNAVAILABLE', `Could not open the microphone "${device.name}" (${why}). ${FIX_HINT}`);
  }

  async firstData(timeoutMs: number): Promise<void> {
    if (this.blocks > 0) return;
    await this.next(['data'], timeoutMs).catch((e: unknown) => {
      throw new WhisperError('MIC_UNAVAILABLE', `The microphone opened but delivered no audio: ${(e as Error).message}. ${FIX_HINT}`);
    });
  }

  /** The last lines of the child's stderr that are not ALSA's device-probing noise. */
  stderrSummary(): string {
    const lines = this.stderr.split('\n').filter((l) => l.trim() && !/^ALSA lib |jack|Jack|^Cannot connect to server/.test(l));
    return lines.length ? `; PortAudio said: ${lines.slice(-6).join(' | ')}` : '';
  }

  /** Live: every block as it comes (while an utterance records); else ~1 s batches. */
  live(on: boolean): void {
    this.send({ type: 'live', on });
  }

  /** A dead child shows as its exit, not as a failed send. */
  private send(m: ToChild): void {
    if (this.proc.connected) this.proc.send(m, () => {});
  }

  /** Asks the child to stop, kills it if it has not within STOP_GRACE_MS, resolves once it has exited. */
  async close(): Promise<void> {
    this.onExit = undefined;
    if (this.exitWhy !== undefined) return;
    this.send({ type: 'stop' });
    const kill = setTimeout(() => this.proc.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(kill);
  }

  private message(m: FromChild): void {
    if (m.type === 'devices') this.listed = true;
    if (m.type === 'opened') this.rate = m.rate;
    if (m.type === 'data') {
      this.blocks++;
      this.onPcm?.(m.pcm, this.rate);
      this.onAlive?.();
    }
    if (m.type === 'note') this.onNote?.(m.message);
    for (const w of this.waiters) if (w.types.includes(m.type)) w.resolve(m);
  }

  private next(types: FromChild['type'][], timeoutMs: number): Promise<FromChild> {
    if (this.exitWhy !== undefined) return Promise.reject(this.exitError());
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        types,
        resolve: (m) => {
          done();
          resolve(m);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      const timer = setTimeout(() => waiter.reject(new WhisperError('MIC_UNAVAILABLE', `PortAudio did not answer within ${timeoutMs / 1000} s${this.stderrSummary()}`)), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private ended(why: string, resolve: () => void): void {
    if (this.exitWhy !== undefined) return;
    this.exitWhy = why;
    for (const w of this.waiters) w.reject(this.exitError());
    resolve();
    this.onExit?.(why);
  }

  private exitError(): WhisperError {
    const hint = this.listed ? FIX_HINT : `naudiodon2 did not load: ${LOAD_HINT}`;
    return new WhisperError('MIC_UNAVAILABLE', `The PortAudio process ended (${this.exitWhy})${this.stderrSummary()}. ${hint}`);
  }
}

// ---- helpers -------------------------------------------------------------------------------

function resolveNaudiodon(): string {
  try {
    return createRequire(import.meta.url).resolve('naudiodon2');
  } catch (e) {
    throw new WhisperError(
      'MIC_UNAVAILABLE',
      'Microphone capture needs the optional dependency naudiodon2, which is not installed: run `npm install naudiodon2` ' +
        '(on Linux it needs libasound2 at run time, and a C++ toolchain where no prebuilt binary fits).',
      { cause: e },
    );
  }
}

function int16ToFloat(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  // A view needs 2-byte alignment; IPC buffers are usually aligned, a copy makes any one so.
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : new Uint8Array(bytes.subarray(0, 2 * n));
  const samples = new Int16Array(aligned.buffer, aligned.byteOffset, n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (samples[i] as number) / 32768;
  return out;
}
