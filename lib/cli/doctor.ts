/**
 * `prism-dictate doctor`: everything dictation needs, checked and explained one line each — display
 * server and key hooks, microphones with a live level, clipboard and paste path, model, backend,
 * the running daemon. `prism-dictate devices` lists the inputs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { concatSamples, WHISPER_RATE } from '../audio/resample.js';
import { Vad } from '../audio/vad.js';
import { comboLabel, type KeyCombo, parseCombo } from '../config/keys.js';
import type { Config } from '../config/schema.js';
import { WhisperError } from '../errors.js';
import { captureBackend, listInputDevices, openCapture } from '../host/capture.js';
import { type BackendChoice, portAudioInstalled } from '../host/captureBackend.js';
import type { Capability } from '../host/desktop/contract.js';
import { openDesktop } from '../host/desktop/open.js';
import { sessionKind, sessionLine } from '../host/desktop/session.js';
import { chooseInput, type InputDevice } from '../host/devices.js';
import { adviceContext, cudaRebuildCommand, type InstallKind } from '../host/micAdvice.js';
import { defaultPasteKeys } from '../host/output.js';
import { RECORDER_SERVER } from '../host/recorders.js';
import { listSoundSources, matchSource, type SoundSource } from '../host/soundSources.js';
import { loadModel } from '../model.js';
import { inspectModelFile } from '../models/inspect.js';
import { resolveModel } from '../models/pull.js';
import { nativeAddon, nativeOrigin } from '../native.js';
import { ServiceClient } from '../service/client.js';
import { servicePaths } from '../service/home.js';
import { configFor } from './config.js';
import { report } from './exit.js';
import { describeBinary } from './system.js';

export interface Check {
  name: string;
  ok: boolean | 'warn';
  detail: string;
}

async function check(name: string, fn: () => Promise<Omit<Check, 'name'>>): Promise<Check> {
  try {
    return { name, ...(await fn()) };
  } catch (e) {
    return { name, ok: false, detail: (e as Error).message };
  }
}

/** `seconds` of the default (or configured) input: its level in dBFS, and the samples. */
async function liveLevel(device: number | string | undefined, seconds = 1): Promise<{ dbfs: number; seconds: number; pcm: Float32Array }> {
  const blocks: Float32Array[] = [];
  const cap = await openCapture({ device, onData: (pcm) => blocks.push(pcm), onError: () => undefined });
  cap.live(true); // audio as it comes, not in idle batches
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await cap.stop();
  const pcm = concatSamples(blocks);
  let sum = 0;
  for (const x of pcm) sum += x * x;
  const rms = Math.sqrt(sum / Math.max(1, pcm.length));
  return { dbfs: rms > 0 ? 20 * Math.log10(rms) : Number.NEGATIVE_INFINITY, seconds: pcm.length / WHISPER_RATE, pcm };
}

/** A sound server source as `prism-dictate devices` lists it: its description, [its name]. */
const sourceName = (s: SoundSource): string => `"${s.description}" [${s.name}]${s.isDefault ? ' (the default source)' : ''}`;

/**
 * The input a capture opens now for `want` (audio.device), named as `prism-dictate devices` lists it:
 * a sound server source by description and name, a PortAudio device by number and name — and for
 * PortAudio's "default"/"pulse", the sound server's default source it reaches.
 */
export async function inputName(want: number | string | undefined, backend: BackendChoice, portAudio?: InputDevice[], sources?: SoundSource[]): Promise<string> {
  const all = sources ?? (backend.kind === 'parec' ? backend.sources : undefined) ?? (await listSoundSources());
  if (backend.kind === 'portaudio') {
    const { device, source } = await chooseInput(portAudio ?? (await listInputDevices()), want, all);
    if (source) return `${sourceName(source)} through PortAudio #${device.id}`;
    const server = /^(default|pulse)$/i.test(device.name) ? all?.find((s) => s.isDefault) : undefined;
    return `PortAudio #${device.id} "${device.name}"${server ? ` → ${sourceName(server)}` : device.isDefault ? ' (the default input)' : ''}`;
  }
  const byDefault = want === undefined || (typeof want === 'string' && /^(default|pulse)$/i.test(want));
  if (backend.kind === 'parec' && all) {
    const source = byDefault ? all.find((s) => s.isDefault) : typeof want === 'string' ? matchSource(all, want) : undefined;
    if (source) return `${sourceName(source)} via parec`;
  }
  const server = RECORDER_SERVER[backend.kind];
  return byDefault
    ? `${server}'s default input via ${backend.kind} (its name unknown: ${backend.kind === 'parec' ? 'no sound server answers pactl' : 'ALSA does not say'})`
    : `"${want}" via ${backend.kind}`;
}

