/**
 * Issue 25, item 3 and parts of 9: compressed audio decoded within bounds. A small FLAC or Opus can
 * describe hours of many-channel audio; what is held stays bounded while decoding (checked in a
 * child process's peak RSS), channels and rates are limited, decoding and resampling run in a worker
 * so the event loop keeps turning, a truncated FLAC is reported as such, an MP3 whose rate changes is
 * resampled run by run, and checkPcm() costs what a loop over floats costs. The files are made here
 * with ffmpeg; the worker is dist/audio/decodeWorker.js (npm run build).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPcm } from '../lib/audio/check.js';
import { decodeAudio } from '../lib/audio/decode.js';
import { runInWorker } from '../lib/audio/worker.js';
import { readAudio } from '../lib/index.js';
import { ffmpegInstalled, JFK, root } from './helpers.js';

const hasFfmpeg = ffmpegInstalled();
let dir: string;

function ffmpeg(out: string, ...args: string[]): string {
  const path = join(dir, out);
  execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, path]);
  return path;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'prism-bounds-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasFfmpeg)('decoding compressed audio within bounds', () => {
  it('an 8-channel 192 kHz FLAC (55 KB, 120 s) stops at the limit holding ~ one 16 kHz channel, not 8 at 192 kHz (peak RSS of a child process)', () => {
    const flac = ffmpeg('8ch.flac', '-f', 'lavfi', '-i', 'anullsrc=r=192000:cl=7.1', '-t', '120', '-c:a', 'flac');
    expect(readFileSync(flac).length).toBeLessThan(200_000);
    // Decoded whole, 120 s × 8 × 192 kHz is 737 MB of floats; the limit (20 s) is passed long before.
    const script = `
      import { decodeAudio } from ${JSON.stringify(pathToFileURL(join(root, 'dist', 'audio', 'decode.js')).href)};
      import { readFileSync } from 'node:fs';
      const bytes = readFileSync(${JSON.stringify(flac)});
      const before = process.memoryUsage().rss;
      const e = await decodeAudio(bytes, { maxSeconds: 20 }).then(() => undefined, (e) => e);
      console.log(JSON.stringify({ reason: e?.reason, grewMb: (process.resourceUsage().maxRSS * 1024 - before) / 2 ** 20 }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 110_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { reason: string; grewMb: number };
    expect(out.reason).toBe('too-long');
    expect(out.grewMb).toBeLessThan(300);
  });

  it('more than 8 channels, or a rate above 192 kHz, is refused before decoding (reasons too-many-channels, bad-rate)', async () => {
    const opus = ffmpeg('16ch.opus', '-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=mono', '-t', '2', '-af', 'pan=hexadecagonal|c0=c0', '-c:a', 'libopus', '-mapping_family', '255');
    await expect(decodeAudio(readFileSync(opus))).rejects.toMatchObject({
      code: 'BAD_AUDIO',
      reason: 'too-many-channels',
      message: expect.stringMatching(/16 channels; at most 8/),
    });
    const flac = ffmpeg('384k.flac', '-f', 'lavfi', '-i', 'sine=r=384000', '-t', '2', '-c:a', 'flac');
    await expect(decodeAudio(readFileSync(flac))).rejects.toMatchObject({ code: 'BAD_AUDIO', reason: 'bad-rate', message: expect.stringMatching(/384000 Hz/) });
  });

  it('an 8-channel Opus is decoded to 16 kHz mono of the right length', async () => {
    const opus = ffmpeg(
      '8ch.opus',
      '-f',
      'lavfi',
      '-i',
      'sine=r=48000',
      '-t',
      '5',
      '-af',
      'pan=7.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0|c6=c0|c7=c0',
      '-c:a',
      'libopus',
      '-mapping_family',
      '1',
    );
    const audio = await decodeAudio(readFileSync(opus));
    expect(audio.channels).toHaveLength(1);
    expect(audio.sampleRate).toBe(16000);
    expect(Math.abs((audio.channels[0]?.length ?? 0) - 5 * 16000)).toBeLessThan(0.03 * 16000);
  });

  it('readAudio without maxSeconds is bounded too: one hour (MAX_AUDIO_SECONDS)', async () => {
    const flac = ffmpeg('long.flac', '-f', 'lavfi', '-i', 'anullsrc=r=16000:cl=mono', '-t', '3601', '-c:a', 'flac');
    await expect(readAudio(flac)).rejects.toMatchObject({ code: 'BAD_AUDIO', reason: 'too-long', message: expect.stringMatching(/longer than 3600 s/) });
  });

  it('the event loop keeps turning while a 10-minute MP3 is decoded and resampled (in a worker)', async () => {
    const mp3 = ffmpeg('long.mp3', '-f', 'lavfi', '-i', 'sine=f=440:r=44100', '-t', '600', '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '32k');
    const bytes = readFileSync(mp3);
    const gaps = monitorEventLoopDelay({ resolution: 10 });
    gaps.enable();
    const started = performance.now();
    const pcm = await readAudio(bytes, { maxSeconds: 700 });
    const took = performance.now() - started;
    // through the timers phase once more, so that a block at the very end is counted too
    await new Promise((resolve) => setTimeout(resolve, 0));
    gaps.disable();
    expect(Math.abs(pcm.length - 600 * 16000)).toBeLessThan(0.05 * 16000);
    // On the event loop the whole decode was one gap (ratio ~1); a worker leaves only short ones.
    expect(gaps.max / 1e6).toBeLessThan(took / 3);
  });

  it('an abort terminates the decode at once (AbortError) and frees its slot', async () => {
    const mp3 = readFileSync(ffmpeg('abort.mp3', '-f', 'lavfi', '-i', 'sine=r=44100', '-t', '300', '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '32k'));
    const controller = new AbortController();
    const decoding = decodeAudio(mp3, { maxSeconds: 700, signal: controller.signal });
    setImmediate(() => controller.abort());
    await expect(decoding).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    // every slot free again: as many decodes as CPUs and one more all finish
    const jfk = readFileSync(JFK);
    const stereo = ffmpeg('short.mp3', '-i', JFK, '-ar', '44100', '-ac', '2', '-c:a', 'libmp3lame');
    const all = await Promise.all(Array.from({ length: availableParallelism() + 1 }, () => decodeAudio(readFileSync(stereo))));
    for (const a of all) expect(Math.abs((a.channels[0]?.length ?? 0) - (jfk.length - 44) / 2)).toBeLessThan(0.1 * 16000);
  });
});

describe.skipIf(!hasFfmpeg)('decoding time', () => {
  it('a decode that runs past its time limit is stopped (reason timeout), as ffmpeg is', async () => {
    const mp3 = readFileSync(ffmpeg('slow.mp3', '-f', 'lavfi', '-i', 'sine=r=44100', '-t', '120', '-c:a', 'libmp3lame', '-b:a', '32k'));
    await expect(runInWorker({ kind: 'decode', bytes: mp3, format: 'mp3', name: 'slow.mp3', maxSeconds: 600 }, undefined, 1)).rejects.toMatchObject({
      code: 'BAD_AUDIO',
      reason: 'timeout',
      message: expect.stringMatching(/slow\.mp3 took longer than 0 s to decode; stopped/),
    });
  });
});

describe.skipIf(!hasFfmpeg)('truncated and mixed-rate files', () => {
  it('a truncated FLAC is reported truncated (as a truncated WAV is); readAudio keeps what is there, as for a WAV', async () => {
    const flac = readFileSync(ffmpeg('jfk.flac', '-i', JFK, '-c:a', 'flac'));
    const whole = await decodeAudio(flac);
    expect(whole.truncated).toBe(false);
    const cut = flac.subarray(0, Math.floor(flac.length * 0.6));
    const audio = await decodeAudio(cut);
    expect(audio.format).toBe('flac');
    expect(audio.truncated).toBe(true);
    const pcm = await readAudio(cut);
    expect(pcm.length).toBeGreaterThan(4 * 16000);
    expect(pcm.length).toBeLessThan((whole.channels[0]?.length ?? 0) * 0.8);
  });

  it('an Ogg file cut inside a page is reported truncated', async () => {
    const opus = readFileSync(ffmpeg('jfk.opus', '-i', JFK, '-c:a', 'libopus'));
    expect((await decodeAudio(opus)).truncated).toBe(false);
    expect((await decodeAudio(opus.subarray(0, Math.floor(opus.length * 0.6)))).truncated).toBe(true);
  });

  it('an MP3 whose sample rate changes mid-stream (44.1 kHz then 8 kHz, joined with cat) is resampled run by run: 21 s, not 34.7', async () => {
    const a = readFileSync(ffmpeg('a.mp3', '-f', 'lavfi', '-i', 'sine=f=440:r=44100', '-t', '3', '-ac', '2', '-c:a', 'libmp3lame', '-b:a', '64k'));
    const b = readFileSync(ffmpeg('b.mp3', '-f', 'lavfi', '-i', 'sine=f=300:r=8000', '-t', '18', '-c:a', 'libmp3lame', '-b:a', '16k'));
    const joined = join(dir, 'joined.mp3');
    writeFileSync(joined, Buffer.concat([a, b]));
    const pcm = await readAudio(joined);
    expect(Math.abs(pcm.length / 16000 - 21)).toBeLessThan(0.3);
    // and the length limit counts each run at its own rate
    await expect(readAudio(joined, { maxSeconds: 20 })).rejects.toMatchObject({ reason: 'too-long' });
    // the 440 Hz tone is still 440 Hz after the 44.1 kHz run is resampled (zero crossings in its second second)
    let crossings = 0;
    for (let i = 16000; i < 32000; i++) if ((pcm[i - 1] as number) < 0 !== (pcm[i] as number) < 0) crossings++;
    expect(crossings).toBeGreaterThan(860);
    expect(crossings).toBeLessThan(900);
  });
});

describe('checkPcm', () => {
  it('costs about what a loop over the floats costs, in plain Node on dist/ (where the engine runs it)', () => {
    // Under vitest's module transform the old loop was fast; in plain Node (the engine process, dist/)
    // it kept every sample as a heap number for its error messages: ~1000× a plain loop.
    const script = `
      import { checkPcm } from ${JSON.stringify(pathToFileURL(join(root, 'dist', 'audio', 'check.js')).href)};
      const pcm = new Float32Array(60 * 16000);
      for (let i = 0; i < pcm.length; i++) pcm[i] = Math.sin(i / 7) * 0.5;
      const loop = (p) => { let bad = 0; for (let i = 0; i < p.length; i++) { const x = p[i]; if (!(x >= -16 && x <= 16)) bad++; } return bad; };
      const best = (f) => { let min = Infinity; for (let i = 0; i < 15; i++) { const t = performance.now(); f(); min = Math.min(min, performance.now() - t); } return min; };
      console.log(JSON.stringify({ plain: best(() => loop(pcm)), checked: best(() => checkPcm(pcm, 3600)) }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 110_000 });
    expect(r.stderr).toBe('');
    const { plain, checked } = JSON.parse(r.stdout) as { plain: number; checked: number };
    // generous for a loaded machine
    expect(checked).toBeLessThan(plain * 10 + 2);
  });

  it('still names the first bad sample', () => {
    const pcm = new Float32Array(16000);
    pcm[123] = Number.NaN;
    expect(() => checkPcm(pcm, 10)).toThrow(/NaN at sample 123: samples must be finite/);
    pcm[123] = 0;
    pcm[7] = 300;
    expect(() => checkPcm(pcm, 10)).toThrow(/300 at sample 7: samples must be in \[-1, 1\] \(16-bit PCM\? divide by 32768\)/);
    pcm[7] = Number.NEGATIVE_INFINITY;
    expect(() => checkPcm(pcm, 10)).toThrow(/-Infinity at sample 7: samples must be finite/);
  });
});
