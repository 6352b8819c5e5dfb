/**
 * Microphone capture through the sound server's own recorder (parec, or arecord): the capture.ts
 * contract without any native code of ours, for installs where naudiodon2 could not be built.
 *
 * The recorder is a child process writing raw 16-bit mono at the asked rate (the server resamples)
 * to a pipe this process reads. As with PortAudio on ALSA, two streams of the same source keep an
 * idle daemon cheap: the one that always runs asks for idlePeriodMs fragments (a few wake-ups a second
 * for the server, the recorder and this process; one arecord of 20 ms periods through ALSA's pulse
 * plugin cost ~10 % of a core here, with the server), and while an utterance records a second recorder
 * with blockMs fragments runs beside it, joined in by content (splice.ts). Where the second cannot
 * open (an ALSA hw device held by the first) the idle stream carries on alone and a note says so;
 * idlePeriodMs 0 runs one stream of blockMs blocks. Idle audio is handed on in ~1 s batches, live
 * audio block by block.
 *
 * A recorder that ends (the server went away, the device is gone for good) is MIC_LOST at once, with
 * the last lines it wrote to stderr; one that hangs is MIC_LOST after LOST_AFTER_MS without audio.
 * Recorders are killed by stop(), when this process exits, and, should it be killed outright, by the
 * broken pipe their next write meets.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { StreamResampler, WHISPER_RATE } from '../audio/resample.js';
import { WhisperError } from '../errors.js';
import type { Capture, CaptureOptions } from './capture.js';
import type { InputDevice } from './devices.js';
import { int16ToFloat, Pcm16Joiner } from './pcm16.js';
import { RECORDER_SERVER, type Recorder, recorderArgs } from './recorders.js';
import { describeSource, matchSource, type SoundSource } from './soundSources.js';
import { StreamSplicer } from './splice.js';

const LOST_AFTER_MS = 3000;
const RECHECK_MS = 250;
const FIRST_DATA_TIMEOUT_MS = 6000;
const STOP_GRACE_MS = 1500;
/** While idle, audio goes on in batches of about this much. */
const IDLE_SEND_MS = 1000;

export const RECORDER_HINT =
  'Check that a microphone is connected and the sound server (PulseAudio or PipeWire) is running; a daemon started outside the desktop session needs PULSE_SERVER or XDG_RUNTIME_DIR pointing at it.';

/** Recorder processes still running: killed when this process exits (stop() not called). */
const running = new Set<ChildProcess>();
let exitHook = false;

function track(p: ChildProcess): void {
  running.add(p);
  p.once('exit', () => running.delete(p));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const r of running) r.kill('SIGKILL');
  });
}