/** How much of `pcm` WebRTC VAD calls speech, in ms. */
async function speechMs(pcm: Float32Array, c: Config): Promise<number> {
  const vad = await Vad.create({ mode: c.vad.mode, frameMs: c.vad.frameMs });
  try {
    let voiced = 0;
    for (let i = 0; i + vad.frameSamples <= pcm.length; i += vad.frameSamples) if (vad.isSpeech(pcm.subarray(i, i + vad.frameSamples))) voiced += c.vad.frameMs;
    return voiced;
  } finally {
    vad.close();
  }
}

/** What the recording says: on the running service when there is one (and `daemon`), else on the configured model loaded here. */
async function heard(pcm: Float32Array, c: Config, daemon: boolean): Promise<string> {
  const options = { language: c.transcription.language, prompt: c.transcription.prompt, audioCtx: 'auto' as const };
  const client = daemon ? await ServiceClient.connect(servicePaths().socket, 500).catch(() => undefined) : undefined;
  if (client) {
    try {
      return (await client.transcribe(pcm, options)).text.trim();
    } finally {
      client.close();
    }
  }
  const model = await loadModel(c.model, { gpu: c.gpu, threads: c.threads });
  try {
    return (await model.transcribe(pcm, options)).text.trim();
  } finally {
    await model.close();
  }
}

/** Why the recording was not transcribed, and the fix, as one clause: never shown as what was heard. */
export function notTranscribed(e: Error): string {
  const [why, fix] = e.message.split(/;\s*run:\s*/, 2);
  if (fix) return `not transcribed: ${why?.trim()} (fix: ${fix.replace(/\s*\(or pullModel\([^)]*\) in code\)/, '').trim()})`;
  return `not transcribed: ${e.message}`;
}

/** The microphone check that asks the person to speak: level, how much was speech, and the words. */
async function listenCheck(c: Config, seconds: number, name: string, tail: string, daemon: boolean): Promise<Omit<Check, 'name'>> {
  process.stderr.write(`doctor: say a sentence now (recording ${seconds} s from ${name})…\n`);
  const level = await liveLevel(c.audio.device, seconds);
  const voiced = await speechMs(level.pcm, c);
  const db = Number.isFinite(level.dbfs) ? level.dbfs.toFixed(1) : '-inf';
  const head = `${name}: ${level.seconds.toFixed(1)} s recorded, level ${db} dBFS, speech ${(voiced / 1000).toFixed(1)} s`;
  if (voiced < 300) return { ok: 'warn', detail: `${head}: no speech heard (muted, too far, or the wrong input? prism-dictate devices, then audio.device); ${tail}` };
  try {
    const text = await heard(level.pcm, c, daemon);
    if (!text) return { ok: 'warn', detail: `${head}; the model heard no words; ${tail}` };
    return { ok: true, detail: `${head}; heard: "${text}"; ${tail}` };
  } catch (e) {
    // the microphone works; what is missing (the model, mostly) has its own line and fix
    return { ok: 'warn', detail: `${head}; ${notTranscribed(e as Error)}; ${tail}` };
  }
}

/**
 * `prism-dictate …` in a fix, as this install runs it: on PATH after a global install (and in a
 * checkout's own advice), through npx in a project that depends on the package, and through
 * `npx -p prism-whisper` from npx's cache.
 */
