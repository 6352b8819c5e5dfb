/** A client of the service: many requests over one connection, each cancellable, results matched by id. */
import { connect, type Socket } from 'node:net';
import { checkPcmShape, MAX_AUDIO_SECONDS } from '../audio/check.js';
import { AbortError, isErrorCode, WhisperError } from '../errors.js';
import type { Segment, Transcript } from '../model.js';
import { checkSocketOwner } from './home.js';
import type { Health, Welcome, WireError, WireTranscribeOptions } from './messages.js';
import { audioPayload, encodeFrame, type Frame, FrameDecoder, FrameType, PROTOCOL_VERSION } from './protocol.js';

export interface ClientTranscribeOptions extends Omit<WireTranscribeOptions, 'stream'> {
  signal?: AbortSignal;
  onSegment?: (segment: Segment) => void;
}

interface Pending {
  resolve: (json: unknown) => void;
  reject: (e: Error) => void;
  onSegment?: (s: Segment) => void;
  expect: FrameType;
}

/** A wire error as the caller's error: AbortError for ABORTED; a code not in the table is a PROTOCOL error. */
export function errorFromWire(e: WireError): Error {
  if (e.code === 'ABORTED') return new AbortError(e.message);
  if (!isErrorCode(e.code)) return new WhisperError('PROTOCOL', `the service answered with an unknown error code "${String(e.code)}": ${e.message}`);
  return new WhisperError(e.code, e.message);
}

export class ServiceClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedError: Error | undefined;
  welcome!: Welcome;

  private constructor(private readonly socket: Socket) {
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        socket.destroy(e as Error);
        return;
      }
      for (const f of frames) this.receive(f);
    });
    socket.on('error', (e) => {
      this.closedError ??= new WhisperError('SERVICE_UNAVAILABLE', `the service connection failed: ${e.message}`);
    });
    socket.on('close', () => {
      const err = this.closedError ?? new WhisperError('SERVICE_UNAVAILABLE', 'the service closed the connection');
      this.closedError = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  /**
   * Connects and shakes hands; rejects with SERVICE_UNAVAILABLE when nothing answers in time, and
   * before sending a byte when the socket (or the per-user folder it is in) is not ours.
   */
  static async connect(socketPath: string, timeoutMs = 2000): Promise<ServiceClient> {
    await checkSocketOwner(socketPath);
    const socket = connect(socketPath);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new WhisperError('SERVICE_UNAVAILABLE', `no service answered on ${socketPath} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new WhisperError('SERVICE_UNAVAILABLE', `no service on ${socketPath} (${(e as NodeJS.ErrnoException).code ?? e.message})`));
      });
    });
    const client = new ServiceClient(socket);
    // A stopped (SIGSTOP) or wedged daemon still accepts connections in the kernel: only its answer
    // to the handshake says it is alive.
    const handshakeMs = Math.max(timeoutMs, 2000);
    client.welcome = (await client
      .within(
        client.request(FrameType.Hello, FrameType.Welcome, { protocol: PROTOCOL_VERSION, pid: process.pid }),
        handshakeMs,
        `the service on ${socketPath} did not answer within ${handshakeMs} ms (stopped or hung?)`,
      )
      .catch((e: unknown) => {
        client.close();
        throw e;
      })) as Welcome;
    if (client.welcome.protocol !== PROTOCOL_VERSION) {
      client.close();
      throw new WhisperError('PROTOCOL', `the service speaks protocol ${client.welcome.protocol}, this client ${PROTOCOL_VERSION}`);
    }
    return client;
  }

  transcribe(pcm: Float32Array, options: ClientTranscribeOptions = {}): Promise<Transcript> {
    const { signal, onSegment, ...wire } = options;
    if (signal?.aborted) return Promise.reject(new AbortError());
    try {
      // the service's own limits, before a byte is sent: BAD_AUDIO, never a broken pipe (the
      // samples themselves are checked once, by the model in the service)
      checkPcmShape(pcm, MAX_AUDIO_SECONDS);
    } catch (e) {
      return Promise.reject(e);
    }
    const id = this.nextId++;
    const result = this.request(FrameType.Transcribe, FrameType.Result, { ...wire, stream: !!onSegment }, audioPayload(pcm), id, onSegment);
    if (signal) {
      const cancel = (): void => {
        if (!this.socket.destroyed) this.socket.write(encodeFrame(FrameType.Cancel, id));
      };
      signal.addEventListener('abort', cancel, { once: true });
      void result.finally(() => signal.removeEventListener('abort', cancel)).catch(() => undefined);
    }
    return result as Promise<Transcript>;
  }

  health(timeoutMs = 1000): Promise<Health> {
    return this.within(this.request(FrameType.Health, FrameType.HealthOk), timeoutMs, `the service did not answer a health check within ${timeoutMs} ms`) as Promise<Health>;
  }

  /** A control action (toggle … retry: a retry transcribes again, hence the long default). */
  control(request: Record<string, unknown>, timeoutMs = 120_000): Promise<Record<string, unknown>> {
    return this.within(this.request(FrameType.Control, FrameType.ControlOk, request), timeoutMs, `the service did not answer within ${timeoutMs} ms`) as Promise<
      Record<string, unknown>
    >;
  }

  status(timeoutMs = 5000): Promise<Record<string, unknown>> {
    return this.within(this.request(FrameType.Status, FrameType.StatusOk), timeoutMs, `the service did not report its status within ${timeoutMs} ms`) as Promise<
      Record<string, unknown>
    >;
  }

  /** `reply`, or SERVICE_UNAVAILABLE after `ms`: a hung service never hangs its caller. */
  private within<T>(reply: Promise<T>, ms: number, message: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WhisperError('SERVICE_UNAVAILABLE', message)), ms);
    });
    return Promise.race([reply, deadline]).finally(() => clearTimeout(timer));
  }

  /** false once the connection has dropped or been closed: every request on it would fail at once */
  get connected(): boolean {
    return this.closedError === undefined;
  }

  close(): void {
    this.closedError ??= new WhisperError('CLOSED', 'the client was closed');
    this.socket.end();
    this.socket.destroySoon();
  }

  private request(type: FrameType, expect: FrameType, json: unknown = {}, payload?: Uint8Array, id = this.nextId++, onSegment?: (s: Segment) => void): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onSegment, expect });
      this.socket.write(encodeFrame(type, id, json, payload));
    });
  }

  private receive(f: Frame): void {
    if (f.type === FrameType.Error && f.id === 0) {
      this.closedError = errorFromWire(f.json as WireError);
      return;
    }
    const p = this.pending.get(f.id);
    if (!p) return;
    if (f.type === FrameType.Segment) {
      p.onSegment?.(f.json as Segment);
      return;
    }
    this.pending.delete(f.id);
    if (f.type === FrameType.Error) p.reject(errorFromWire(f.json as WireError));
    else if (f.type === p.expect) p.resolve(f.json);
    else p.reject(new WhisperError('PROTOCOL', `expected ${FrameType[p.expect]}, got ${FrameType[f.type]}`));
  }
}
