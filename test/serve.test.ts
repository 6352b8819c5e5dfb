/** The OpenAI-compatible API on a real warm model, over real loopback HTTP: formats, the official client, bad uploads, auth. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../lib/audio/wav.js';
import { loadModel, readAudio, type Transcript, type WhisperModel } from '../lib/index.js';
import { listenApi, type RunningApi } from '../lib/web/api.js';
import { ffmpegInstalled, JFK, models, SCRIPT_25 } from './helpers.js';

const TOKEN = 'test-token-0123456789';
const hasFfmpeg = ffmpegInstalled();
let model: WhisperModel;
let api: RunningApi;
let small: RunningApi;
let jfk: Float32Array;
let jfkWav: Buffer;
let local: Transcript;

function form(bytes: Uint8Array, fields: Record<string, string> = {}, filename = 'audio.wav'): FormData {
  const f = new FormData();
  f.append('file', new Blob([bytes]), filename);
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

function post(base: string, body: FormData | string, o: { token?: string | null; path?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const token = o.token === undefined ? TOKEN : o.token;
  return fetch(`${base}${o.path ?? '/v1/audio/transcriptions'}`, { method: 'POST', body, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...o.headers } });
}

async function apiError(r: Response): Promise<{ status: number; error: { message: string; type: string; param: string | null; code: string | null } }> {
  return { status: r.status, ...((await r.json()) as { error: { message: string; type: string; param: string | null; code: string | null } }) };
}

beforeAll(async () => {
  jfk = await readAudio(JFK);
  jfkWav = await readFile(JFK);
  model = await loadModel(models().tiny, { gpu: 'cpu', states: 2 });
  const health = () => ({ state: 'ready', backend: model.info.backend, model: model.info.path });
  api = await listenApi({ engine: model, health, token: TOKEN, port: 0 });
  small = await listenApi({ engine: model, health, port: 0, maxBytes: 1024 * 1024, maxSeconds: 5, uploadStallMs: 300 });
  local = await model.transcribe(jfk, { audioCtx: 'auto' });
});

afterAll(async () => {
  await api?.close();
  await small?.close();
  await model?.close();
});

describe('response formats', () => {
  it('the local transcript the answers are checked against', () => {
    expect(local.text).toBe(SCRIPT_25);
    expect(local.audioMs).toBe(11_000);
    expect(local.segments).toEqual([{ t0Ms: 0, t1Ms: 11_000, text: SCRIPT_25 }]);
  });

  it('json (the default) is {"text"}', async () => {
    const r = await post(api.url, form(jfkWav, { model: 'whisper-1' }));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.headers.get('x-prism-backend')).toBe('cpu');
    expect(await r.json()).toEqual({ text: SCRIPT_25 });
  });

  it('text is the text and a newline', async () => {
    const r = await post(api.url, form(jfkWav, { response_format: 'text' }));
    expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await r.text()).toBe(`${SCRIPT_25}\n`);
  });

  it("verbose_json has OpenAI's fields, its duration from the engine", async () => {
    const r = await post(api.url, form(jfkWav, { response_format: 'verbose_json', language: 'en', temperature: '0' }));
    const v = (await r.json()) as Record<string, unknown> & { segments: Array<Record<string, unknown>> };
    expect(v).toEqual({
      task: 'transcribe',
      language: 'english',
      duration: 11,
      text: SCRIPT_25,
      segments: [
        {
          id: 0,
          seek: 0,
          start: 0,
          end: 11,
          text: ` ${SCRIPT_25}`,
          tokens: [],
          temperature: 0,
          avg_logprob: 0,
          compression_ratio: v.segments[0]?.compression_ratio,
          no_speech_prob: 0,
        },
      ],
    });
    expect(v.segments[0]?.compression_ratio).toBeGreaterThan(1);
    expect(v.segments[0]?.compression_ratio).toBeLessThan(2.4);
  });

  it('a 3.3 s clip reports 3.3 s', async () => {
    const r = await post(api.url, form(encodeWav(jfk.subarray(0, 52_800)), { response_format: 'verbose_json' }));
    expect(((await r.json()) as { duration: number }).duration).toBe(3.3);
  });

  it('srt and vtt carry the segment timestamps', async () => {
    const srt = await post(api.url, form(jfkWav, { response_format: 'srt' }));
    expect(await srt.text()).toBe(`1\n00:00:00,000 --> 00:00:11,000\n${SCRIPT_25}\n\n`);
    const vtt = await post(api.url, form(jfkWav, { response_format: 'vtt' }));
    expect(vtt.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
    expect(await vtt.text()).toBe(`WEBVTT\n\n00:00:00.000 --> 00:00:11.000\n${SCRIPT_25}\n\n`);
  });

  it('translations answer on their own endpoint with task translate', async () => {
    const r = await post(api.url, form(jfkWav, { response_format: 'verbose_json' }), { path: '/v1/audio/translations' });
    expect(await r.json()).toMatchObject({ task: 'translate', duration: 11, text: SCRIPT_25 });
  });
});

describe('the official openai client', () => {
  const client = () => new OpenAI({ baseURL: `${api.url}/v1`, apiKey: TOKEN, maxRetries: 0 });

  it('gets the text model.transcribe() gets', async () => {
    const t = await client().audio.transcriptions.create({ file: await toFile(jfkWav, 'jfk.wav'), model: 'whisper-1' });
    expect(t.text).toBe(local.text);
  });

  it('reads verbose_json and text', async () => {
    const v = await client().audio.transcriptions.create({ file: await toFile(jfkWav, 'jfk.wav'), model: 'whisper-1', response_format: 'verbose_json' });
    expect(v).toMatchObject({ duration: 11, language: 'english', text: SCRIPT_25 });
    expect(v.segments?.map((s) => [s.start, s.end, s.text])).toEqual([[0, 11, ` ${SCRIPT_25}`]]);
    const text = await client().audio.transcriptions.create({ file: await toFile(jfkWav, 'jfk.wav'), model: 'whisper-1', response_format: 'text' });
    expect(text).toBe(`${SCRIPT_25}\n`);
  });

  it('sees a wrong key as an AuthenticationError', async () => {
    const bad = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    const e = await bad.audio.transcriptions.create({ file: await toFile(jfkWav, 'jfk.wav'), model: 'whisper-1' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((e as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    expect((e as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
  });

  it('lists models', async () => {
    const list = await client().models.list();
    expect(list.data.map((m) => m.id)).toEqual(['whisper-1', basename(models().tiny)]);
  });
});

describe.skipIf(!hasFfmpeg)('what browsers, phones and OpenAI clients send: MP3, Ogg Opus, FLAC, M4A, WebM', () => {
  const made: Record<string, Buffer> = {};
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-serve-formats-'));
    const args: Record<string, string[]> = {
      'jfk.mp3': ['-c:a', 'libmp3lame', '-b:a', '64k'],
      'jfk.ogg': ['-c:a', 'libopus', '-b:a', '32k'],
      'jfk.flac': ['-c:a', 'flac'],
      'jfk.m4a': ['-c:a', 'aac', '-b:a', '64k'],
      'jfk.webm': ['-c:a', 'libopus', '-b:a', '32k'],
    };
    for (const [file, a] of Object.entries(args)) {
      execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', JFK, ...a, join(dir, file)]);
      made[file] = readFileSync(join(dir, file));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['jfk.mp3', 'jfk.ogg', 'jfk.flac', 'jfk.m4a', 'jfk.webm'])('%s through the official openai client: the text of the WAV', async (file) => {
    const openai = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
    const t = await openai.audio.transcriptions.create({ file: await toFile(made[file] as Buffer, file), model: 'whisper-1' });
    expect(t.text).toBe(local.text);
  });

  it('a truncated FLAC or Ogg is refused as a truncated WAV is (issue 25, item 9): 400 saying so', async () => {
    const flac = made['jfk.flac'] as Buffer;
    const e = await apiError(await post(api.url, form(flac.subarray(0, Math.floor(flac.length * 0.6)), {}, 'jfk.flac')));
    expect(e).toMatchObject({ status: 400, error: { param: 'file', code: 'invalid_audio' } });
    expect(e.error.message).toBe("'jfk.flac' is a truncated FLAC: it ends before the end its headers give (an incomplete upload?)");
    const ogg = made['jfk.ogg'] as Buffer;
    const o = await apiError(await post(api.url, form(ogg.subarray(0, Math.floor(ogg.length * 0.6)), {}, 'jfk.ogg')));
    expect(o.error.message).toBe("'jfk.ogg' is a truncated Ogg: it ends before the end its headers give (an incomplete upload?)");
  });

  it("an HLS playlist sent as .m4a never makes ffmpeg read the server's files (issue 25, item 1): 400, nothing transcribed", async () => {
    const local = join(mkdtempSync(join(tmpdir(), 'prism-serve-hls-')), 'memo.wav');
    writeFileSync(local, jfkWav);
    const playlist = `#EXTM3U\n#\x7f\n#EXT-X-TARGETDURATION:11\n#EXTINF:11,\nfile://${local}\n#EXT-X-ENDLIST\n`;
    const r = await post(api.url, form(Buffer.from(playlist, 'latin1'), { response_format: 'verbose_json' }, 'memo.m4a'));
    const body = await r.text();
    rmSync(dirname(local), { recursive: true, force: true });
    expect([r.status, body]).toEqual([400, expect.stringContaining('unsupported_format')]);
  });

  it('the length limit applies to the decoded audio: an 11 s MP3 of 90 KB on a 5 s server is refused', async () => {
    const e = await apiError(await post(small.url, form(made['jfk.mp3'] as Buffer, {}, 'jfk.mp3'), { token: null }));
    expect(made['jfk.mp3']?.length).toBeLessThan(1024 * 1024);
    expect(e).toMatchObject({ status: 400, error: { code: 'audio_too_long', message: expect.stringMatching(/'jfk\.mp3' is longer than 5 s/) } });
  });
});

describe('bad requests get OpenAI-shaped errors', () => {
  it('a text file: 400, says it is text', async () => {
    const e = await apiError(await post(api.url, form(Buffer.from('hello, this is not audio\n'.repeat(10)), {}, 'notes.txt')));
    expect(e).toEqual({
      status: 400,
      error: {
        message: "'notes.txt' is text, not audio; send an audio file (WAV, MP3, Ogg, FLAC, M4A, WebM)",
        type: 'invalid_request_error',
        param: 'file',
        code: 'unsupported_format',
      },
    });
  });

  it('binary bytes in no container read here: 400 unsupported_format, naming the formats (issue 25, item 1)', async () => {
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 151 + 7) % 256));
    const e = await apiError(await post(api.url, form(junk, {}, 'blob.bin')));
    expect(e).toMatchObject({ status: 400, error: { param: 'file', code: 'unsupported_format' } });
    expect(e.error.message).toMatch(/^'blob\.bin' is not in a format read here: WAV, MP3, Ogg, FLAC/);
  });

  it('an MP3 header over garbage: 400, names MP3', async () => {
    const mp3 = Buffer.concat([Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'), Buffer.alloc(500, 0x55)]);
    const e = await apiError(await post(api.url, form(mp3, {}, 'talk.mp3')));
    expect(e.status).toBe(400);
    expect(e.error.code).toBe('invalid_audio');
    expect(e.error.message).toBe("'talk.mp3' looks like MP3 but holds no audio that decodes");
  });

  it('a truncated WAV: 400, says truncated', async () => {
    const e = await apiError(await post(api.url, form(jfkWav.subarray(0, jfkWav.length - 10_001))));
    expect(e.status).toBe(400);
    expect(e.error).toMatchObject({ param: 'file', code: 'invalid_audio' });
    expect(e.error.message).toBe("'audio.wav' is a truncated WAV: its data is shorter than its header says (an incomplete upload?)");
  });

  it('a WAV with an impossible sample rate: 400 naming it', async () => {
    const e = await apiError(await post(api.url, form(encodeWav(jfk.subarray(0, 16_000), 500))));
    expect(e.status).toBe(400);
    expect(e.error.message).toBe("'audio.wav': corrupt WAV header: sample rate 500 Hz");
  });

  it('audio under 100 ms: 400 from the engine', async () => {
    const e = await apiError(await post(api.url, form(encodeWav(jfk.subarray(0, 800)))));
    expect(e).toEqual({ status: 400, error: { message: 'audio is too short: 50 ms < 100 ms', type: 'invalid_request_error', param: 'file', code: 'invalid_audio' } });
  });

  it('no file field: 400', async () => {
    const f = new FormData();
    f.append('model', 'whisper-1');
    const e = await apiError(await post(api.url, f));
    expect(e.status).toBe(400);
    expect(e.error).toMatchObject({ param: 'file', code: 'missing_file' });
  });

  it('not multipart: 415', async () => {
    const e = await apiError(await post(api.url, '{"file":"x"}', { headers: { 'content-type': 'application/json' } }));
    expect(e.status).toBe(415);
    expect(e.error.message).toBe("send the audio as multipart/form-data with a 'file' field (got content-type 'application/json')");
  });

  it('an unknown response_format: 400 naming the param', async () => {
    const e = await apiError(await post(api.url, form(jfkWav, { response_format: 'xml' })));
    expect(e).toMatchObject({ status: 400, error: { param: 'response_format', code: 'invalid_value' } });
  });

  it('over the size limit: 413 (1 MiB here, 25 MiB by default)', async () => {
    const e = await apiError(await post(small.url, form(Buffer.alloc(1024 * 1024 + 1))));
    expect(e).toEqual({
      status: 413,
      error: { message: "the request is larger than this server's limit of 1 MiB", type: 'invalid_request_error', param: 'file', code: 'request_too_large' },
    });
    const big = await apiError(await post(api.url, form(Buffer.alloc(25 * 1024 * 1024 + 1))));
    expect(big.status).toBe(413);
    expect(big.error.message).toBe("the request is larger than this server's limit of 25 MiB");
  });

  it('over the length limit: 400 audio_too_long', async () => {
    const e = await apiError(await post(small.url, form(jfkWav)));
    expect(e).toEqual({
      status: 400,
      error: { message: "'audio.wav' is 11.0 s long; at most 5 s per request", type: 'invalid_request_error', param: 'file', code: 'audio_too_long' },
    });
  });

  it('wrong method: 405 with Allow; unknown path: 404', async () => {
    const get = await fetch(`${api.url}/v1/audio/transcriptions`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await apiError(get)).error.code).toBe('method_not_allowed');
    const missing = await apiError(await fetch(`${api.url}/v1/chat/completions`, { method: 'POST', body: '{}' }));
    expect(missing).toEqual({ status: 404, error: { message: 'Invalid URL (POST /v1/chat/completions)', type: 'invalid_request_error', param: null, code: 'not_found' } });
  });
});

describe('uploads that end early (the server stays up)', () => {
  /**
   * Sends the start of a multipart body by hand; `end` closes the request without the closing
   * boundary, `cut` drops the connection, `stall` sends nothing more (to `small`, whose stall limit is 300 ms).
   */
  function partial(field: string, how: 'end' | 'cut' | 'stall'): Promise<number | 'gone'> {
    return new Promise((resolve) => {
      const boundary = 'prismBoundary42';
      const req = request(`${how === 'stall' ? small.url : api.url}/v1/audio/transcriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve('gone'));
      req.write(`--${boundary}\r\ncontent-disposition: form-data; name="${field}"; filename="a.wav"\r\ncontent-type: audio/wav\r\n\r\n`);
      req.write(jfkWav.subarray(0, 20_000));
      if (how === 'end') req.end();
      else if (how === 'cut') setTimeout(() => req.destroy(), 50);
    });
  }

  it('a body with no closing boundary: 400, for the file field and for a wrongly named one', async () => {
    expect(await partial('file', 'end')).toBe(400);
    expect(await partial('audio', 'end')).toBe(400);
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
  });

  it("an upload that stops sending: 408 after the stall limit, not a slot held for Node's 300 s", async () => {
    const started = performance.now();
    expect(await partial('file', 'stall')).toBe(408);
    expect(performance.now() - started).toBeLessThan(5000);
    expect((await fetch(`${small.url}/health`)).status).toBe(200);
  });

  it('a client that disconnects mid-file: nothing to answer, and the next request is served', async () => {
    expect(await partial('file', 'cut')).toBe('gone');
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
    const r = await post(api.url, form(jfkWav));
    expect(r.status).toBe(200);
  });
});

describe('auth', () => {
  it('no token: 401 missing_api_key, before the upload is read', async () => {
    const r = await post(api.url, form(jfkWav), { token: null });
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    expect((await apiError(r)).error).toMatchObject({ code: 'missing_api_key', type: 'invalid_request_error' });
  });

  it('a wrong token (also one sharing its prefix): 401 invalid_api_key', async () => {
    for (const token of ['nope', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const e = await apiError(await post(api.url, form(jfkWav), { token }));
      expect(e).toEqual({ status: 401, error: { message: 'incorrect API key', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    }
  });

  it('/health needs no token and says what serves', async () => {
    const r = await fetch(`${api.url}/health`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ok', state: 'ready', backend: 'cpu', model: basename(models().tiny) });
  });
});
