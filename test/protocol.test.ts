import { describe, expect, it } from 'vitest';
import { audioPayload, encodeFrame, FrameDecoder, FrameType, payloadAudio } from '../lib/service/protocol.js';

describe('frames', () => {
  it('round-trip JSON and raw float32 audio, however the bytes are chunked', () => {
    const pcm = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 0.5);
    const bytes = Buffer.concat([encodeFrame(FrameType.Transcribe, 7, { language: 'en' }, audioPayload(pcm)), encodeFrame(FrameType.Health, 8)]);
    const decoder = new FrameDecoder();
    const frames = [];
    for (let i = 0; i < bytes.length; i += 13) frames.push(...decoder.push(bytes.subarray(i, i + 13)));
    expect(frames.map((f) => [f.type, f.id])).toEqual([
      [FrameType.Transcribe, 7],
      [FrameType.Health, 8],
    ]);
    expect(frames[0]?.json).toEqual({ language: 'en' });
    expect(payloadAudio(frames[0]?.payload as Uint8Array)).toEqual(pcm);
    // 4 bytes per sample on the wire, plus a small header: no base64, no JSON numbers
    expect(bytes.length).toBeLessThan(pcm.length * 4 + 100);
  });

  it("by default takes a frame of an hour of audio (the library's limit) and refuses more", () => {
    const header = (bytes: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(bytes);
      return b;
    };
    const hour = 3600 * 16000 * 4;
    expect(new FrameDecoder().push(header(hour + 200))).toEqual([]); // waits for the rest
    expect(() => new FrameDecoder().push(header(hour + (2 << 20)))).toThrow(/exceeds/);
  });

  it('rejects oversized, short, foreign-version, unknown-type and broken-JSON frames', () => {
    const big = Buffer.alloc(4);
    big.writeUInt32LE(1 << 30);
    expect(() => new FrameDecoder(1 << 20).push(big)).toThrow(/exceeds/);
    const short = Buffer.alloc(8);
    short.writeUInt32LE(2);
    expect(() => new FrameDecoder().push(short)).toThrow(/shorter than its header/);
    const v2 = encodeFrame(FrameType.Health, 1);
    v2.writeUInt8(2, 4);
    expect(() => new FrameDecoder().push(v2)).toThrow(/version 2/);
    const unknown = encodeFrame(FrameType.Health, 1);
    unknown.writeUInt8(99, 5);
    expect(() => new FrameDecoder().push(unknown)).toThrow(/unknown frame type 99/);
    const json = encodeFrame(FrameType.Health, 1, { a: 1 });
    json.write('{', 14);
    json.write('#', 15);
    expect(() => new FrameDecoder().push(json)).toThrow(/does not parse/);
    expect(() => payloadAudio(new Uint8Array(6))).toThrow(/whole float32/);
    try {
      new FrameDecoder().push(unknown);
    } catch (e) {
      expect(e).toMatchObject({ code: 'PROTOCOL' });
    }
  });
});
