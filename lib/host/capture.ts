/**
 * Microphone capture through PortAudio (the optional dependency naudiodon2), delivered as 16 kHz
 * mono Float32 blocks of blockMs (default 50) while an utterance records (live) and in ~250 ms batches otherwise.
 *
 * PortAudio runs in a small child Node process, not in this one, because loading it in-process costs
 * the host more than a process does: on a machine without sound cards PortAudio's ALSA probing
 * prints over a hundred lines of "ALSA lib … Unknown PCM" and JACK noise to stderr (ALSA has no
 * setting to quiet it; only native code could), naudiodon printf()s to stdout, lists devices
 * synchronously (~0.3 s with the event loop blocked), and parks one libuv threadpool thread in a
 * blocking read for as long as the stream runs (the pool the transcription addon's workers use too).
 * In the child all of that is contained, its stderr is kept for error messages, and a hung or crashed
 * PortAudio becomes MIC_LOST. The child uses naudiodon's native binding directly (not its JS stream,
 * which reads one block per async call and registers a crash handler): idle, one read per ~250 ms.
 *
 * The stream is opened once and runs until stop(). A device that goes away does not end the stream:
 * PortAudio's callback thread just stops, so a watchdog reports MIC_LOST when no audio has come for
 * LOST_AFTER_MS. openCapture resolves only once the first block has arrived (PortAudio through the
 * ALSA pulse plugin delivers nothing for the first 0.5–1.5 s). The child gets process.env as it is
 * when openCapture is called: PULSE_SERVER, XDG_RUNTIME_DIR etc. decide which sound server it reaches.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { WHISPER_RATE } from '../audio/resample.js';
import { WhisperError } from '../errors.js';

export interface InputDevice {
  id: number;
  name: string;
  hostApi?: string;
  maxInputChannels: number;
  defaultSampleRate: number;
  isDefault: boolean;
}

export interface CaptureOptions {
  /** Device id, or a (case-insensitive) substring of its name; default: the default input. */
  device?: number | string;
  /** Block length in ms (default 20). */
  blockMs?: number;
  /** Device rate to open at; default 16 kHz when the device takes it, else its default rate. */
  rate?: number;
  /** 16 kHz mono samples in [-1, 1], any length. The first call may come before openCapture resolves. */
  onData: (pcm: Float32Array) => void;
  /** MIC_LOST once the stream has died (device gone, sound server stopped); the capture is then stopped. */
  onError: (e: WhisperError) => void;
}

export interface Capture {
  readonly device: InputDevice;
  /** The rate the device was opened at. */
  readonly rate: number;
  /**
   * Live delivery (each ~blockMs block as it comes) while an utterance records; otherwise blocks arrive
   * in ~250 ms batches, which keeps an idle daemon cheap. Switching to live flushes what is pending.
   */
  live(on: boolean): void;
  /** Stops the stream and its process; idempotent. */
  stop(): Promise<void>;
}

/** MIC_LOST after this long without a block (a dead device raises no error: PortAudio just stops calling back). */
const LOST_AFTER_MS = 2000;
const WATCHDOG_TICK_MS = 250;
const CHILD_READY_TIMEOUT_MS = 15_000;
const FIRST_DATA_TIMEOUT_MS = 6000;
const STOP_GRACE_MS = 1500;
/** PortAudio-side queue of blocks: the callback thread blocks (and the device overruns) when it is full. */
const MAX_QUEUE = 100;

const FIX_HINT =
  'Check that a microphone is connected and the sound server (PulseAudio or PipeWire) is running; on Linux PortAudio ' +
  "reaches it through ALSA's pulse/default device (package libasound2-plugins), and a daemon started outside the desktop " +
  'session needs PULSE_SERVER or XDG_RUNTIME_DIR pointing at it.';

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
  if (o.rate !== undefined && !(Number.isInteger(o.rate) && o.rate >= 8000 && o.rate <= 384_000)) {
    throw new WhisperError('BAD_ARGUMENT', `rate must be an integer within 8000..384000, got ${o.rate}`);
  }
  const child = new CaptureChild(resolveNaudiodon());
  try {
    const device = pickDevice(await child.devices, o.device);
    let resampler: StreamResampler | undefined;
    child.onPcm = (bytes, rate) => {
      const pcm = int16ToFloat(bytes);
      if (rate === WHISPER_RATE) return o.onData(pcm);
      resampler ??= new StreamResampler(rate, WHISPER_RATE);
      o.onData(resampler.push(pcm));
    };
    const rates = o.rate ? [o.rate] : [...new Set([WHISPER_RATE, Math.round(device.defaultSampleRate), 48000, 44100])].filter((r) => r > 0);
    const rate = await child.open(device, rates, blockMs);
    await child.firstData(FIRST_DATA_TIMEOUT_MS);
    return new RunningCapture(child, device, rate, o.onError);
  } catch (e) {
    await child.close();
    throw e;
  }
}

