/**
 * The service's socket server: every client shares one warm model's state pool. Requests queue
 * fairly (FIFO, bounded); a client can cancel its own requests; a client that disconnects has its
 * requests aborted; a client that sends a malformed frame is disconnected — nothing else is affected.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { ServedEngine } from '../engine/contract.js';
import { isErrorCode, WhisperError } from '../errors.js';
import { type Health, type Welcome, type WireError, wireOptions } from './messages.js';
import { encodeFrame, type Frame, FrameDecoder, FrameType, PROTOCOL_VERSION, ProtocolError, payloadAudio } from './protocol.js';

/** What the server serves: a warm WhisperModel, or the supervisor that forwards to one in a child process. */
/** More CONTROL actions and STATUS fields, from what runs next to the service (the dictation host). */
export interface ServiceExtension {
  /** handles a CONTROL request, or returns undefined to leave it to the engine */
  control(request: unknown): Promise<Record<string, unknown>> | undefined;
  status(): Record<string, unknown>;
}

export interface ServiceServerOptions {
  socketPath: string;
  model: ServedEngine;
  /** requests allowed to wait beyond the busy states (default 64) */
  maxQueue?: number;
  maxFrame?: number;
  /** a frame begun and then not continued for this long closes the connection (default 30 s) */
  frameTimeoutMs?: number;
}

function wireError(e: unknown): WireError {
  const err = e as Error & { code?: string };
  return { code: err.name === 'AbortError' ? 'ABORTED' : isErrorCode(err.code) ? err.code : 'TRANSCRIBE_FAILED', message: err.message ?? String(e) };
}

/** True when something answers on the socket (another service is running there). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

export class ServiceServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly started = Date.now();
  private readonly maxQueue: number;
  /** transcriptions accepted and not yet answered, over every connection */
  private active = 0;
  private extension: ServiceExtension | undefined;

  private constructor(
    private readonly options: ServiceServerOptions,
    server: Server,
  ) {
    this.server = server;
    this.maxQueue = options.maxQueue ?? 64;
  }

  extend(extension: ServiceExtension | undefined): void {
    this.extension = extension;
  }

  static async listen(options: ServiceServerOptions): Promise<ServiceServer> {
    const { socketPath } = options;
    if (process.platform !== 'win32') {
      await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
      if (await answers(socketPath)) throw new WhisperError('SERVICE_UNAVAILABLE', `another prism-dictate service is already running on ${socketPath}`);
      await rm(socketPath, { force: true }); // a stale socket from a crashed service
    }
    const server = createServer();
    const self = new ServiceServer(options, server);
    server.on('connection', (socket) => self.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    if (process.platform !== 'win32') await chmod(socketPath, 0o600);
    return self;
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  /** Stops accepting, disconnects every client (their requests are aborted), removes the socket. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
    if (process.platform !== 'win32') await rm(this.options.socketPath, { force: true });
  }

  health(): Health {
    const { model } = this.options;
    return { ok: true, pid: process.pid, uptimeMs: Date.now() - this.started, backend: model.info.backend, busy: model.busy, queued: model.queued };
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const decoder = new FrameDecoder(this.options.maxFrame);
    const inFlight = new Map<number, AbortController>();
    const send = (type: FrameType, id: number, json?: unknown): void => {
      if (!socket.destroyed) socket.write(encodeFrame(type, id, json));
    };
    const refuse = (e: unknown): void => {
      send(FrameType.Error, 0, wireError(e));
      socket.end();
      socket.destroySoon();
    };
    // a length prefix and then silence would hold the socket (and what came of the frame) forever
    const frameTimeoutMs = this.options.frameTimeoutMs ?? 30_000;
    let stalled: NodeJS.Timeout | undefined;
    socket.on('data', (chunk: Buffer) => {
      clearTimeout(stalled);
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        refuse(e);
        return;
      }
      if (decoder.partial > 0)
        stalled = setTimeout(
          () => refuse(new ProtocolError(`a frame stopped arriving: no data for ${frameTimeoutMs} ms with ${decoder.partial} bytes of it received`)),
          frameTimeoutMs,
        );
      for (const f of frames) this.handle(f, send, inFlight);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(stalled);
      this.sockets.delete(socket);
      for (const c of inFlight.values()) c.abort(new Error('client disconnected'));
    });
  }

  private handle(f: Frame, send: (type: FrameType, id: number, json?: unknown) => void, inFlight: Map<number, AbortController>): void {
    const { model } = this.options;
    switch (f.type) {
      case FrameType.Hello: {
        const welcome: Welcome = { protocol: PROTOCOL_VERSION, pid: process.pid, backend: model.info.backend, model: model.info.path, states: model.info.states };
        send(FrameType.Welcome, f.id, welcome);
        return;
      }
      case FrameType.Health:
        send(FrameType.HealthOk, f.id, this.health());
        return;
      case FrameType.Status:
        send(FrameType.StatusOk, f.id, { ...this.health(), model: model.info, ...model.status?.(), ...this.extension?.status() });
        return;
      case FrameType.Cancel:
        inFlight.get(f.id)?.abort(new Error('cancelled by the client'));
        return;
      case FrameType.Transcribe:
        void this.transcribe(f, send, inFlight);
        return;
      case FrameType.Control: {
        const handled = this.extension?.control(f.json) ?? model.control?.(f.json);
        if (!handled) send(FrameType.Error, f.id, { code: 'BAD_ARGUMENT', message: 'this service takes no control requests' });
        else
          handled.then(
            (status) => send(FrameType.ControlOk, f.id, status),
            (e: unknown) => send(FrameType.Error, f.id, wireError(e)),
          );
        return;
      }
      default:
        send(FrameType.Error, f.id, { code: 'PROTOCOL', message: `a client may not send frame type ${FrameType[f.type]}` });
    }
  }

  private async transcribe(f: Frame, send: (type: FrameType, id: number, json?: unknown) => void, inFlight: Map<number, AbortController>): Promise<void> {
    const { model } = this.options;
    if (inFlight.has(f.id)) {
      send(FrameType.Error, f.id, { code: 'PROTOCOL', message: `request ${f.id} is already in flight on this connection` });
      return;
    }
    const options = wireOptions(f.json);
    // the queue limit holds back batch work; a person waiting on a dictation is never refused for it
    if (options.priority === 'batch' && this.active >= model.info.states + this.maxQueue) {
      send(FrameType.Error, f.id, { code: 'QUEUE_FULL', message: `the service queue is full (${this.maxQueue} waiting); try again shortly` });
      return;
    }
    const controller = new AbortController();
    inFlight.set(f.id, controller);
    this.active++;
    try {
      const pcm = payloadAudio(f.payload);
      const result = await model.transcribe(pcm, {
        ...options,
        signal: controller.signal,
        onSegment: options.stream ? (s) => send(FrameType.Segment, f.id, s) : undefined,
      });
      send(FrameType.Result, f.id, result);
    } catch (e) {
      send(FrameType.Error, f.id, wireError(e));
    } finally {
      inFlight.delete(f.id);
      this.active--;
    }
  }
}
