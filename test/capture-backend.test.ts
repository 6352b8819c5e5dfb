/**
 * A microphone without a compiler (issue 25): which way a capture records (PortAudio or the sound
 * server's recorder), the fix doctor and the install give for how the package was installed, and the
 * recorder backend's process handling, with a stand-in `parec` (a shell script) so that no sound
 * server is needed. The real parec against a PulseAudio virtual microphone is in capture.test.ts.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WhisperError } from '../lib/errors.js';
import { openCapture } from '../lib/host/capture.js';
import { type Availability, backendOrder, chooseBackend } from '../lib/host/captureBackend.js';
import { type AdviceContext, installKind, micFix, missingBackend } from '../lib/host/micAdvice.js';
import { int16ToFloat, Pcm16Joiner } from '../lib/host/pcm16.js';
import { recorderInput } from '../lib/host/recorderCapture.js';
import type { SoundSource } from '../lib/host/soundSources.js';

const PAREC = { tool: 'parec' as const, path: '/usr/bin/parec' };
const AREC = { tool: 'arecord' as const, path: '/usr/bin/arecord' };
const SOURCES: SoundSource[] = [
  { name: 'alsa_input.pci-0000_00_1f.3.analog-stereo', description: 'Built-in Audio Analog Stereo', isDefault: true, monitor: false },
  { name: 'alsa_input.usb-046d_HD_Webcam.mono-fallback', description: 'HD Webcam Mono', isDefault: false, monitor: false },
  { name: 'alsa_output.pci-0000_00_1f.3.analog-stereo.monitor', description: 'Monitor of Built-in Audio', isDefault: false, monitor: true },
];

function thrown(fn: () => unknown): WhisperError {
  try {
    fn();
  } catch (e) {
    if (e instanceof WhisperError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('which way the microphone is recorded', () => {
  const all: Availability = { naudiodon: '/x/naudiodon2/index.js', recorders: [PAREC, AREC], sources: SOURCES };

  it('parec while the sound server answers, PortAudio otherwise, parec or arecord without naudiodon2', () => {
    expect(chooseBackend(all)).toMatchObject({ kind: 'parec', why: 'PulseAudio via parec; PortAudio (naudiodon2) also installed', sources: SOURCES });
    expect(chooseBackend({ ...all, sources: undefined })).toMatchObject({ kind: 'portaudio', why: 'PortAudio (naudiodon2); parec, arecord also on PATH' });
    // naudiodon2 absent (its build failed without a compiler)
    expect(chooseBackend({ ...all, naudiodon: undefined })).toMatchObject({ kind: 'parec', why: 'PulseAudio via parec; naudiodon2 (PortAudio) not installed' });
    expect(chooseBackend({ ...all, naudiodon: undefined, sources: undefined })).toMatchObject({
      kind: 'parec',
      why: 'PulseAudio (not answering now) via parec; naudiodon2 (PortAudio) not installed',
    });
    expect(chooseBackend({ recorders: [AREC] })).toMatchObject({ kind: 'arecord', why: 'ALSA via arecord; naudiodon2 (PortAudio) not installed' });
  });

  it('nothing to record with: MIC_UNAVAILABLE with the fix, not "npm install naudiodon2" in the current folder', () => {
    const e = thrown(() => chooseBackend({ recorders: [] }));
    expect(e.code).toBe('MIC_UNAVAILABLE');
    expect(e.message).toBe(micFix());
    expect(e.message).not.toMatch(/npm install naudiodon2`/);
    expect(thrown(() => chooseBackend({ recorders: [] }, 'portaudio')).message).toMatch(/^Microphone capture through PortAudio needs the optional dependency naudiodon2/);
  });

  it('PRISM_CAPTURE picks and orders the backends; an unknown name is BAD_ARGUMENT', () => {
    expect(backendOrder({})).toBeUndefined();
    expect(backendOrder({ PRISM_CAPTURE: 'auto' })).toBeUndefined();
    expect(backendOrder({ PRISM_CAPTURE: 'PortAudio, arecord' })).toEqual(['portaudio', 'arecord']);
    expect(chooseBackend({ ...all, order: ['portaudio', 'parec'] }).kind).toBe('portaudio');
    expect(chooseBackend({ ...all, order: ['arecord'] }).kind).toBe('arecord');
    expect(thrown(() => chooseBackend({ recorders: [], order: ['parec'] })).message).toMatch(/\(PRISM_CAPTURE=parec\)$/);
    expect(thrown(() => backendOrder({ PRISM_CAPTURE: 'parec,jack' }))).toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/"jack"/) });
  });
});

describe('the fix for how the package was installed', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'prism-install-kind-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tells a global install from a project dependency and a checkout by the package path', () => {
    const global = join(dir, 'prefix', 'lib', 'node_modules', 'prism-whisper');
    const local = join(dir, 'project', 'node_modules', 'prism-whisper');
    mkdirSync(global, { recursive: true });
    mkdirSync(local, { recursive: true });
    writeFileSync(join(dir, 'project', 'package.json'), '{}');
    expect(installKind(global)).toBe('global');
    expect(installKind(local)).toBe('local');
    expect(installKind(join(dir, 'prism-whisper'))).toBe('checkout');
    // a project that happens to be called lib is still a project
    const lib = join(dir, 'lib', 'node_modules', 'prism-whisper');
    mkdirSync(lib, { recursive: true });
    writeFileSync(join(dir, 'lib', 'package.json'), '{}');
    expect(installKind(lib)).toBe('local');
  });

  const linux = (o: Partial<AdviceContext>): AdviceContext => ({
    platform: 'linux',
    install: 'global',
    root: '/usr/lib/node_modules/prism-whisper',
    packageManager: 'apt',
    writable: false,
    naudiodon: '2.5.0',
    ...o,
  });

  it('global install on Debian/Ubuntu: apt install pulseaudio-utils, or build tools and naudiodon2 built into the global package', () => {
    expect(micFix(linux({}))).toBe(
      'Microphone capture needs the sound server\'s recorder (parec) or naudiodon2 (PortAudio), and this machine has neither: sudo apt install pulseaudio-utils (no compiler needed), or install build tools (sudo apt install build-essential python3), then cd "/usr/lib/node_modules/prism-whisper" && sudo npm install --no-save --omit=dev naudiodon2@2.5.0 to build naudiodon2 (PortAudio).',
    );
    expect(missingBackend('portaudio', linux({}))).toMatch(/then cd "\/usr\/lib\/node_modules\/prism-whisper" && sudo npm install --no-save --omit=dev naudiodon2@2\.5\.0\.$/);
    expect(missingBackend('parec', linux({ packageManager: 'dnf' }))).toBe('parec is not on PATH: sudo dnf install pulseaudio-utils.');
    expect(missingBackend('arecord', linux({ packageManager: 'pacman' }))).toBe('arecord is not on PATH: sudo pacman -S alsa-utils.');
  });

  it('a project dependency: npm install in the project; macOS: the Xcode tools', () => {
    const local = micFix(linux({ install: 'local', root: '/home/me/app/node_modules/prism-whisper', packageManager: 'dnf', writable: true }));
    expect(local).toMatch(
      /sudo dnf install pulseaudio-utils \(no compiler needed\), or install build tools \(sudo dnf install gcc-c\+\+ make python3\), then cd "\/home\/me\/app" && npm install to build/,
    );
    expect(micFix({ platform: 'darwin', install: 'global', root: '/opt/homebrew/lib/node_modules/prism-whisper', writable: true, naudiodon: '2.5.0' })).toBe(
      'Microphone capture needs naudiodon2 (PortAudio), which is not installed: install build tools (xcode-select --install), then cd "/opt/homebrew/lib/node_modules/prism-whisper" && npm install --no-save --omit=dev naudiodon2@2.5.0 to build naudiodon2 (PortAudio).',
    );
  });
});

describe('Pcm16Joiner', () => {
  it('a pipe that splits a sample between reads: the odd byte waits for the next chunk', () => {
    const j = new Pcm16Joiner();
    const bytes = Buffer.from(Int16Array.from([1, -2, 300, -32768]).buffer);
    const parts = [j.push(bytes.subarray(0, 3)), j.push(bytes.subarray(3, 4)), j.push(bytes.subarray(4, 5)), j.push(bytes.subarray(5))];
    expect(parts.map((p) => p?.length ?? 0)).toEqual([2, 2, 0, 4]);
    expect(Array.from(int16ToFloat(Buffer.concat(parts.filter((p) => p !== undefined))), (v) => v * 32768)).toEqual([1, -2, 300, -32768]);
  });
});

describe('recorderInput: the device names the PortAudio capture takes, as far as they go', () => {
  it('the default source by default (no --device: it follows the desktop), a source by name or description', () => {
    expect(recorderInput(PAREC, undefined, SOURCES)).toEqual({
      device: {
        id: -1,
        name: "PulseAudio 'Built-in Audio Analog Stereo' (alsa_input.pci-0000_00_1f.3.analog-stereo) via parec",
        hostApi: 'PulseAudio',
        maxInputChannels: 1,
        defaultSampleRate: 16000,
        isDefault: true,
      },
    });
    expect(recorderInput(PAREC, 'pulse', SOURCES).arg).toBeUndefined();
    expect(recorderInput(PAREC, 'webcam', SOURCES)).toMatchObject({ arg: 'alsa_input.usb-046d_HD_Webcam.mono-fallback', device: { isDefault: false } });
    expect(recorderInput(PAREC, 'alsa_output.pci-0000_00_1f.3.analog-stereo.monitor', SOURCES).arg).toBe('alsa_output.pci-0000_00_1f.3.analog-stereo.monitor');
    expect(recorderInput(AREC, 'hw:1,0', undefined)).toMatchObject({ arg: 'hw:1,0', device: { name: "ALSA 'hw:1,0' via arecord" } });
    expect(recorderInput(PAREC, 'some-source', undefined)).toMatchObject({ arg: 'some-source' }); // no pactl: parec is the judge
  });

  it('MIC_UNAVAILABLE naming the inputs for a name that matches none, or for a PortAudio device number', () => {
    expect(thrown(() => recorderInput(PAREC, 'headset', SOURCES)).message).toBe(
      'No input device matching "headset"; the sound server\'s inputs are: "Built-in Audio Analog Stereo" (alsa_input.pci-0000_00_1f.3.analog-stereo, default), "HD Webcam Mono" (alsa_input.usb-046d_HD_Webcam.mono-fallback)',
    );
    expect(thrown(() => recorderInput(PAREC, 3, SOURCES)).message).toMatch(
      /^audio\.device 3 is a PortAudio device number, but the microphone is recorded through parec here: name a source instead; the sound server's inputs are: "Built-in/,
    );
  });
});

describe.skipIf(process.platform !== 'linux')('the recorder backend, with a stand-in parec', () => {
  let dir: string;
  const saved = { PATH: process.env.PATH, FAKE_PAREC: process.env.FAKE_PAREC, PRISM_CAPTURE: process.env.PRISM_CAPTURE };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'prism-fake-parec-'));
    // 250 ms of a 16 kHz ramp every 250 ms, like parec's idle stream; FAKE_PAREC=fail: what parec says for a missing source
    writeFileSync(
      join(dir, 'parec'),
      [
        '#!/bin/sh',
        'echo "$$ $*" >> "$FAKE_PAREC_LOG"',
        'if [ "$FAKE_PAREC" = fail ]; then echo "Stream error: No such entity" >&2; exit 1; fi',
        'while :; do cat "$FAKE_PAREC_DATA" || exit 0; sleep 0.25; done',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'pactl'), '#!/bin/sh\nexit 1\n'); // no sound server answering
    chmodSync(join(dir, 'parec'), 0o755);
    chmodSync(join(dir, 'pactl'), 0o755);
    const block = Buffer.alloc(8000);
    for (let i = 0; i < 4000; i++) block.writeInt16LE(i * 8 - 16000, 2 * i);
    writeFileSync(join(dir, 'block.raw'), block);
    process.env.FAKE_PAREC_DATA = join(dir, 'block.raw');
    process.env.FAKE_PAREC_LOG = join(dir, 'log');
    process.env.PATH = `${dir}:/usr/bin:/bin`;
  });
  afterEach(() => {
    delete process.env.FAKE_PAREC;
    delete process.env.PRISM_CAPTURE;
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    delete process.env.FAKE_PAREC_DATA;
    delete process.env.FAKE_PAREC_LOG;
    rmSync(dir, { recursive: true, force: true });
  });

  /** The stand-in parec processes running now, by the log each one writes its pid to. */
  function started(): Array<{ pid: number; args: string }> {
    let log = '';
    try {
      log = readFileSync(join(dir, 'log'), 'utf8');
    } catch {}
    return log
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ pid: Number(l.split(' ')[0]), args: l.slice(l.indexOf(' ') + 1) }));
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
    } catch {
      return false;
    }
  };

  it('naudiodon2 left out (PRISM_CAPTURE): the audio comes through parec as 16 kHz floats, first block at once, then ~1 s batches', async () => {
    process.env.PRISM_CAPTURE = 'parec,arecord';
    const blocks: Float32Array[] = [];
    let batch!: () => void;
    const batched = new Promise<void>((resolve) => {
      batch = resolve;
    });
    const capture = await openCapture({
      onData: (pcm) => {
        blocks.push(pcm);
        if (pcm.length >= 16000) batch();
      },
      onError: () => {},
    });
    try {
      expect(capture.backend).toBe('parec (PulseAudio client)');
      expect(capture.device.name).toBe("PulseAudio 'default input' via parec");
      expect(capture.streams).toBe(2);
      expect(blocks[0]?.length).toBe(4000); // the first block is handed on as it comes
      expect(blocks[0]?.[1]).toBeCloseTo((8 - 16000) / 32768, 6);
      await batched;
      expect(blocks.at(-1)?.length).toBe(16000); // four idle chunks of 250 ms
      const [main] = started().slice(-1);
      expect(main?.args).toBe('--raw --format=s16le --rate=16000 --channels=1 --latency-msec=250 --client-name=prism-dictate --stream-name=microphone');
    } finally {
      await capture.stop();
    }
  });

  it('stop() ends the recorder process', async () => {
    const before = started().length;
    const capture = await openCapture({ backend: 'parec', onData: () => {}, onError: () => {} });
    const mine = started().slice(before);
    expect(mine).toHaveLength(1);
    expect(alive(mine[0]?.pid as number)).toBe(true);
    await capture.stop();
    expect(mine.filter((p) => alive(p.pid))).toEqual([]);
  });

  it('a recorder that dies is MIC_LOST at once, naming how it ended; the capture is then stopped', async () => {
    const before = started().length;
    let lost!: (e: WhisperError) => void;
    const error = new Promise<WhisperError>((resolve) => {
      lost = resolve;
    });
    const capture = await openCapture({ backend: 'parec', onData: () => {}, onError: (e) => lost(e) });
    const [main] = started().slice(before);
    process.kill(main?.pid as number, 'SIGKILL');
    const e = await error;
    expect(e.code).toBe('MIC_LOST');
    expect(e.message).toBe(`Lost the microphone "PulseAudio 'default input' via parec": parec ended (killed by SIGKILL)`);
    await capture.stop();
  });

  it('a recorder that fails at once: MIC_UNAVAILABLE with what it said', async () => {
    process.env.FAKE_PAREC = 'fail';
    await expect(openCapture({ backend: 'parec', device: 'usb mic', onData: () => {}, onError: () => {} })).rejects.toMatchObject({
      code: 'MIC_UNAVAILABLE',
      message: expect.stringMatching(
        /^Could not record from PulseAudio 'usb mic' via parec \(parec ended \(exit code 1\); parec said: Stream error: No such entity\)\. Check that a microphone/,
      ),
    });
    expect(started().at(-1)?.args).toMatch(/--device=usb mic$/);
  });

  for (const how of ['exits without stop()', 'is killed (SIGKILL)'] as const) {
    it(`a process that ${how}: its recorder ends too`, async () => {
      const before = started().length;
      const script = `const m = await import(${JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/host/capture.js')).href)});
        await m.openCapture({ backend: 'parec', onData() {}, onError() {} });
        process.stdout.write('open\\n');
        ${how === 'exits without stop()' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      const mine = started().slice(before);
      expect(mine).toHaveLength(1);
      if (how === 'is killed (SIGKILL)') child.kill('SIGKILL');
      await new Promise((resolve) => child.once('close', resolve));
      // killed outright, it leaves the recorder a broken pipe: its next write (within 250 ms) ends it
      const deadline = Date.now() + 10_000;
      while (mine.some((p) => alive(p.pid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(mine.filter((p) => alive(p.pid))).toEqual([]);
    });
  }

  it('the CLI with neither naudiodon2 nor a recorder: devices fails with the fix (exit 8)', async () => {
    const env = { ...process.env, PATH: join(dir, 'empty'), PRISM_CAPTURE: 'parec,arecord' }; // nothing on PATH
    const child = spawn(process.execPath, ['bin/prism-dictate.js', 'devices'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(8);
    expect(stderr).toMatch(/Microphone capture needs the sound server's recorder \(parec\) or naudiodon2 \(PortAudio\), and this machine has neither: /);
    expect(stderr).not.toMatch(/npm install naudiodon2`/);
  });
});