class RunningCapture implements Capture {
  private lastBlocks: number;
  private lastDataAt = Date.now();
  private ticksWithoutData = 0;
  private readonly timer: NodeJS.Timeout;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly child: CaptureChild,
    readonly device: InputDevice,
    readonly rate: number,
    private readonly onError: (e: WhisperError) => void,
  ) {
    this.lastBlocks = child.blocks;
    child.onExit = (why) => this.lost(`the capture process ended (${why})`);
    this.timer = setInterval(() => this.tick(), WATCHDOG_TICK_MS);
  }

  /**
   * Counts watchdog ticks without audio as well as time: after the event loop was blocked, the first
   * tick runs before the queued blocks are read, so one silent tick alone proves nothing.
   */
  private tick(): void {
    const now = Date.now();
    if (this.child.blocks !== this.lastBlocks) {
      this.lastBlocks = this.child.blocks;
      this.lastDataAt = now;
      this.ticksWithoutData = 0;
      return;
    }
    this.ticksWithoutData++;
    const silentMs = now - this.lastDataAt;
    if (this.ticksWithoutData >= 2 && silentMs >= LOST_AFTER_MS) this.lost(`no audio for ${(silentMs / 1000).toFixed(1)} s: the device stopped delivering`);
  }

  private lost(why: string): void {
    if (this.stopping) return;
    clearInterval(this.timer);
    this.stopping = this.child.close();
    this.onError(new WhisperError('MIC_LOST', `Lost the microphone "${this.device.name}": ${why}${this.child.stderrSummary()}`));
  }

  live(on: boolean): void {
    this.child.live(on);
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping ??= this.child.close();
    return this.stopping;
  }
}

// ---- the child process ---------------------------------------------------------------------

interface RawDevice {
  id: number;
  name: string;
  hostApi: string;
  maxInputChannels: number;
  defaultSampleRate: number;
}

type ChildMessage =
  | { type: 'devices'; devices: RawDevice[]; defaultInput: number }
  | { type: 'opened'; rate: number }
  | { type: 'failed'; message: string }
  | { type: 'data'; pcm: Uint8Array };

/**
 * The child: plain CommonJS run with `node -e` (this package ships no separate script for it). It
 * lists the devices, opens the one asked for at the first rate that works, streams 16-bit mono
 * blocks over the IPC channel, and exits on 'stop' or when the parent goes away. closeOnError is off:
 * an input overflow is not fatal, and a dead device raises no error anyway (the watchdog sees it).
 */
const CHILD_SOURCE = `'use strict';
const path = require('node:path');
let na = null;
try {
  // naudiodon's native binding itself, without its JS stream (one async read per block, and a crash
  // handler registered on load): reads are sized here, one block while live, ~250 ms while idle.
  const dir = path.dirname(process.argv[1]);
  na = require(require.resolve('bindings', { paths: [dir] }))({ bindings: 'naudiodon.node', module_root: dir });
} catch (e) {
  process.send({ type: 'failed', message: String(e && e.message).replace(/\\s+/g, ' ').slice(0, 600) }, () => process.exit(1));
}
let io = null;
let live = false;
let stopping = false;
function list() {
  const apis = na.getHostAPIs();
  const api = apis.HostAPIs[apis.defaultHostAPI];
  process.send({
    type: 'devices',
    defaultInput: api && api.defaultInput < 2147483647 ? api.defaultInput : -1,
    devices: na.getDevices().map((d) => ({ id: d.id, name: d.name, hostApi: d.hostAPIName, maxInputChannels: d.maxInputChannels, defaultSampleRate: d.defaultSampleRate })),
  });
}
async function pump(blockBytes, idleBytes) {
  while (!stopping) {
    const r = await io.read(live ? blockBytes : idleBytes);
    if (r.err) continue; // an overflow note (closeOnError is off); a dead device shows as silence to the watchdog
    if (r.finished) return;
    if (r.buf.length) process.send({ type: 'data', pcm: r.buf });
  }
}
function open(m) {
  const errors = [];
  for (const rate of m.rates) {
    const frames = Math.max(1, Math.round((rate * m.blockMs) / 1000));
    try {
      io = na.create({ inOptions: { deviceId: m.id, channelCount: 1, sampleFormat: 16, sampleRate: rate,
        framesPerBuffer: frames, maxQueue: m.maxQueue, closeOnError: false } });
      io.start();
    } catch (e) {
      errors.push(rate + ' Hz: ' + (e && e.message));
      io = null;
      continue;
    }
    process.send({ type: 'opened', rate });
    const blockBytes = 2 * frames;
    pump(blockBytes, blockBytes * Math.max(1, Math.round(250 / m.blockMs))).catch((e) =>
      process.send({ type: 'failed', message: 'read: ' + (e && e.message) }, () => process.exit(1)));
    return;
  }
  process.send({ type: 'failed', message: errors.join('; ') });
}
function stop() {
  stopping = true;
  setTimeout(() => process.exit(0), 1000).unref();
  if (io) io.quit('WAIT').then(() => process.exit(0), () => process.exit(0));
  else process.exit(0);
}
if (na) {
  list();
  process.on('message', (m) => {
    if (m.type === 'open') open(m);
    else if (m.type === 'live') live = m.on;
    else stop();
  });
  process.on('disconnect', () => process.exit(0));
}
`;