/** One recorder process: its stdout as whole 16-bit samples, its stderr kept for messages, its end. */
class RecorderProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<void>;
  exitWhy: string | undefined;
  chunks = 0;
  onChunk: ((b: Buffer) => void) | undefined;
  /** Called once when the process ends other than through kill(). */
  onExit: ((why: string) => void) | undefined;
  private stderr = '';
  private readonly joiner = new Pcm16Joiner();

  constructor(
    readonly recorder: Recorder,
    args: string[],
  ) {
    this.proc = spawn(recorder.path, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir(), env: process.env });
    track(this.proc);
    this.proc.stdout?.on('data', (b: Buffer) => {
      const whole = this.joiner.push(b);
      if (!whole) return;
      this.chunks++;
      this.onChunk?.(whole);
    });
    this.proc.stderr?.setEncoding('utf8');
    this.proc.stderr?.on('data', (s: string) => {
      this.stderr = (this.stderr + s).slice(-16_384);
    });
    this.exited = new Promise((resolve) => {
      const ended = (why: string) => {
        if (this.exitWhy !== undefined) return;
        this.exitWhy = why;
        resolve();
        this.onExit?.(why);
      };
      this.proc.once('error', (e) => ended(`could not start: ${e.message}`));
      // 'close': stdout fully read too, so no audio arrives after the end is reported
      this.proc.once('close', (code, signal) => ended(signal ? `killed by ${signal}` : `exit code ${code}`));
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** The last lines it wrote to stderr. */
  said(): string {
    const lines = this.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    return lines.length ? `; ${this.recorder.tool} said: ${lines.slice(-4).join(' | ')}` : '';
  }

  /** Resolves at the first audio; rejects when the process ends first or timeoutMs passes. */
  firstData(timeoutMs: number): Promise<void> {
    if (this.chunks > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`no audio within ${timeoutMs / 1000} s`)), timeoutMs);
      const previous = this.onChunk;
      const done = (e?: Error) => {
        clearTimeout(timer);
        this.onChunk = previous;
        if (e) reject(e);
        else resolve();
      };
      this.onChunk = (b) => {
        previous?.(b);
        done();
      };
      this.exited.then(() => done(new Error(`${this.recorder.tool} ended (${this.exitWhy})`)));
    });
  }

  /** SIGTERM, SIGKILL after STOP_GRACE_MS; resolves once it has exited. */
  async kill(): Promise<void> {
    this.onExit = undefined;
    this.onChunk = undefined;
    if (this.exitWhy !== undefined) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface RecorderInput {
  device: InputDevice;
  /** the --device / -D argument; absent: the server's default input (which follows the desktop's choice) */
  arg?: string;
}

/**
 * The input `want` names, as PortAudio's capture understands it where it can: nothing, "default" or
 * "pulse" is the default source; a string is a source by name or description (parec, when pactl
 * lists them) or passed on as the device name; a PortAudio device number has no meaning here.
 */
export function recorderInput(recorder: Recorder, want: number | string | undefined, sources: SoundSource[] | undefined): RecorderInput {
  const via = recorder.tool;
  const server = RECORDER_SERVER[via];
  const base = { id: -1, hostApi: server, maxInputChannels: 1, defaultSampleRate: WHISPER_RATE };
  const inputs = sources?.filter((s) => !s.monitor) ?? [];
  const listing = inputs.length ? `; the sound server's inputs are: ${inputs.map(describeSource).join(', ')}` : '';
  if (typeof want === 'number') {
    throw new WhisperError(
      'MIC_UNAVAILABLE',
      `audio.device ${want} is a PortAudio device number, but the microphone is recorded through ${via} here: name a source instead${listing}`,
    );
  }
  const byDefault = want === undefined || /^(default|pulse)$/i.test(want);
  if (via === 'arecord' || !sources) {
    const name = byDefault ? 'default input' : want;
    return { device: { ...base, name: `${server} '${name}' via ${via}`, isDefault: byDefault }, ...(byDefault ? {} : { arg: want }) };
  }
  const source = byDefault ? sources.find((s) => s.isDefault) : matchSource(sources, want);
  if (!source) {
    if (byDefault) return { device: { ...base, name: `${server} default source via ${via}`, isDefault: true } };
    throw new WhisperError('MIC_UNAVAILABLE', `No input device matching "${want}"${listing}`);
  }
  return {
    device: { ...base, name: `${server} '${source.description}' (${source.name}) via ${via}`, isDefault: source.isDefault },
    ...(byDefault ? {} : { arg: source.name }),
  };
}

/** Opens the recorder; resolves once its first block has arrived. */
export async function openRecorderCapture(o: CaptureOptions, recorder: Recorder, input: RecorderInput, blockMs: number, idleMs: number): Promise<Capture> {
  const rate = o.rate ?? WHISPER_RATE;
  const capture = new RecorderCapture(o, recorder, input, rate, blockMs, idleMs);
  try {
    await capture.started;
    return capture;
  } catch (e) {
    await capture.stop();
    const why = (e as Error).message;
    throw new WhisperError('MIC_UNAVAILABLE', `Could not record from ${input.device.name} (${why}${capture.said()}). ${RECORDER_HINT}`);
  }
}

class RecorderCapture implements Capture {
  readonly backend: string;
  readonly streams: 1 | 2;
  readonly device: InputDevice;
  readonly started: Promise<void>;
  private readonly main: RecorderProcess;
  private second: RecorderProcess | undefined;
  private readonly splicer: StreamSplicer | undefined;
  private readonly resampler: StreamResampler | undefined;
  private isLive = false;
  private liveFailed = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private sentAny = false;
  private readonly batchBytes: number;
  private lastDataAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private recheck: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly o: CaptureOptions,
    private readonly recorder: Recorder,
    private readonly input: RecorderInput,
    readonly rate: number,
    private readonly blockMs: number,
    idleMs: number,
  ) {
    this.device = input.device;
    this.backend = `${recorder.tool} (${RECORDER_SERVER[recorder.tool]} client)`;
    this.streams = idleMs > 0 ? 2 : 1;
    this.batchBytes = 2 * Math.round((rate * IDLE_SEND_MS) / 1000);
    if (rate !== WHISPER_RATE) this.resampler = new StreamResampler(rate, WHISPER_RATE);
    this.main = this.spawn(idleMs || blockMs);
    if (idleMs > 0) {
      // A live stream out of place means a stream dropped samples (an overrun): worth a line in the log.
      const note = (what: string, detail: string): void => {
        if (what === 'misplaced') o.onNote?.(`${detail}; placing it again`);
      };
      const splicer = new StreamSplicer({ emit: (b) => this.deliver(b), historySamples: rate * 3, note });
      this.splicer = splicer;
      this.main.onChunk = (b) => splicer.idle(b);
    } else this.main.onChunk = (b) => this.deliver(b);
    this.started = this.main.firstData(FIRST_DATA_TIMEOUT_MS).then(() => {
      if (this.main.exitWhy !== undefined) throw new Error(`${this.recorder.tool} ended (${this.main.exitWhy})`);
      this.main.onExit = (why) => this.lost(`${this.recorder.tool} ended (${why})${this.main.said()}`);
      this.timer = setTimeout(() => this.suspect(), LOST_AFTER_MS);
    });
    this.started.catch(() => undefined);
  }

  /** The recorder's last words, for errors. */
  said(): string {
    return this.main.said();
  }

  private spawn(latencyMs: number): RecorderProcess {
    return new RecorderProcess(this.recorder, recorderArgs(this.recorder.tool, { rate: this.rate, latencyMs, device: this.input.arg }));
  }

  private alive(): void {
    this.lastDataAt = Date.now();
    this.timer?.refresh();
  }

  private deliver(b: Buffer): void {
    this.alive();
    this.held.push(b);
    this.heldBytes += b.length;
    // the first audio at once (openCapture waits for it), live audio block by block, idle audio in batches
    if (this.isLive || this.heldBytes >= this.batchBytes || !this.sentAny) this.flush();
  }

  private flush(): void {
    if (this.held.length === 0 || this.stopping) return;
    this.sentAny = true;
    const bytes = this.held.length === 1 ? (this.held[0] as Buffer) : Buffer.concat(this.held);
    this.held = [];
    this.heldBytes = 0;
    const pcm = int16ToFloat(bytes);
    this.o.onData(this.resampler ? this.resampler.push(pcm) : pcm);
  }

  /**
   * No audio for LOST_AFTER_MS, as far as this process has read: after its event loop was blocked,
   * the timer runs before the chunks queued meanwhile are read, so look again a moment later.
   */
  private suspect(): void {
    const seen = this.main.chunks + (this.second?.chunks ?? 0);
    this.recheck = setTimeout(() => {
      if (this.main.chunks + (this.second?.chunks ?? 0) !== seen) return;
      this.lost(`no audio for ${((Date.now() - this.lastDataAt) / 1000).toFixed(1)} s: the device stopped delivering`);
    }, RECHECK_MS);
  }

  private lost(why: string): void {
    if (this.stopping) return;
    void this.stop();
    this.o.onError(new WhisperError('MIC_LOST', `Lost the microphone "${this.device.name}": ${why}`));
  }

  live(on: boolean): void {
    if (this.stopping) return;
    this.isLive = on;
    if (on) this.flush();
    const splicer = this.splicer;
    if (!splicer) return;
    if (on && !this.second && !this.liveFailed) {
      const second = this.spawn(this.blockMs);
      this.second = second;
      splicer.attachLive();
      second.onChunk = (b) => splicer.live(b);
      second.onExit = (why) => {
        // the idle stream carries on: utterances end a little later, nothing is lost
        this.liveFailed = true;
        if (this.second === second) this.dropLive();
        this.o.onNote?.(
          `the low-latency ${this.recorder.tool} stream ended (${why}${second.said()}): utterances end up to ${this.streams === 2 ? 'an idle period' : 'a block'} later`,
        );
      };
    } else if (!on && this.second) this.dropLive();
  }

  private dropLive(): void {
    this.splicer?.detachLive();
    void this.second?.kill();
    this.second = undefined;
  }

  stop(): Promise<void> {
    clearTimeout(this.timer);
    clearTimeout(this.recheck);
    this.stopping ??= Promise.all([this.second?.kill(), this.main.kill()]).then(() => undefined);
    return this.stopping;
  }
}
