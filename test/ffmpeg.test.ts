/**
 * ffmpeg as a hostile parser of hostile bytes (issue 25, items 1 and 2): it reads the upload and
 * nothing else (no playlist or script that names local files), and it is bounded: killed on abort,
 * past its time limit, past the decoded length, and when the process using it exits (the
 * `transcribe` CLI on SIGTERM), its temporary folder gone on every path. A fake ffmpeg (PRISM_FFMPEG,
 * a shell script) stands for one that never finishes: a live HLS playlist is no longer reachable.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeAudio } from '../lib/audio/decode.js';
import { decodeFfmpeg, ffmpegTimeoutMs, toFloats } from '../lib/audio/ffmpeg.js';
import { readAudio } from '../lib/audio/read.js';
import { ffmpegInstalled, JFK, models, root } from './helpers.js';

const hasFfmpeg = ffmpegInstalled();
const saved = { ffmpeg: process.env.PRISM_FFMPEG, tmp: process.env.TMPDIR, pids: process.env.FAKE_FFMPEG_PIDS };
let dir: string;
/** TMPDIR of this file's decodes (and the CLI's): its prism-audio-* folders are ours alone */
let temp: string;
let pidFile: string;

/** Whether the process is gone: no such pid, or a zombie nobody has reaped yet. */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return true;
  }
}

const tempFolders = (): string[] => readdirSync(temp).filter((f) => f.startsWith('prism-audio-'));

/** A fake ffmpeg: notes its pid (and arguments), then runs `body` in its place. */
function fakeFfmpeg(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\necho "$$ $*" >> "$FAKE_FFMPEG_PIDS"\nexec ${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/** The pids the fake ffmpeg has noted so far (one line per start). */
function fakePids(): number[] {
  if (!existsSync(pidFile)) return [];
  return readFileSync(pidFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.split(' ')[0]));
}

/** The first bytes of an M4A: enough for the sniff to hand it to ffmpeg. */
const M4A_HEAD = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypM4A \0\0\0\0M4A isom'), Buffer.alloc(64)]);

/**
 * An MP4 whose one track keeps its samples in another file: `m4a` with its data reference (dref)
 * turned into a QuickTime alias of the absolute path `target`, and its own samples zeroed. Its moov
 * comes after its mdat (ffmpeg's default), so no sample offset moves.
 */
function pointingElsewhere(m4a: Buffer, target: string): Buffer {
  const u16 = (n: number): Buffer => Buffer.from([n >> 8, n & 0xff]);
  const u32 = (n: number): Buffer => Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  const child = (start: number, end: number, type: string): { at: number; size: number } => {
    for (let at = start; at + 8 <= end; ) {
      const size = m4a.readUInt32BE(at);
      if (m4a.toString('latin1', at + 4, at + 8) === type) return { at, size };
      if (size < 8) break;
      at += size;
    }
    throw new Error(`no ${type} box`);
  };
  const chain: Array<{ at: number; size: number }> = [];
  let [start, end] = [0, m4a.length];
  for (const type of ['moov', 'trak', 'mdia', 'minf', 'dinf', 'dref']) {
    const box = child(start, end, type);
    chain.push(box);
    [start, end] = [box.at + 8, box.at + box.size];
  }
  const path = Buffer.from(target, 'latin1');
  const name = Buffer.from('memo.m4a');
  // the alias record as ffmpeg's mov demuxer reads it: volume, file name, levels, then tagged fields (2: the absolute path)
  const alias = Buffer.concat([
    ...[Buffer.alloc(10), Buffer.from([0]), Buffer.alloc(27 + 12), Buffer.from([name.length]), name, Buffer.alloc(63 - name.length)],
    ...[Buffer.alloc(16), u16(0), u16(0), Buffer.alloc(16), u16(2), u16(path.length), path, Buffer.alloc(path.length & 1), u16(0xffff), u16(0)],
  ]);
  const entry = Buffer.concat([u32(12 + alias.length), Buffer.from('alis'), u32(0), alias]);
  const dref = Buffer.concat([u32(16 + entry.length), Buffer.from('dref'), u32(0), u32(1), entry]);
  const old = chain[5] as { at: number; size: number };
  const out = Buffer.concat([m4a.subarray(0, old.at), dref, m4a.subarray(old.at + old.size)]);
  for (const box of chain.slice(0, 5)) out.writeUInt32BE(box.size + dref.length - old.size, box.at);
  const mdat = child(0, m4a.length, 'mdat');
  if (mdat.at > old.at) throw new Error('moov before mdat');
  out.fill(0, mdat.at + 8, mdat.at + mdat.size);
  return out;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'prism-ffmpeg-test-'));
  temp = join(dir, 'tmp');
  mkdirSync(temp);
  pidFile = join(dir, 'pids');
  process.env.TMPDIR = temp;
  process.env.FAKE_FFMPEG_PIDS = pidFile;
});

afterEach(() => {
  rmSync(pidFile, { force: true });
  if (saved.ffmpeg === undefined) delete process.env.PRISM_FFMPEG;
  else process.env.PRISM_FFMPEG = saved.ffmpeg;
});