type Waiter = { types: ChildMessage['type'][]; resolve: (m: ChildMessage) => void; reject: (e: Error) => void };

/** One PortAudio child process: its device list, opening the stream, the blocks, and its end. */
class CaptureChild {
  readonly devices: Promise<InputDevice[]>;
  /** Called with each block of 16-bit mono samples at the rate opened. */
  onPcm: ((pcm: Uint8Array, rate: number) => void) | undefined;
  /** Called once when the process ends other than through close(). */
  onExit: ((why: string) => void) | undefined;
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
    this.proc = spawn(process.execPath, ['-e', CHILD_SOURCE, naudiodonPath], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'advanced',
      cwd: tmpdir(),
      env: { ...process.env, JACK_NO_START_SERVER: '1' },
    });
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (s: string) => {
      this.stderr = (this.stderr + s).slice(-16_384);
    });
    this.proc.on('message', (m: ChildMessage) => this.message(m));
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

  /** Opens the device at the first of `rates` it takes; resolves with that rate. */
  async open(device: InputDevice, rates: number[], blockMs: number): Promise<number> {
    this.proc.send({ type: 'open', id: device.id, rates, blockMs, maxQueue: MAX_QUEUE }, () => {}); // a dead child shows as its exit
    const m = await this.next(['opened', 'failed'], CHILD_READY_TIMEOUT_MS);
    if (m.type === 'opened') return m.rate;
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

  /** Live: every block as it comes (while an utterance records); else ~250 ms batches. */
  live(on: boolean): void {
    if (this.proc.connected) this.proc.send({ type: 'live', on }, () => {});
  }

  /** Asks the child to stop, kills it if it has not within STOP_GRACE_MS, resolves once it has exited. */
  async close(): Promise<void> {
    this.onExit = undefined;
    if (this.exitWhy !== undefined) return;
    if (this.proc.connected) this.proc.send({ type: 'stop' }, () => {});
    const kill = setTimeout(() => this.proc.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(kill);
  }

  private message(m: ChildMessage): void {
    if (m.type === 'devices') this.listed = true;
    if (m.type === 'opened') this.rate = m.rate;
    if (m.type === 'data') {
      this.blocks++;
      this.onPcm?.(m.pcm, this.rate);
    }
    for (const w of this.waiters) if (w.types.includes(m.type)) w.resolve(m);
  }

  private next(types: ChildMessage['type'][], timeoutMs: number): Promise<ChildMessage> {
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

function describe(d: InputDevice): string {
  return `#${d.id} "${d.name}" (${d.hostApi ?? '?'}, ${d.maxInputChannels} in, ${d.defaultSampleRate} Hz${d.isDefault ? ', default' : ''})`;
}

/** The device asked for, among those with input channels; MIC_UNAVAILABLE naming what exists otherwise. */
export function pickDevice(devices: InputDevice[], want: number | string | undefined): InputDevice {
  const inputs = devices.filter((d) => d.maxInputChannels > 0);
  if (inputs.length === 0) {
    const others = devices.length ? ` (only output devices: ${devices.map(describe).join(', ')})` : '';
    throw new WhisperError('MIC_UNAVAILABLE', `No audio input device found${others}. ${FIX_HINT}`);
  }
  let found: InputDevice | undefined;
  if (want === undefined) found = inputs.find((d) => d.isDefault) ?? inputs[0];
  else if (typeof want === 'number') found = inputs.find((d) => d.id === want);
  else {
    const w = want.toLowerCase();
    found = inputs.find((d) => d.name.toLowerCase() === w) ?? inputs.find((d) => d.name.toLowerCase().includes(w));
  }
  if (!found) {
    const what = typeof want === 'number' ? `with id ${want}` : `matching "${want}"`;
    throw new WhisperError('MIC_UNAVAILABLE', `No input device ${what}; the input devices are: ${inputs.map(describe).join(', ')}`);
  }
  return found;
}

function int16ToFloat(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = (bytes[2 * i] as number) | ((bytes[2 * i + 1] as number) << 8);
    out[i] = (v >= 0x8000 ? v - 0x10000 : v) / 32768;
  }
  return out;
}

// ---- streaming resampler -------------------------------------------------------------------

const ZERO_CROSSINGS = 16; // as lib/audio/resample.ts

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Block-by-block resampling with the same Blackman-windowed sinc as lib/audio/resample.ts, keeping
 * the filter's history between blocks so block edges leave no clicks, and advancing on an exact
 * rational grid (up/down) so it never drifts. The taps of every phase are computed once.
 * Output lags the input by the filter's half-width (1–3 ms).
 */
export class StreamResampler {
  private readonly up: number;
  private readonly down: number;
  private readonly taps: Float64Array[] = [];
  private readonly firstOffset: Int32Array;
  private readonly lastOffset: Int32Array;
  private readonly keepFrom: number;
  private buf: Float32Array;
  private bufStart: number;
  private base = 0; // floor of the next output's position, in input samples
  private phase = 0; // its fraction, in 1/up

  constructor(fromRate: number, toRate = WHISPER_RATE) {
    if (!(Number.isInteger(fromRate) && Number.isInteger(toRate) && fromRate > 0 && toRate > 0)) {
      throw new WhisperError('BAD_ARGUMENT', `rates must be positive integers, got ${fromRate} and ${toRate}`);
    }
    const g = gcd(fromRate, toRate);
    this.up = toRate / g;
    this.down = fromRate / g;
    const cutoff = Math.min(1, toRate / fromRate);
    const halfWidth = ZERO_CROSSINGS / cutoff;
    this.firstOffset = new Int32Array(this.up);
    this.lastOffset = new Int32Array(this.up);
    for (let p = 0; p < this.up; p++) {
      const frac = p / this.up;
      const lo = Math.ceil(frac - halfWidth);
      const hi = Math.floor(frac + halfWidth);
      const taps = new Float64Array(hi - lo + 1);
      let norm = 0;
      for (let k = lo; k <= hi; k++) {
        const d = k - frac;
        const x = d * cutoff;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        const w = 0.42 + 0.5 * Math.cos((Math.PI * d) / halfWidth) + 0.08 * Math.cos((2 * Math.PI * d) / halfWidth);
        taps[k - lo] = sinc * w;
        norm += sinc * w;
      }
      for (let i = 0; i < taps.length; i++) taps[i] = (taps[i] as number) / norm;
      this.taps.push(taps);
      this.firstOffset[p] = lo;
      this.lastOffset[p] = hi;
    }
    this.keepFrom = Math.min(...this.firstOffset);
    // Silence before the first sample, so the first outputs have a full window.
    this.bufStart = this.keepFrom;
    this.buf = new Float32Array(-this.keepFrom);
  }

  push(input: Float32Array): Float32Array {
    const buf = new Float32Array(this.buf.length + input.length);
    buf.set(this.buf);
    buf.set(input, this.buf.length);
    const end = this.bufStart + buf.length; // one past the last input index held
    const out = new Float32Array(Math.ceil(((input.length + 2) * this.up) / this.down) + 2);
    let n = 0;
    while (this.base + (this.lastOffset[this.phase] as number) < end) {
      const taps = this.taps[this.phase] as Float64Array;
      const from = this.base + (this.firstOffset[this.phase] as number) - this.bufStart;
      let acc = 0;
      for (let k = 0; k < taps.length; k++) acc += (buf[from + k] as number) * (taps[k] as number);
      out[n++] = acc;
      this.phase += this.down;
      this.base += Math.floor(this.phase / this.up);
      this.phase %= this.up;
    }
    const keep = this.base + this.keepFrom;
    this.buf = buf.slice(keep - this.bufStart);
    this.bufStart = keep;
    return out.subarray(0, n);
  }
}
