/**
 * The capture process (forked by capture.ts with naudiodon2's path as its argument): lists the
 * devices, opens the one asked for, and sends 16-bit mono blocks over the IPC channel until 'stop'
 * or until the parent goes away. It calls naudiodon's native binding directly (not its JS stream,
 * which reads one block per async call and registers a crash handler on load).
 *
 * Two ways to run, chosen by the parent:
 * - idle + live streams (ALSA, i.e. PulseAudio or PipeWire on Linux): the stream that always runs asks
 *   PortAudio for long periods (PA_ALSA_PERIODSIZE, honoured when the block size is left open), so the
 *   sound server, PortAudio's thread and this process wake a few times a second. While an utterance
 *   records, a second stream with short blocks runs beside it and StreamSplicer joins it in without a
 *   gap (a fresh stream delivers nothing for its first ~0.25 s, so switching streams would lose audio).
 * - one stream of short blocks, read in ~idleMs batches while idle (other host APIs, or idleMs 0).
 * closeOnError is off: an input overflow is not fatal, and a dead device raises no error anyway
 * (the parent's watchdog sees the silence).
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { StreamSplicer } from './splice.js';

export type ToChild =
  /** source: the sound server's source to record (PULSE_SOURCE, read by the ALSA pulse plugin when the stream opens) */
  | { type: 'open'; id: number; rates: number[]; blockMs: number; idleMs: number; twoStreams: boolean; maxQueue: number; source?: string }
  | { type: 'live'; on: boolean }
  | { type: 'stop' };

export type FromChild =
  | { type: 'devices'; devices: RawDevice[]; defaultInput: number }
  | { type: 'opened'; rate: number; twoStreams: boolean }
  | { type: 'failed'; message: string }
  | { type: 'data'; pcm: Uint8Array }
  | { type: 'note'; message: string };

export interface RawDevice {
  id: number;
  name: string;
  hostApi: string;
  maxInputChannels: number;
  defaultSampleRate: number;
}

interface NativeStream {
  start(): void;
  read(bytes: number): Promise<{ err?: string; finished?: boolean; buf: Buffer }>;
  quit(how: 'WAIT' | 'ABORT'): Promise<void>;
}

interface Naudiodon {
  getHostAPIs(): { defaultHostAPI: number; HostAPIs: Array<{ defaultInput: number }> };
  getDevices(): Array<{ id: number; name: string; hostAPIName: string; maxInputChannels: number; defaultSampleRate: number }>;
  create(o: { inOptions: Record<string, unknown> }): NativeStream;
}

const send = (m: FromChild, then: () => void = () => {}): void => {
  process.send?.(m, then);
};

const oneLine = (e: unknown): string =>
  String((e as Error)?.message ?? e)
    .replace(/\s+/g, ' ')
    .slice(0, 600);

/** Reads one started stream until it finishes or is closed, handing each non-empty chunk on. */
class Reader {
  private closed = false;

  constructor(
    readonly io: NativeStream,
    private readonly bytes: () => number,
    private readonly onChunk: (b: Buffer) => void,
  ) {
    this.pump().catch((e) => send({ type: 'failed', message: `read: ${oneLine(e)}` }, () => process.exit(1)));
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      const r = await this.io.read(this.bytes());
      if (r.finished) return;
      if (r.err || this.closed) continue; // an overflow note; a dead device shows as silence to the watchdog
      if (r.buf.length) this.onChunk(r.buf);
    }
  }

  close(): Promise<void> {
    this.closed = true;
    return this.io.quit('ABORT').catch(() => undefined);
  }
}

class CaptureProcess {
  private main: Reader | undefined;
  private second: Reader | undefined;
  private splicer: StreamSplicer | undefined;
  private open: Extract<ToChild, { type: 'open' }> | undefined;
  private rate = 0;
  private live = false;
  private liveFailed = false;
  /** idle audio not yet sent: the parent is woken once a second while idle, at every block while live */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private batchBytes = 0;
  private sentAny = false;

  constructor(private readonly na: Naudiodon) {}

  list(): void {
    const apis = this.na.getHostAPIs();
    const api = apis.HostAPIs[apis.defaultHostAPI];
    send({
      type: 'devices',
      defaultInput: api && api.defaultInput < 2147483647 ? api.defaultInput : -1,
      devices: this.na.getDevices().map((d) => ({ id: d.id, name: d.name, hostApi: d.hostAPIName, maxInputChannels: d.maxInputChannels, defaultSampleRate: d.defaultSampleRate })),
    });
  }

