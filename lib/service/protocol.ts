/**
 * The service's wire format, version 1: length-prefixed binary frames over a local socket.
 *
 *   u32 LE  length of everything after this field
 *   u8      protocol version (1)
 *   u8      frame type
 *   u32 LE  request id (0 for connection-level frames)
 *   u32 LE  length of the JSON part
 *   …       JSON (UTF-8): options, results, events, errors
 *   …       binary payload: audio as raw little-endian float32 samples (TRANSCRIBE only)
 *
 * Audio never travels as base64 or JSON numbers. A frame larger than the limit, of an unknown
 * version or type, or with a JSON part that does not parse is a ProtocolError: the connection that
 * sent it is closed, and nothing else is affected.
 */
import { MAX_AUDIO_SECONDS } from '../audio/check.js';
import { WHISPER_RATE } from '../audio/resample.js';
import { WhisperError } from '../errors.js';

export const PROTOCOL_VERSION = 1;
const HEADER = 4 + 1 + 1 + 4 + 4;
/** An hour of 16 kHz float audio (MAX_AUDIO_SECONDS, the library's limit too) and 1 MiB for the rest. */
export const DEFAULT_MAX_FRAME = MAX_AUDIO_SECONDS * WHISPER_RATE * 4 + (1 << 20);

export enum FrameType {
  Hello = 1,
  Welcome = 2,
  Transcribe = 3,
  Cancel = 4,
  Health = 5,
  HealthOk = 6,
  Status = 7,
  StatusOk = 8,
  Segment = 9,
  Result = 10,
  Error = 11,
  /** a request to the service itself, e.g. { action: 'switch', to: 'primary' } */
  Control = 12,
  ControlOk = 13,
}

export interface Frame {
  type: FrameType;
  id: number;
  json: unknown;
  /** raw payload bytes (aligned copy when non-empty) */
  payload: Uint8Array;
}

export class ProtocolError extends WhisperError {
  constructor(message: string) {
    super('PROTOCOL', message);
  }
}

export function encodeFrame(type: FrameType, id: number, json: unknown = {}, payload?: ArrayBufferView): Buffer {
  const body = Buffer.from(JSON.stringify(json ?? {}), 'utf8');
  const extra = payload ? payload.byteLength : 0;
  const out = Buffer.allocUnsafe(HEADER + body.length + extra);
  out.writeUInt32LE(HEADER - 4 + body.length + extra, 0);
  out.writeUInt8(PROTOCOL_VERSION, 4);
  out.writeUInt8(type, 5);
  out.writeUInt32LE(id >>> 0, 6);
  out.writeUInt32LE(body.length, 10);
  body.copy(out, HEADER);
  if (payload) out.set(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), HEADER + body.length);
  return out;
}

/** Float32 samples as little-endian bytes (a view, no copy, on little-endian machines). */
export function audioPayload(pcm: Float32Array): Uint8Array {
  return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
}

/** Payload bytes back to samples; copies into an aligned buffer (frames are sliced from a stream). */
export function payloadAudio(payload: Uint8Array): Float32Array {
  if (payload.byteLength % 4 !== 0) throw new ProtocolError(`audio payload of ${payload.byteLength} bytes is not whole float32 samples`);
  const pcm = new Float32Array(payload.byteLength / 4);
  new Uint8Array(pcm.buffer).set(payload);
  return pcm;
}

/** Incremental decoder: feed socket chunks, get whole frames. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrame = DEFAULT_MAX_FRAME) {}

  /** bytes of a frame begun but not complete */
  get partial(): number {
    return this.buffered;
  }

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const length = head.readUInt32LE(0);
      if (length > this.maxFrame) throw new ProtocolError(`frame of ${length} bytes exceeds the ${this.maxFrame}-byte limit`);
      if (length < HEADER - 4) throw new ProtocolError(`frame of ${length} bytes is shorter than its header`);
      if (this.buffered < 4 + length) break;
      frames.push(this.parse(this.take(4 + length)));
    }
    return frames;
  }

  private peek(n: number): Buffer {
    if ((this.chunks[0]?.length ?? 0) < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] as Buffer;
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.buffered -= n;
    return all.subarray(0, n);
  }

  private parse(frame: Buffer): Frame {
    const version = frame.readUInt8(4);
    if (version !== PROTOCOL_VERSION) throw new ProtocolError(`protocol version ${version} is not supported (this side speaks ${PROTOCOL_VERSION})`);
    const type = frame.readUInt8(5) as FrameType;
    if (!(type in FrameType)) throw new ProtocolError(`unknown frame type ${type}`);
    const id = frame.readUInt32LE(6);
    const jsonLength = frame.readUInt32LE(10);
    if (HEADER + jsonLength > frame.length) throw new ProtocolError(`JSON part of ${jsonLength} bytes overruns its frame`);
    let json: unknown;
    try {
      json = JSON.parse(frame.toString('utf8', HEADER, HEADER + jsonLength));
    } catch {
      throw new ProtocolError('frame JSON does not parse');
    }
    return { type, id, json, payload: frame.subarray(HEADER + jsonLength) };
  }
}
