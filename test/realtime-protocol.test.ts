/** The Realtime session's settings (GA and beta shapes) and its audio formats, without a socket. */
import { describe, expect, it } from 'vitest';
import { base64Bytes, decodeSamples } from '../lib/web/realtime/audio.js';
import { applyUpdate, betaSessionJson, defaultConfig, RealtimeError, sessionJson } from '../lib/web/realtime/protocol.js';

const refusal = (f: () => unknown): { code: string; param: string | null } | undefined => {
  try {
    f();
  } catch (e) {
    if (e instanceof RealtimeError) return { code: e.code, param: e.param };
    throw e;
  }
  return undefined;
};

describe('session settings', () => {
  const base = defaultConfig('en');

  it("OpenAI's defaults: pcm16 at 24 kHz, server VAD with 500 ms of silence and 300 ms of prefix", () => {
    expect(base).toEqual({
      format: { type: 'audio/pcm', rate: 24000 },
      model: 'whisper-1',
      language: 'en',
      turn: { type: 'server_vad', silenceMs: 500, prefixMs: 300, threshold: 0.5 },
    });
    expect(sessionJson('sess_1', base)).toMatchObject({
      type: 'transcription',
      audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: { silence_duration_ms: 500 } } },
    });
  });

  it('the GA session.update: only the fields present change; turn_detection null turns the VAD off', () => {
    const c = applyUpdate(base, 'session.update', {
      type: 'transcription',
      audio: { input: { transcription: { model: 'gpt-4o-transcribe', language: 'German', prompt: 'Prism' }, turn_detection: { type: 'server_vad', silence_duration_ms: 800 } } },
    });
    expect(c).toEqual({
      format: { type: 'audio/pcm', rate: 24000 },
      model: 'gpt-4o-transcribe',
      language: 'de',
      prompt: 'Prism',
      turn: { type: 'server_vad', silenceMs: 800, prefixMs: 300, threshold: 0.5 },
    });
    expect(applyUpdate(c, 'session.update', { type: 'transcription', audio: { input: { turn_detection: null } } }).turn).toBeNull();
    expect(applyUpdate(c, 'session.update', { audio: { input: { format: { type: 'audio/pcmu' } } } }).format).toEqual({ type: 'audio/pcmu' });
    expect(base.turn?.silenceMs).toBe(500); // not changed in place
  });

  it('the beta transcription_session.update shape, answered in its own shape', () => {
    const c = applyUpdate(base, 'transcription_session.update', {
      input_audio_format: 'g711_alaw',
      input_audio_transcription: { model: 'whisper-1', language: 'fr' },
      turn_detection: { type: 'server_vad', prefix_padding_ms: 100 },
    });
    expect(c.format).toEqual({ type: 'audio/pcma' });
    expect(c.turn?.prefixMs).toBe(100);
    expect(betaSessionJson('sess_1', c)).toMatchObject({
      input_audio_format: 'g711_alaw',
      input_audio_transcription: { language: 'fr' },
      turn_detection: { prefix_padding_ms: 100 },
    });
  });

  it('bad settings are refused naming the field', () => {
    expect(refusal(() => applyUpdate(base, 'session.update', { type: 'realtime' }))).toEqual({ code: 'unsupported_session_type', param: 'session.type' });
    expect(refusal(() => applyUpdate(base, 'session.update', undefined))).toEqual({ code: 'missing_required_parameter', param: 'session' });
    expect(refusal(() => applyUpdate(base, 'session.update', { audio: { input: { format: { type: 'audio/pcm', rate: 4000 } } } }))).toEqual({
      code: 'invalid_value',
      param: 'session.audio.input.format.rate',
    });
    expect(refusal(() => applyUpdate(base, 'session.update', { audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 20 } } } }))).toEqual({
      code: 'invalid_value',
      param: 'session.audio.input.turn_detection.silence_duration_ms',
    });
    expect(refusal(() => applyUpdate(base, 'session.update', { audio: { input: { transcription: { language: 'klingon!' } } } }))?.param).toBe(
      'session.audio.input.transcription.language',
    );
    expect(refusal(() => applyUpdate(base, 'transcription_session.update', { input_audio_format: 'opus' }))?.param).toBe('session.input_audio_format');
  });
});

describe('audio', () => {
  it('PCM16 little-endian, and G.711 μ-law and A-law as the ITU tables give them', () => {
    expect([...decodeSamples(Buffer.from([0x00, 0x80, 0xff, 0x7f, 0x00, 0x00, 0x01]), { type: 'audio/pcm', rate: 24000 })]).toEqual([-1, 32767 / 32768, 0]);
    expect([...decodeSamples(Buffer.from([0x00, 0x80, 0xff, 0x7f]), { type: 'audio/pcmu' })].map((x) => x * 32768)).toEqual([-32124, 32124, 0, 0]);
    expect([...decodeSamples(Buffer.from([0x55, 0xd5, 0xaa, 0x2a]), { type: 'audio/pcma' })].map((x) => x * 32768)).toEqual([-8, 8, 32256, -32256]);
  });

  it('base64, and what is not', () => {
    expect(base64Bytes(Buffer.from('hello').toString('base64'))?.toString()).toBe('hello');
    expect(base64Bytes('')?.length).toBe(0);
    expect(base64Bytes('***')).toBeUndefined();
    expect(base64Bytes('abcde')).toBeUndefined();
  });
});