  start(m: Extract<ToChild, { type: 'open' }>): void {
    if (m.source) process.env.PULSE_SOURCE = m.source;
    const twoStreams = m.twoStreams && m.idleMs > 0;
    const errors: string[] = [];
    for (const rate of m.rates) {
      const block = frames(rate, m.blockMs);
      const idle = frames(rate, m.idleMs || 250);
      let io: NativeStream;
      try {
        io = this.create(m, rate, twoStreams ? 0 : block, twoStreams ? idle : undefined);
      } catch (e) {
        errors.push(`${rate} Hz: ${oneLine(e)}`);
        continue;
      }
      this.open = m;
      this.rate = rate;
      send({ type: 'opened', rate, twoStreams });
      this.batchBytes = 2 * frames(rate, IDLE_SEND_MS);
      const data = (b: Buffer): void => this.deliver(b);
      if (twoStreams) {
        // A live stream out of place means a stream dropped samples (an overrun): worth a line in the log.
        const note = (what: string, detail: string): void => {
          if (what === 'misplaced') send({ type: 'note', message: `${detail}; placing it again` });
        };
        const splicer = new StreamSplicer({ emit: data, historySamples: rate * 3, note });
        this.splicer = splicer;
        this.main = new Reader(
          io,
          () => 2 * idle,
          (b) => splicer.idle(b),
        );
      } else {
        // Short blocks while live, ~idleMs batches otherwise (one read, one wake-up of this process).
        this.main = new Reader(io, () => 2 * (this.live ? block : Math.max(block, Math.round(idle / block) * block)), data);
      }
      return;
    }
    send({ type: 'failed', message: errors.join('; ') });
  }

  private deliver(b: Buffer): void {
    this.held.push(b);
    this.heldBytes += b.length;
    // The first audio at once: the parent's openCapture waits for it.
    if (this.live || this.heldBytes >= this.batchBytes || !this.sentAny) this.flush();
  }

  private flush(): void {
    if (this.held.length === 0) return;
    this.sentAny = true;
    send({ type: 'data', pcm: this.held.length === 1 ? (this.held[0] as Buffer) : Buffer.concat(this.held) });
    this.held = [];
    this.heldBytes = 0;
  }

  /** Live on: the short-block stream joins (two-stream mode); off: it is closed, the idle one carries on. */
  setLive(on: boolean): void {
    this.live = on;
    if (on) this.flush();
    const m = this.open;
    const splicer = this.splicer;
    if (!m || !splicer) return;
    if (on && !this.second && !this.liveFailed) {
      let io: NativeStream;
      try {
        io = this.create(m, this.rate, frames(this.rate, m.blockMs));
      } catch (e) {
        this.liveFailed = true;
        send({
          type: 'note',
          message: `a second, low-latency stream could not be opened on this device (${oneLine(e)}): utterances end up to ${m.idleMs} ms later; audio.idlePeriodMs 0 uses one low-latency stream instead`,
        });
        return;
      }
      splicer.attachLive();
      this.second = new Reader(
        io,
        () => 2 * frames(this.rate, m.blockMs),
        (b) => splicer.live(b),
      );
    } else if (!on && this.second) {
      splicer.detachLive();
      void this.second.close();
      this.second = undefined;
    }
  }

  stop(): void {
    setTimeout(() => process.exit(0), 1000).unref();
    Promise.all([this.second?.close(), this.main?.close()]).then(
      () => process.exit(0),
      () => process.exit(0),
    );
  }

  private create(m: Extract<ToChild, { type: 'open' }>, rate: number, framesPerBuffer: number, periodFrames?: number): NativeStream {
    // PortAudio reads PA_ALSA_PERIODSIZE when it opens a stream whose block size is left open (0).
    if (periodFrames) process.env.PA_ALSA_PERIODSIZE = String(periodFrames);
    else delete process.env.PA_ALSA_PERIODSIZE;
    const io = this.na.create({
      inOptions: { deviceId: m.id, channelCount: 1, sampleFormat: 16, sampleRate: rate, framesPerBuffer, maxQueue: m.maxQueue, closeOnError: false },
    });
    io.start();
    return io;
  }
}

/** While idle, audio goes to the parent in batches of about this much. */
const IDLE_SEND_MS = 1000;

function frames(rate: number, ms: number): number {
  return Math.max(1, Math.round((rate * ms) / 1000));
}

function main(): void {
  const naudiodonPath = process.argv[2] as string;
  let na: Naudiodon;
  try {
    const bindings = createRequire(naudiodonPath)('bindings') as (o: { bindings: string; module_root: string }) => Naudiodon;
    na = bindings({ bindings: 'naudiodon.node', module_root: dirname(naudiodonPath) });
  } catch (e) {
    send({ type: 'failed', message: oneLine(e) }, () => process.exit(1));
    return;
  }
  const capture = new CaptureProcess(na);
  capture.list();
  process.on('message', (m: ToChild) => {
    if (m.type === 'open') capture.start(m);
    else if (m.type === 'live') capture.setLive(m.on);
    else capture.stop();
  });
  process.on('disconnect', () => process.exit(0));
}

main();
