/**
 * Puts the dictation host together next to the service: VAD, history, clipboard and keys, the
 * microphone (reopened if it goes away), the global hotkey (where the desktop allows one) and the
 * socket commands (toggle, begin, end, cancel, repaste, retry) as CONTROL actions of the service.
 */
import { join } from 'node:path';
import { Vad } from '../audio/vad.js';
import { comboLabel, type KeyCombo, parseCombo } from '../config/keys.js';
import type { Config } from '../config/schema.js';
import type { Engine } from '../engine/contract.js';
import type { ServiceExtension } from '../service/server.js';
import { HOST_ACTIONS, type HostAction } from './actions.js';
import { type Capture, openCapture } from './capture.js';
import { cues } from './cue.js';
import type { HotkeyHandle, StateView, VisibleState } from './desktop/contract.js';
import { openDesktop } from './desktop/open.js';
import { DictationHost } from './dictation.js';
import { History } from './history.js';
import type { KeySender } from './keys.js';
import { type Clipboard, defaultPasteKeys, Output } from './output.js';
import type { LiveText } from './preview.js';
import { listSoundSources } from './soundSources.js';
import { TRIGGER_PIPE, TriggerPipe } from './triggerPipe.js';

export { HOST_ACTIONS, type HostAction };

export interface RunningHost {
  host: DictationHost;
  /** how the hotkey, microphone and output were set up, one line each */
  report: string[];
  extension: ServiceExtension;
  /** what the dashboard shows about the setup: microphone, hotkey, mode, output */
  about(): Record<string, string>;
  /** what to do to dictate, in a line ("hold Meta+Alt+V while you speak …"): the start message ends with it */
  readonly hint: string;
  stop(): Promise<void>;
}

export { defaultPasteKeys };

/**
 * What to do with the hotkey, in a line: which chord, held or pressed, as the mode makes it (and as
 * the desktop allows: one that reports presses only makes every mode a toggle).
 */
export function hotkeyHint(keys: string, mode: Config['hotkey']['mode'], releases = true): string {
  const k = comboLabel(parseCombo(keys) as KeyCombo);
  if (mode === 'toggle' || !releases) return `press ${k} to start dictating, press it again to stop${releases ? '' : ' (this desktop reports presses only)'}`;
  if (mode === 'hold') return `hold ${k} while you speak, release it to paste`;
  return `hold ${k} while you speak (release to paste), or tap it to dictate hands-free and tap again to stop`;
}

/**
 * The microphone as people know it: PortAudio's "default" or "pulse" device is the sound server's
 * default source (PulseAudio, PipeWire), named by its description; any other device by its own name.
 */
export async function microphoneName(
  device: string,
  sources: () => Promise<Array<{ name: string; description: string; isDefault: boolean }> | undefined> = listSoundSources,
): Promise<string> {
  const through = /^(default|pulse) via (.+)$/.exec(device);
  if (!through) return device;
  const source = (await sources().catch(() => undefined))?.find((s) => s.isDefault);
  return source ? `${source.description} (${source.name}, the sound server's default, via ${through[2]})` : device;
}