export function commandsFor(text: string, install: InstallKind): string {
  const cli = install === 'local' ? 'npx prism-dictate' : install === 'npx' ? 'npx -p prism-whisper prism-dictate' : undefined;
  return cli
    ? text.replace(
        /(^|[\s(:;,])prism-dictate (?=(start|stop|models|devices|doctor|config|status|history|retry|repaste|hotkey|dashboard|serve|system|transcribe|bench)\b)/g,
        `$1${cli} `,
      )
    : text;
}

/** One capability of the desktop as a doctor line: the mechanism, the windows it reaches, the fix. */
function capabilityCheck(cap: Capability | undefined): Omit<Check, 'name'> {
  if (!cap) return { ok: 'warn', detail: 'not reported by this desktop' };
  const reaches = cap.reaches === '-' ? '' : ` — reaches ${cap.reaches}`;
  return { ok: cap.ok, detail: `${cap.mechanism}${reaches}${cap.fix ? `; fix: ${cap.fix}` : ''}` };
}

/** The running daemon's hotkey, when it holds the one this doctor could not take. */
async function daemonHotkey(): Promise<{ pid: number; hotkey: string } | undefined> {
  const daemon = await ServiceClient.connect(servicePaths().socket, 500).catch(() => undefined);
  const st = await daemon?.status().catch(() => undefined);
  daemon?.close();
  return st && typeof st.hotkey === 'string' ? { pid: Number(st.pid), hotkey: st.hotkey } : undefined;
}

/** The running daemon, as doctor reports it: pid, backend, its model's path, the dictation host's state. */
async function runningDaemon(): Promise<{ pid: number; backend: string; model?: string; host?: string } | undefined> {
  const client = await ServiceClient.connect(servicePaths().socket, 500).catch(() => undefined);
  if (!client) return undefined;
  try {
    const st = (await client.status()) as Record<string, unknown> & { pid: number; backend: string };
    const model = (st.model as { path?: unknown } | undefined)?.path;
    const host = (st.host as { state?: unknown } | undefined)?.state;
    return {
      pid: Number(st.pid),
      backend: String(st.backend),
      ...(typeof model === 'string' ? { model } : {}),
      ...(st.host ? { host: typeof host === 'string' ? host : 'on' } : {}),
    };
  } catch {
    return undefined;
  } finally {
    client.close();
  }
}

/** Whether this machine has an NVIDIA GPU at all (its device node or its driver's tool). */
function nvidiaPresent(): boolean {
  if (process.platform === 'darwin') return false;
  if (existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version')) return true;
  return spawnSync('nvidia-smi', ['-L'], { stdio: 'ignore', timeout: 3000 }).status === 0;
}

/** What the desktop can do for the daemon, asked of the backend the daemon would choose. */
export async function desktopCapabilities(c: Config, env: NodeJS.ProcessEnv = process.env): Promise<Capability[]> {
  const desktop = await openDesktop({ config: c, log: () => undefined, env });
  try {
    const combo = parseCombo(c.hotkey.keys);
    return await desktop.capabilities({
      hotkeyKeys: c.hotkey.keys,
      ...(c.hotkey.enabled && typeof combo !== 'string' ? { combo, mode: c.hotkey.mode } : {}),
      method: c.output.method,
      pasteKeys: comboLabel(parseCombo(c.output.pasteKeys ?? defaultPasteKeys()) as KeyCombo),
    });
  } finally {
    await desktop.close();
  }
}

export async function runDoctor(cmd: Command, o: { listenSeconds?: number; model?: string } = {}): Promise<Check[]> {
  const c = configFor(cmd, o.model === undefined ? {} : { model: o.model });
  const checks: Check[] = [];
  const session = sessionKind(c.desktop.session);
  checks.push({
    name: 'display',
    ok: session !== 'none',
    detail: session === 'none' ? `${sessionLine(session)}: paste and hotkeys need a desktop session` : sessionLine(session),
  });
  const caps = await desktopCapabilities(c).catch((e: Error) => e);
  const cap = (name: Capability['name']) =>
    caps instanceof Error ? ({ name, ok: false, mechanism: caps.message, reaches: 'none' } as Capability) : caps.find((x) => x.name === name);
  checks.push(
    await check('hotkey', async () => {
      if (!c.hotkey.enabled) return { ok: 'warn', detail: 'off in the config: only socket commands trigger dictation' };
      const line = capabilityCheck(cap('hotkey'));
      if (line.ok !== false || session !== 'x11') return line;
      const held = await daemonHotkey(); // the running daemon holding the grab is why this one could not take it
      return held?.hotkey === 'grabbed' ? { ok: true, detail: `${c.hotkey.keys} (${c.hotkey.mode}) is grabbed by the running daemon (pid ${held.pid})` } : line;
    }),
  );
  checks.push(
    await check('microphone', async () => {
      const backend = await captureBackend(); // MIC_UNAVAILABLE saying how to get one, for this install
      const portAudio = backend.kind === 'portaudio' ? await listInputDevices() : undefined;
      const inputs = portAudio ? portAudio.length : ((backend.kind === 'parec' ? backend.sources : undefined)?.filter((x) => !x.monitor).length ?? 1);
      if (inputs === 0) return { ok: false, detail: `${backend.why}: no input device found` };
      const name = await inputName(c.audio.device, backend, portAudio);
      const tail = `${backend.why}; ${inputs} input${inputs === 1 ? '' : 's'} (prism-dictate devices)`;
      try {
        if (o.listenSeconds) return await listenCheck(c, o.listenSeconds, name, tail, o.model === undefined);
        const level = await liveLevel(c.audio.device);
        const quiet = !(level.dbfs > -70);
        return {
          ok: quiet ? 'warn' : true,
          detail: `${name}: ${level.seconds.toFixed(1)} s read, level ${Number.isFinite(level.dbfs) ? level.dbfs.toFixed(1) : '-inf'} dBFS${quiet ? ' (silent: muted or the wrong input?)' : ''}; ${tail}`,
        };
      } catch (e) {
        return { ok: false, detail: `${name}: ${(e as Error).message}` };
      }
    }),
  );
  checks.push(await check('clipboard', async () => capabilityCheck(cap('clipboard'))));
  checks.push(await check('paste', async () => capabilityCheck(cap('typing'))));
  checks.push(await check('indicator', async () => (c.indicator.enabled ? capabilityCheck(cap('indicator')) : { ok: true, detail: 'off in the config' })));
  const running = await runningDaemon();
  checks.push(
    await check('model', async () => {
      // the model the running daemon has loaded is the one dictation uses, whatever the config says (--model asks about another)
      const daemons = o.model === undefined ? running?.model : undefined;
      let path: string;
      try {
        path = daemons ?? resolveModel(c.model);
      } catch (e) {
        // a known model not fetched yet is what a first start fetches (it asks): not a failure before the first start
        const fetchable = WhisperError.is(e, 'MODEL_NOT_FOUND') && /is not (downloaded|made) yet/.test(e.message);
        return fetchable
          ? { ok: 'warn', detail: `${e.message.split(/;\s*run:/)[0]}: prism-dictate start asks to fetch it (or first: prism-dictate models pull ${c.model})` }
          : { ok: false, detail: (e as Error).message };
      }
      if (!existsSync(path)) return { ok: false, detail: `${path}, the model the running daemon loaded, is gone` };
      const info = await inspectModelFile(path);
      return {
        ok: true,
        detail: `${path}${daemons ? " (the running daemon's)" : ''} (${info.tensors} tensors, ${info.types.join('/')}, ${(info.bytes / 1e6).toFixed(0)} MB)`,
      };
    }),
  );
  checks.push(
    await check('backend', async () => {
      const addon = nativeAddon();
      const binary = describeBinary(nativeOrigin());
      const gpus = addon.devices().filter((d) => d.type === 'gpu');
      if (c.gpu === 'cpu') return { ok: true, detail: `CPU (gpu: cpu in the config); ${binary}` };
      if (gpus.length) return { ok: true, detail: `GPU ${gpus.map((g) => g.description).join(', ')}; ${binary}` };
      // no NVIDIA GPU in this machine at all: the CPU is the right backend, nothing to rebuild
      if (!addon.cuda && !nvidiaPresent()) return { ok: c.gpu !== 'cuda', detail: `CPU (no GPU found); ${binary}` };
      return {
        ok: c.gpu === 'cuda' ? false : 'warn',
        detail: `${addon.cuda ? 'CUDA build but no usable GPU (driver, CUDA_VISIBLE_DEVICES?)' : `an NVIDIA GPU is here but this build has no CUDA (with the CUDA toolkit: ${cudaRebuildCommand(adviceContext())})`}: inference runs on the CPU; ${binary}`,
      };
    }),
  );
  checks.push(
    await check('daemon', async () => {
      if (!running) return { ok: 'warn', detail: `not running for ${servicePaths().home} (prism-dictate start)` };
      return { ok: true, detail: `running (pid ${running.pid}, ${running.backend}, ${running.host ? `dictation ${running.host}` : 'service only: no dictation host'})` };
    }),
  );
  // the commands in the fixes as this install runs them (a project's dependency has no prism-dictate on PATH)
  const kind = adviceContext().install;
  return checks.map((ch) => ({ ...ch, detail: commandsFor(ch.detail, kind) }));
}

export function doctorCommands(program: Command): void {
  program
    .command('doctor')
    .description('check the display, hotkey, microphone, clipboard, paste path, model and backend')
    .option('--json', 'print JSON')
    .option('--listen [seconds]', 'ask you to speak and say what was heard (the default on a terminal: 4 s)')
    .option('--no-listen', 'only a quiet 1 s level reading of the microphone')
    .option('--model <name|path>', "check this model (default: the running daemon's, else the config's)")
    .action(async (o: { json?: boolean; listen?: boolean | string; model?: string }, cmd: Command) => {
      try {
        // on a terminal a person is there to speak; scripts and --json get the quiet reading unless asked
        const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY) && !o.json;
        const listenSeconds = typeof o.listen === 'string' ? Number(o.listen) : o.listen === true || (o.listen === undefined && interactive) ? 4 : undefined;
        if (listenSeconds !== undefined && !(listenSeconds >= 1 && listenSeconds <= 30)) throw new WhisperError('BAD_ARGUMENT', '--listen takes 1 to 30 seconds');
        const checks = await runDoctor(cmd, { listenSeconds, ...(o.model === undefined ? {} : { model: o.model }) });
        if (o.json) process.stdout.write(`${JSON.stringify(checks, null, 2)}\n`);
        else for (const ch of checks) process.stdout.write(`${ch.ok === true ? 'ok  ' : ch.ok === 'warn' ? 'warn' : 'FAIL'}  ${ch.name.padEnd(10)} ${ch.detail}\n`);
        if (checks.some((ch) => ch.ok === false)) process.exitCode = 1;
      } catch (e) {
        report(e);
      }
    });

  program
    .command('devices')
    .description("list the audio inputs: the sound server's sources and PortAudio devices, and which way the microphone is recorded")
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      try {
        const [backend, sources] = await Promise.all([captureBackend(), listSoundSources()]);
        const inputs = portAudioInstalled() ? await listInputDevices() : undefined;
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ backend: backend.kind, via: backend.why, devices: inputs ?? null, sources: sources ?? null }, null, 2)}\n`);
          return;
        }
        process.stdout.write(`microphone recorded through ${backend.why}\n`);
        if (inputs) {
          process.stdout.write('PortAudio inputs (audio.device: the number, or the name):\n');
          if (inputs.length === 0) process.stdout.write('  none found\n');
          for (const d of inputs)
            process.stdout.write(
              `${String(d.id).padStart(3)}${d.isDefault ? '*' : ' '} ${d.name} (${d.maxInputChannels} ch, ${d.defaultSampleRate} Hz${d.hostApi ? `, ${d.hostApi}` : ''})\n`,
            );
        }
        if (sources) {
          process.stdout.write('sound server sources (PulseAudio/PipeWire; audio.device: the name or a part of the description):\n');
          for (const src of sources.filter((x) => !x.monitor)) process.stdout.write(`  ${src.isDefault ? '*' : ' '} ${src.description}  [${src.name}]\n`);
          const monitors = sources.filter((x) => x.monitor).length;
          if (monitors) process.stdout.write(`  (and ${monitors} monitor source${monitors > 1 ? 's' : ''} of outputs: what is played, also selectable by name)\n`);
        }
      } catch (e) {
        report(e);
      }
    });
}