describe('the install script', () => {
  it('with neither naudiodon2 nor a recorder says so in a line of its own, where npm does not hide it (/dev/tty) or on stderr', async () => {
    const root = mkdtempSync(join(tmpdir(), 'prism-install-'));
    try {
      mkdirSync(join(root, 'scripts'));
      writeFileSync(join(root, 'package.json'), '{"name":"prism-whisper"}');
      writeFileSync(join(root, 'scripts', 'install.mjs'), readFileSync('scripts/install.mjs'));
      // no naudiodon2 next to it, nothing on PATH: the build of the addon then fails too, after the line
      const child = spawn(process.execPath, [join(root, 'scripts', 'install.mjs')], { env: { ...process.env, PATH: join(root, 'empty') }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (x: string) => {
        stderr += x;
      });
      await new Promise((resolve) => child.once('close', resolve));
      expect(stderr.split('\n')[0]).toBe(
        'prism-whisper: Microphone capture needs parec (pulseaudio-utils) or naudiodon2 (PortAudio), and this machine has neither: prism-dictate doctor says how to get one.',
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('no recorder left behind', () => {
  it('this test file started no process that still runs', () => {
    const mine = readdirSync('/proc').filter((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        return /^\d+$/.test(d) && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid && stat.includes('(parec)');
      } catch {
        return false;
      }
    });
    expect(mine).toEqual([]);
  });
});
