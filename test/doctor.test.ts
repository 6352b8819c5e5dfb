/**
 * `prism-dictate doctor` tells the truth (issue 27, item 3): it names the microphone it would open,
 * never prints an error as if it were what was heard, gives fixes that work for the way the package
 * was installed, and exits 0 when dictation works (warnings allowed), 1 only on a FAIL line.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandsFor, inputName, notTranscribed } from '../lib/cli/doctor.js';
import { WhisperError } from '../lib/errors.js';
import type { BackendChoice } from '../lib/host/captureBackend.js';
import type { InputDevice } from '../lib/host/devices.js';
import { type AdviceContext, cudaRebuildCommand, installKind, installMicCommand, micFix, rebuildCommand } from '../lib/host/micAdvice.js';
import type { Recorder } from '../lib/host/recorders.js';
import type { SoundSource } from '../lib/host/soundSources.js';
import { type Desktop, desktopMissing, startDesktop } from './e2e/desktop.js';
import { JFK, root, runCli } from './helpers.js';

describe('fixes for the way the package was installed (each tried on a packed tarball installed that way)', () => {
  const ctx = (o: Partial<AdviceContext>): AdviceContext => ({
    platform: 'linux',
    install: 'global',
    root: '/home/me/.npm-global/lib/node_modules/prism-whisper',
    packageManager: 'apt',
    writable: true,
    naudiodon: '2.5.0',
    ...o,
  });

  it('npx: the package in npx cache is told apart from a project dependency', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-npx-'));
    try {
      const pkg = join(dir, '.npm', '_npx', '0123abcd', 'node_modules', 'prism-whisper');
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(dir, '.npm', '_npx', '0123abcd', 'package.json'), '{}');
      expect(installKind(pkg)).toBe('npx');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the missing microphone module: built into the global package itself, or by npm install in the project that holds it', () => {
    // not "npm install naudiodon2" in whatever folder the person is in (a global install never looks there)
    expect(installMicCommand(ctx({}))).toBe('cd "/home/me/.npm-global/lib/node_modules/prism-whisper" && npm install --no-save --omit=dev naudiodon2@2.5.0');
    expect(installMicCommand(ctx({ root: '/usr/lib/node_modules/prism-whisper', writable: false }))).toBe(
      'cd "/usr/lib/node_modules/prism-whisper" && sudo npm install --no-save --omit=dev naudiodon2@2.5.0',
    );
    expect(installMicCommand(ctx({ install: 'local', root: '/home/me/app/node_modules/prism-whisper' }))).toBe('cd "/home/me/app" && npm install');
    expect(installMicCommand(ctx({ install: 'npx', root: '/home/me/.npm/_npx/0123abcd/node_modules/prism-whisper' }))).toBe('cd "/home/me/.npm/_npx/0123abcd" && npm install');
    expect(installMicCommand(ctx({ install: 'checkout', root: '/src/prism-whisper' }))).toBe('cd "/src/prism-whisper" && npm install');
    expect(micFix(ctx({}))).toMatch(
      /then cd "\/home\/me\/\.npm-global\/lib\/node_modules\/prism-whisper" && npm install --no-save --omit=dev naudiodon2@2\.5\.0 to build naudiodon2/,
    );
    expect(rebuildCommand(ctx({ install: 'local', root: '/home/me/app/node_modules/prism-whisper' }))).toBe('cd "/home/me/app" && npm rebuild naudiodon2 --foreground-scripts');
  });

  it('rebuilding for CUDA: npm rebuild -g for a global install, in the project for a dependency, build:native in a checkout', () => {
    expect(cudaRebuildCommand(ctx({}))).toBe('PRISM_CUDA=1 npm rebuild -g prism-whisper --foreground-scripts');
    expect(cudaRebuildCommand(ctx({ writable: false }))).toBe('sudo PRISM_CUDA=1 npm rebuild -g prism-whisper --foreground-scripts');
    expect(cudaRebuildCommand(ctx({ install: 'local', root: '/home/me/app/node_modules/prism-whisper' }))).toBe(
      'cd "/home/me/app" && PRISM_CUDA=1 npm rebuild prism-whisper --foreground-scripts',
    );
    expect(cudaRebuildCommand(ctx({ install: 'checkout', root: '/src/prism-whisper' }))).toBe('cd "/src/prism-whisper" && PRISM_CUDA=1 npm run build:native');
    // Windows: PowerShell's way of setting the variable and of chaining (no sh there)
    expect(cudaRebuildCommand(ctx({ platform: 'win32', root: 'C:\\Users\\me\\AppData\\Roaming\\npm\\node_modules\\prism-whisper' }))).toBe(
      "$env:PRISM_CUDA='1'; npm rebuild -g prism-whisper --foreground-scripts",
    );
    expect(cudaRebuildCommand(ctx({ platform: 'win32', install: 'local', root: 'C:\\app\\node_modules\\prism-whisper' }))).toMatch(
      /^cd ".*"; \$env:PRISM_CUDA='1'; npm rebuild prism-whisper --foreground-scripts$/,
    );
  });
});

describe('the prism-dictate commands in a fix', () => {
  it('are run through npx where the package is a dependency (no prism-dictate on PATH), as they are after a global install', () => {
    const line =
      'model "base.en" is not downloaded yet (142 MiB): prism-dictate start asks to fetch it (or first: prism-dictate models pull base.en); prism-dictate is not running';
    expect(commandsFor(line, 'global')).toBe(line);
    expect(commandsFor(line, 'local')).toBe(
      'model "base.en" is not downloaded yet (142 MiB): npx prism-dictate start asks to fetch it (or first: npx prism-dictate models pull base.en); prism-dictate is not running',
    );
    expect(commandsFor('(prism-dictate devices)', 'npx')).toBe('(npx -p prism-whisper prism-dictate devices)');
  });
});

describe('the microphone doctor names', () => {
  const sources: SoundSource[] = [
    { name: 'alsa_input.usb-Logi_Webcam-02.mono', description: 'Webcam Mic', isDefault: true, monitor: false },
    { name: 'desk', description: 'Desk USB Microphone', isDefault: false, monitor: false },
    { name: 'speakers.monitor', description: 'Monitor of Speakers', isDefault: false, monitor: true },
  ];
  const parec: BackendChoice = { kind: 'parec', recorder: { tool: 'parec', path: '/usr/bin/parec' } as Recorder, sources, why: 'PulseAudio via parec' };
  const portaudio: BackendChoice = { kind: 'portaudio', naudiodon: '/x/naudiodon2/index.js', why: 'PortAudio (naudiodon2)' };
  const devices: InputDevice[] = [
    { id: 0, name: 'pulse', maxInputChannels: 32, defaultSampleRate: 44100, isDefault: false, hostApi: 'ALSA' },
    { id: 1, name: 'default', maxInputChannels: 32, defaultSampleRate: 44100, isDefault: true, hostApi: 'ALSA' },
    { id: 2, name: 'HDA Intel PCH: ALC257 Analog (hw:0,0)', maxInputChannels: 2, defaultSampleRate: 48000, isDefault: false, hostApi: 'ALSA' },
  ];

  it('by the name devices lists, never just "default"', async () => {
    expect(await inputName(undefined, parec)).toBe('"Webcam Mic" [alsa_input.usb-Logi_Webcam-02.mono] (the default source) via parec');
    expect(await inputName('desk', parec)).toBe('"Desk USB Microphone" [desk] via parec');
    // PortAudio's "default" is the sound server's default source: named
    expect(await inputName(undefined, portaudio, devices, sources)).toBe('PortAudio #1 "default" → "Webcam Mic" [alsa_input.usb-Logi_Webcam-02.mono] (the default source)');
    expect(await inputName(2, portaudio, devices, sources)).toBe('PortAudio #2 "HDA Intel PCH: ALC257 Analog (hw:0,0)"');
    expect(await inputName('Desk USB', portaudio, devices, sources)).toBe('"Desk USB Microphone" [desk] through PortAudio #0');
  });

  it('says when the name cannot be known (no sound server answering)', async () => {
    const silent: BackendChoice = { ...parec, sources: undefined } as BackendChoice;
    expect(await inputName(undefined, silent, undefined, [])).toMatch(/^PulseAudio's default input via parec \(its name unknown: no sound server answers pactl\)$/);
  });
});

describe('what doctor says it heard', () => {
  it('an error is "not transcribed: why (fix: …)", never the words heard', () => {
    const e = new WhisperError('MODEL_NOT_FOUND', `model "base.en" is not downloaded yet (142 MiB); run: prism-dictate models pull base.en (or pullModel('base.en') in code)`);
    expect(notTranscribed(e)).toBe('not transcribed: model "base.en" is not downloaded yet (142 MiB) (fix: prism-dictate models pull base.en)');
    expect(notTranscribed(new Error('the engine stopped'))).toBe('not transcribed: the engine stopped');
  });
});

const missing = desktopMissing();

describe.skipIf(missing)(`doctor on a headless desktop${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let desktop: Desktop;
  let home: string;
  beforeAll(async () => {
    desktop = await startDesktop();
    home = await mkdtemp(join(tmpdir(), 'prism-doctor-'));
  });
  afterAll(async () => {
    await desktop?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** doctor --listen: JFK is played into the microphone once doctor asks for a sentence. */
  function listen(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [join(root, 'bin', 'prism-dictate.js'), 'doctor', '--listen', '6', ...args], {
        env: { ...desktop.env, PRISM_DICTATE_HOME: home },
      });
      let stdout = '';
      let stderr = '';
      let played: Promise<void> | undefined;
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
        if (!played && stderr.includes('say a sentence now')) played = desktop.play(JFK);
      });
      child.on('error', reject);
      child.on('close', (code) => void (played ?? Promise.resolve()).then(() => resolve({ code, stdout, stderr }), reject));
    });
  }

  it('names the microphone, says why nothing was transcribed (no model yet) as a warning, and exits 0', async () => {
    const r = await listen([]);
    const mic = r.stdout.split('\n').find((l) => /^\S+\s+microphone /.test(l)) ?? '';
    expect(mic).toMatch(/^warn {2}microphone "Virtual_Microphone" \[vmic\] \(the default source\) via parec: /);
    expect(mic).toMatch(/speech [1-9]\.\d s; not transcribed: model "base\.en" is not downloaded yet \(\d+ MiB\) \(fix: prism-dictate models pull base\.en\)/);
    expect(mic).not.toMatch(/heard/);
    expect(r.stdout).toMatch(/^warn {2}model {6}model "base\.en" is not downloaded yet .*prism-dictate start asks to fetch it/m);
    expect(r.stdout).not.toMatch(/^FAIL/m);
    expect(r.code, r.stdout).toBe(0);
  }, 120_000);

  it('with a model (--model), says the words heard', async () => {
    expect((await runCli(['models', 'pull', 'test-tiny.en'], { PRISM_DICTATE_HOME: home })).code).toBe(0);
    const r = await listen(['--model', 'test-tiny.en']);
    expect(r.stdout).toMatch(/^ok {4}microphone "Virtual_Microphone" \[vmic\] .* heard: ".*country.*"/im);
    expect(r.stdout).toMatch(/^ok {4}model {6}\S*ggml-test-tiny\.en\.bin/m);
    expect(r.code, r.stdout).toBe(0);
  }, 120_000);
});
