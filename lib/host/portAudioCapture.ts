/**
 * Microphone capture through PortAudio (the optional dependency naudiodon2): the capture.ts contract
 * (16 kHz mono Float32 blocks of blockMs while live, ~1 s batches while idle).
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
 * The capture resolves only once the first block has arrived (PortAudio through the ALSA pulse plugin
 * delivers nothing for the first 0.5–2 s). The child gets process.env as it is when the capture is
 * opened: PULSE_SERVER, XDG_RUNTIME_DIR etc. decide which sound server it reaches.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamResampler, WHISPER_RATE } from '../audio/resample.js';
import { WhisperError } from '../errors.js';
import { packageRoot } from '../native.js';
import type { Capture, CaptureOptions } from './capture.js';
import type { FromChild, ToChild } from './captureChild.js';
import { chooseInput, FIX_HINT, type InputDevice } from './devices.js';
import { adviceContext, rebuildCommand } from './micAdvice.js';
import { int16ToFloat } from './pcm16.js';

/** How a PortAudio capture names itself. */
export const PORTAUDIO = 'PortAudio (naudiodon2)';

/** MIC_LOST after this long without a block (a dead device raises no error: PortAudio just stops calling back); idle audio comes every ~1 s. */
const LOST_AFTER_MS = 3000;
const RECHECK_MS = 250;
const CHILD_READY_TIMEOUT_MS = 15_000;
const FIRST_DATA_TIMEOUT_MS = 6000;
const STOP_GRACE_MS = 1500;
/** PortAudio-side queue of blocks: the callback thread blocks (and the device overruns) when it is full. */
const MAX_QUEUE = 100;

/** What to do when naudiodon2 is there but does not load: rebuild it where this package lives. */
const loadHint = (): string => `reinstall it (${rebuildCommand(adviceContext())}); on Linux it needs libasound2.`;

/** Lists the input devices PortAudio sees (devices with at least one input channel). */
export async function listPortAudioInputs(naudiodonPath: string): Promise<InputDevice[]> {
  const child = new CaptureChild(naudiodonPath);
  try {
    return (await child.devices).filter((d) => d.maxInputChannels > 0);
  } finally {
    await child.close();
  }
}

/** Opens the device `o.device` names through PortAudio; resolves once its first block has arrived. */
export async function openPortAudioCapture(o: CaptureOptions, naudiodonPath: string, blockMs: number, idleMs: number): Promise<Capture> {
  const child = new CaptureChild(naudiodonPath);
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
    return new PortAudioCapture(child, { ...device, name: `${device.name} via PortAudio` }, rate, twoStreams ? 2 : 1, o.onError);
  } catch (e) {
    await child.close();
    throw e;
  }
}

class PortAudioCapture implements Capture {
  readonly backend = PORTAUDIO;
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
      throw new WhisperError('MIC_UNAVAILABLE', `naudiodon2 did not load (${m.type === 'failed' ? m.message : m.type}): ${loadHint()}`);
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
    const hint = this.listed ? FIX_HINT : `naudiodon2 did not load: ${loadHint()}`;
    return new WhisperError('MIC_UNAVAILABLE', `The PortAudio process ended (${this.exitWhy})${this.stderrSummary()}. ${hint}`);
  }
}