afterAll(() => {
  for (const [key, value] of [
    ['TMPDIR', saved.tmp],
    ['FAKE_FFMPEG_PIDS', saved.pids],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasFfmpeg)('ffmpeg reads the upload and nothing else', () => {
  let secret: string;
  beforeAll(() => {
    // a local recording the upload must not reach (FLAC: an extension HLS accepts for a segment)
    secret = join(dir, 'memo.flac');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', JFK, '-t', '3', secret]);
  });

  /** decodeAudio through a logging ffmpeg: the error, and whether ffmpeg was started at all. */
  async function refused(bytes: Buffer): Promise<{ error: unknown; started: boolean }> {
    process.env.PRISM_FFMPEG = fakeFfmpeg('logging-ffmpeg', 'ffmpeg "$@"');
    const error = await decodeAudio(bytes, { name: "'memo.m4a'" }).then(
      (a) => new Error(`decoded ${((a.channels[0]?.length ?? 0) / a.sampleRate).toFixed(1)} s`),
      (e: unknown) => e,
    );
    return { error, started: fakePids().length > 0 };
  }

  it('an HLS playlist naming a local file (sent as .m4a) is refused before ffmpeg starts', async () => {
    const playlist = `#EXTM3U\n#\x7f\n#EXT-X-TARGETDURATION:10\n#EXTINF:3.0,\nfile://${secret}\n#EXT-X-ENDLIST\n`;
    const { error, started } = await refused(Buffer.from(playlist, 'latin1'));
    expect(error).toMatchObject({ code: 'BAD_AUDIO', reason: 'unsupported-format', message: expect.stringMatching(/^'memo\.m4a' is not in a format read here/) });
    expect(started).toBe(false);
  });

  it('a concat script naming a local file is refused before ffmpeg starts', async () => {
    const script = `ffconcat version 1.0\n#\x7f\nfile '${secret}'\n`;
    const { error, started } = await refused(Buffer.from(script, 'latin1'));
    expect(error).toMatchObject({ code: 'BAD_AUDIO', reason: 'unsupported-format' });
    expect(started).toBe(false);
  });

  it('an MP4 whose samples are in another local file (a dref alias) does not reach that file', async () => {
    const target = join(dir, 'memo.m4a');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', JFK, '-t', '2', '-c:a', 'aac', target]);
    const upload = join(dir, 'upload.m4a');
    writeFileSync(upload, pointingElsewhere(readFileSync(target), target));
    // the fixture does point at the file: an ffmpeg told to follow references decodes it
    const followed = execFileSync('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-enable_drefs', '1', '-use_absolute_path', '1', '-i', upload],
      ...['-f', 'f32le', '-ac', '1', '-ar', '16000', 'pipe:1'],
    ]);
    expect(followed.length / 4 / 16000).toBeGreaterThan(1.5);
    await expect(decodeAudio(readFileSync(upload), { name: 'upload.m4a' })).rejects.toMatchObject({
      code: 'BAD_AUDIO',
      message: expect.stringMatching(/^upload\.m4a \(MP4\/M4A\) could not be decoded by ffmpeg/),
    });
  });

  it('ffmpeg is pinned to the sniffed demuxer, with only it and the file protocol allowed', async () => {
    process.env.PRISM_FFMPEG = fakeFfmpeg('logging-ffmpeg', 'ffmpeg "$@"');
    const m4a = join(dir, 'jfk.m4a');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', JFK, '-t', '2', '-c:a', 'aac', m4a]);
    const audio = await decodeAudio(readFileSync(m4a), { maxSeconds: 30 });
    expect(audio.format).toBe('ffmpeg');
    expect((audio.channels[0]?.length ?? 0) / 16000).toBeCloseTo(2, 1);
    const args = readFileSync(pidFile, 'utf8');
    expect(args).toMatch(/-protocol_whitelist file -format_whitelist mov -f mov -enable_drefs 0 .*-i file:\//);
  });

  it('raw AAC (ADTS) decodes through the aac demuxer; what no demuxer here reads is refused', async () => {
    const aac = join(dir, 'jfk.aac');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', JFK, '-t', '2', '-c:a', 'aac', '-f', 'adts', aac]);
    const seconds = (await readAudio(aac)).length / 16000;
    expect(seconds).toBeGreaterThan(1.9);
    expect(seconds).toBeLessThan(2.2); // ADTS keeps the encoder's priming samples
    // MPEG layer II: a container ffmpeg would probe, refused here
    const mp2 = join(dir, 'jfk.mp2');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', JFK, '-t', '1', '-c:a', 'mp2', mp2]);
    await expect(readAudio(mp2)).rejects.toMatchObject({ code: 'BAD_AUDIO', reason: 'unsupported-format' });
  });
});

describe('a running ffmpeg is bounded', () => {
  it('an abort kills it at once (AbortError), and its temporary folder goes', async () => {
    process.env.PRISM_FFMPEG = fakeFfmpeg('stuck-ffmpeg', 'sleep 600');
    const abort = new AbortController();
    const decoding = decodeAudio(M4A_HEAD, { name: 'x.m4a', signal: abort.signal, maxSeconds: 60 });
    const settled = decoding.catch((e: unknown) => e);
    await vi.waitFor(() => expect(fakePids()).toHaveLength(1), { timeout: 30_000, interval: 20 });
    expect(tempFolders()).toHaveLength(1);
    abort.abort();
    expect(await settled).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(gone(fakePids()[0] as number)).toBe(true);
    expect(tempFolders()).toEqual([]);
  });

  it('an aborted signal starts nothing', async () => {
    process.env.PRISM_FFMPEG = fakeFfmpeg('stuck-ffmpeg', 'sleep 600');
    await expect(readAudio(M4A_HEAD, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(fakePids()).toEqual([]);
    expect(tempFolders()).toEqual([]);
  });

  it('past its time limit it is killed: BAD_AUDIO, reason timeout', async () => {
    process.env.PRISM_FFMPEG = fakeFfmpeg('stuck-ffmpeg', 'sleep 600');
    const error = await decodeFfmpeg(M4A_HEAD, { sniffed: 'mp4', name: 'x.m4a', maxSeconds: 60, timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_AUDIO', reason: 'timeout', message: expect.stringMatching(/^x\.m4a \(MP4\/M4A\) took ffmpeg longer than/) });
    for (const pid of fakePids()) expect(gone(pid)).toBe(true);
    expect(tempFolders()).toEqual([]);
  });

  it('the time limit grows with the length allowed, and there is one without a length limit', () => {
    expect(ffmpegTimeoutMs(0)).toBeGreaterThanOrEqual(10_000);
    expect(ffmpegTimeoutMs(600)).toBeGreaterThan(ffmpegTimeoutMs(60));
    expect(ffmpegTimeoutMs(600)).toBeGreaterThanOrEqual(600 * 20); // ≥ 1/20 of real time
    expect(ffmpegTimeoutMs(Number.POSITIVE_INFINITY)).toBe(ffmpegTimeoutMs(3600));
    expect(Number.isFinite(ffmpegTimeoutMs(Number.POSITIVE_INFINITY))).toBe(true);
  });

  it('endless output stops at the length limit, and at one hour when none is given', async () => {
    process.env.PRISM_FFMPEG = fakeFfmpeg('endless-ffmpeg', 'cat /dev/zero');
    await expect(readAudio(M4A_HEAD, { maxSeconds: 2 })).rejects.toMatchObject({ code: 'BAD_AUDIO', reason: 'too-long' });
    await expect(decodeAudio(M4A_HEAD)).rejects.toMatchObject({ code: 'BAD_AUDIO', reason: 'too-long', message: expect.stringMatching(/longer than 3600 s/) });
    for (const pid of fakePids()) expect(gone(pid)).toBe(true);
    expect(tempFolders()).toEqual([]);
  });

  it("ffmpeg's f32le output becomes the same floats, whatever the chunks' alignment", () => {
    const want = Float32Array.from([0.5, -0.25, 1e-7, -1, 0.123]);
    const bytes = Buffer.from(want.buffer);
    const odd = Buffer.alloc(bytes.length + 1).subarray(1); // a view at an odd offset
    bytes.copy(odd);
    const chunks = [odd.subarray(0, 3), odd.subarray(3, 11), odd.subarray(11)];
    expect(Array.from(toFloats(chunks, odd.length))).toEqual(Array.from(want));
    expect(toFloats([Buffer.concat([bytes, Buffer.from([1, 2])])], bytes.length + 2)).toHaveLength(5);
  });
});

// the built CLI (dist/): `npx tsc -p tsconfig.build.json` first, as for test/cli.test.ts
describe('prism-dictate transcribe x.m4a, given SIGTERM while ffmpeg runs', () => {
  it('exits promptly, ffmpeg killed and its temporary folder removed', async () => {
    const file = join(dir, 'x.m4a');
    writeFileSync(file, M4A_HEAD);
    const home = join(dir, 'home');
    const child = spawn(process.execPath, [join(root, 'bin', 'prism-dictate.js'), 'transcribe', '--no-service', '--gpu', 'cpu', '--model', models().tinyEn, file], {
      env: { ...process.env, PRISM_DICTATE_HOME: home, PRISM_FFMPEG: fakeFfmpeg('stuck-ffmpeg', 'sleep 600'), TMPDIR: temp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    await vi.waitFor(() => expect(fakePids(), stderr).toHaveLength(1), { timeout: 60_000, interval: 50 });
    expect(tempFolders()).toHaveLength(1);
    child.kill('SIGTERM');
    const how = await exited;
    // killed as the CLI exited: gone once the kernel has delivered the SIGKILL
    await vi.waitFor(() => expect(gone(fakePids()[0] as number)).toBe(true), { timeout: 10_000, interval: 20 });
    expect(tempFolders()).toEqual([]);
    expect(how).toEqual({ code: 143, signal: null });
  });
});