export async function startHost(o: { config: Config; engine: Engine; home: string; log: (line: string) => void; notify: (message: string) => void }): Promise<RunningHost> {
  const { config: c, log, notify } = o;
  const report: string[] = [];
  const vad = await Vad.create({ mode: c.vad.mode, frameMs: c.vad.frameMs });
  const history = new History(join(o.home, 'history'), c.history);

  // The desktop, chosen once from the session: X11 (one in-process connection), Wayland, or the tools
  const desktop = await openDesktop({ config: c, log, notify, home: o.home });
  report.push(`desktop    ${desktop.description}`);
  const keyed = c.output.method === 'paste' || c.output.method === 'type';
  const keys: KeySender | undefined = keyed ? desktop.keys : undefined;
  const noKeys = keyed && !keys ? (desktop.keysProblem ?? 'no way to send keystrokes here') : undefined;
  const clipboard: Clipboard | undefined = c.output.method !== 'stdout' ? desktop.clipboard : undefined;
  const pasteKeys = parseCombo(c.output.pasteKeys ?? defaultPasteKeys()) as KeyCombo;
  // No keystrokes: the whole dictation goes to the clipboard, to stay there until the user pastes it;
  // no clipboard to paste through (Wayland without wl-clipboard): the text is typed.
  const method = keyed && !keys ? 'clipboard' : c.output.method === 'paste' && !clipboard && keys ? 'type' : c.output.method;
  // X11: the chord follows the focused window's class (terminals, xterm) unless output.pasteKeys is set
  const windowClass = desktop.focusedWindowClass?.bind(desktop);
  const output = new Output({ ...c.output, method }, pasteKeys, clipboard, keys, undefined, undefined, windowClass);
  if (noKeys) notify(`${noKeys}: ${c.output.method} is not possible here, each dictation is copied to the clipboard (press ${output.pasteLabel} to paste it)`);
  const clipboardName = clipboard?.name ?? 'the clipboard';
  const via = method === 'stdout' ? '' : ` via ${keys && method !== 'clipboard' ? `${keys.name}, clipboard through ${clipboardName}` : clipboardName}`;
  const instead =
    method === 'clipboard' && keyed
      ? ` instead of ${c.output.method} (${noKeys}; press ${output.pasteLabel} to paste)`
      : method !== c.output.method
        ? ` instead of ${c.output.method} (no clipboard here)`
        : '';
  report.push(`output     ${method}${via}${method === 'paste' ? ` (${output.pasteChords})` : ''}${instead}`);

  // a state view that is itself a notification (Wayland) shows "copied — press Ctrl+V": no second bubble
  let viewNotifies = false;
  const hostNotify = (m: string) => (viewNotifies && m.startsWith('copied ') ? log(m) : notify(m));
  const host = new DictationHost({
    config: c,
    engine: o.engine,
    history,
    output,
    vad,
    log,
    notify: hostNotify,
    // the window the text went to, and the chord when its class chose one other than pasteKeys (a terminal)
    ...(desktop.focusedWindowName
      ? {
          focusedWindow: async () => {
            const chord = output.lastChosen; // the paste just made (read before the lookup: another may follow)
            const w = await desktop.focusedWindowName?.();
            return w && chord ? `${w}, pasted with ${chord}` : w;
          },
        }
      : {}),
  });
  // The microphone: opened once, kept open; while it is missing, tried again after 3 s, backing off to 30 s.
  let capture: Capture | undefined;
  /** the microphone's name as people know it (the sound server's source for PortAudio's default device) */
  let micName: string | undefined;
  let micLine = '';
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let retryMs = 3000;
  // Live 20–50 ms blocks while recording; back to cheap batches once the utterance's last block is in.
  let batchTimer: NodeJS.Timeout | undefined;
  const cue = c.cue.enabled ? cues(o.home, log, c.cue.volume) : undefined;
  host.on('copied', () => cue?.copied());
  host.on('state', (state: string) => {
    if (state === 'recording') cue?.start();
    else cue?.stop();
    clearTimeout(batchTimer);
    if (state === 'recording') capture?.live(true);
    else batchTimer = setTimeout(() => host.state === 'idle' && capture?.live(false), c.audio.blockMs + 200);
  });

  /** Opens the microphone; `again`: a reopen, which the log tells (the first open is in the start report). */
  const open = async (again: boolean): Promise<void> => {
    try {
      capture = await openCapture({
        device: c.audio.device,
        blockMs: c.audio.blockMs,
        idlePeriodMs: c.audio.idlePeriodMs,
        onData: (pcm) => host.feed(pcm),
        onNote: (message) => log(`microphone: ${message}`),
        onError: (e) => {
          host.micLost(e.message);
          const lost = capture;
          capture = undefined;
          void lost?.stop().catch(() => undefined);
          retryMs = 3000;
          if (!stopped) retry = setTimeout(reopen, retryMs);
        },
      });
      host.setMicrophone(undefined);
      retryMs = 3000;
      const streams = capture.streams === 2 ? `${c.audio.idlePeriodMs} ms periods while idle, ${c.audio.blockMs} ms blocks while recording` : `${c.audio.blockMs} ms blocks`;
      micName = await microphoneName(capture.device.name);
      micLine = `${micName} (${capture.rate} Hz → 16 kHz, ${streams})`;
      if (again) log(`microphone ${micLine}`);
    } catch (e) {
      host.setMicrophone((e as Error).message);
      if (!stopped) retry = setTimeout(reopen, retryMs);
      retryMs = Math.min(30_000, retryMs * 2);
      throw e;
    }
  };
  const reopen = (): void => {
    open(true).then(
      () => notify('microphone back'),
      () => undefined, // still missing: open() has scheduled the next try
    );
  };
  try {
    await open(false);
    report.push(`microphone ${micLine}`);
  } catch (e) {
    notify(`no microphone yet: ${(e as Error).message} (trying again in the background)`);
    report.push(`microphone none yet: ${(e as Error).message}`);
  }

  let hotkey: HotkeyHandle | undefined;
  /** for status and doctor: 'grabbed' / 'hooked', 'off', or 'none: why' */
  let hotkeyState = 'off';
  /** what to do with the hotkey, for the dashboard */
  let hint = 'hotkey off: run prism-dictate toggle (or begin/end), e.g. from a key binding';
  if (c.hotkey.enabled) {
    const combo = parseCombo(c.hotkey.keys) as KeyCombo;
    const down = () => safely(() => host.hotkeyDown());
    const up = () => safely(() => host.hotkeyUp());
    try {
      // X11: a passive grab (the focused app never sees the keys); Wayland: the portal, evdev or the compositor's binding
      hotkey = await desktop.hotkey(combo, c.hotkey.keys, down, up);
      hotkeyState = hotkey.via.startsWith('grabbed') ? 'grabbed' : hotkey.via;
      hint = hotkeyHint(c.hotkey.keys, c.hotkey.mode, hotkey.releases);
      const holdNote = hotkey.releases || c.hotkey.mode === 'toggle' ? '' : '; presses only, so a hold works as a tap (toggle)';
      report.push(`hotkey     ${c.hotkey.keys} (${c.hotkey.mode}, ${hotkey.via}${holdNote})`);
    } catch (e) {
      notify(`no global hotkey: ${(e as Error).message}; prism-dictate toggle|begin|end still work`);
      hotkeyState = `none: ${(e as Error).message}`;
      hint = 'no global hotkey here: run prism-dictate toggle (or begin/end), e.g. from a key binding';
      report.push(`hotkey     ${hotkeyState}`);
    }
  } else report.push('hotkey     off (socket commands only)');

  let indicator: StateView | undefined;
  if (c.indicator.enabled) {
    indicator = await desktop.stateView({ position: c.indicator.position, log, pasteLabel: output.pasteLabel }).catch((e: Error) => {
      log(`indicator: ${e.message}`);
      return undefined;
    });
    if (indicator) {
      const shown = indicator;
      viewNotifies = indicator.notifies === true;
      host.on('indicator', (state: VisibleState, label?: string) => shown.show(state, label));
      host.on('level', (rms: number) => shown.level(rms));
      host.on('live', (t: LiveText) => shown.live?.(t.committed, t.tail));
      report.push(`indicator  ${desktop.session === 'x11' ? `${c.indicator.position} of the screen` : 'a notification replaced in place'}`);
    } else report.push('indicator  none here (the cues remain)');
  } else report.push('indicator  off');

  function safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      log((e as Error).message);
    }
  }

  // The trigger pipe: a compositor binding's `echo press 1<>PIPE` instead of a prism-dictate process
  let pipe: TriggerPipe | undefined;
  if (process.platform === 'linux') {
    try {
      pipe = TriggerPipe.open(join(o.home, TRIGGER_PIPE), (action) => safely(() => log(`trigger pipe: ${action} → ${host[action]()}`)), log);
      report.push(`pipe       ${pipe.path} (echo press|release|toggle 1<> it: a key binding without a process start)`);
    } catch (e) {
      report.push(`pipe       none: ${(e as Error).message}`);
    }
  }

  const extension: ServiceExtension = {
    control(request) {
      const action = (request as { action?: string })?.action;
      if (!HOST_ACTIONS.includes(action as HostAction)) return undefined;
      return (async () => {
        let result: string;
        if (action === 'repaste') {
          const r = await host.repaste();
          result = `${r.outcome}${r.hint ? ` (${r.hint})` : ''}: ${r.text}`;
        } else if (action === 'retry') {
          const id = (request as { id?: unknown }).id;
          const r = await host.retry(typeof id === 'string' && id ? { id } : {});
          result = `transcribed: ${r.text}${r.hint ? ` (${r.outcome}: ${r.hint})` : ''}`;
        } else result = host[action as 'toggle' | 'begin' | 'end' | 'press' | 'release' | 'cancel']();
        return { result, host: host.status(), hotkey: hotkeyState };
      })();
    },
    status: () => ({ host: host.status(), hotkey: hotkeyState }),
  };

  return {
    host,
    report,
    extension,
    hint,
    about: () => ({
      microphone: capture ? (micName ?? capture.device.name) : 'none yet',
      hint,
      hotkey: c.hotkey.enabled ? `${c.hotkey.keys} (${hotkeyState})` : 'off: prism-dictate toggle|begin|end',
      ...(c.hotkey.enabled ? { mode: c.hotkey.mode } : {}),
      output: method,
    }),
    stop: async () => {
      stopped = true;
      clearTimeout(retry);
      clearTimeout(batchTimer);
      await hotkey?.stop();
      pipe?.close();
      await capture?.stop().catch(() => undefined);
      host.cancel('stopped');
      await host.drain();
      await output.flush();
      indicator?.close();
      await desktop.close(); // X11: what we serve on the clipboard goes to xsel first
      vad.close();
    },
  };
}
