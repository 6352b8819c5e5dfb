/**
 * The desktop through process tools and uiohook, where no in-process connection is had: macOS and
 * Windows (uiohook key taps and hooks, the system clipboard), an X11 session whose X connection failed
 * or was turned off (PRISM_NO_X11=1: xdotool, xsel, uiohook), and no display at all (nothing but the
 * socket commands and stdout).
 */
import type { KeyCombo } from '../../config/keys.js';
import { WhisperError } from '../../errors.js';
import { Hotkey } from '../hotkey.js';
import { keySender } from '../keys.js';
import { type Clipboard, systemClipboard } from '../output.js';
import { hookProblem } from '../uiohook.js';
import type { Capability, CapabilityQuery, Desktop, HotkeyHandle, KeySender, SessionKind, StateView } from './contract.js';
import { sessionLine } from './session.js';

export class ToolsDesktop implements Desktop {
  private constructor(
    readonly session: SessionKind,
    readonly description: string,
    readonly keys: KeySender | undefined,
    readonly keysProblem: string | undefined,
    readonly clipboard: Clipboard | undefined,
    /** why the in-process connection is not used (shown beside the tools) */
    private readonly why: string | undefined,
  ) {}

  static async open(session: SessionKind, o: { why?: string } = {}): Promise<ToolsDesktop> {
    let keys: KeySender | undefined;
    let keysProblem: string | undefined;
    if (session === 'none') keysProblem = 'no display to send keystrokes to (DISPLAY and WAYLAND_DISPLAY unset)';
    else {
      try {
        keys = keySender();
      } catch (e) {
        keysProblem = (e as Error).message;
      }
    }
    const clipboard = session === 'none' ? undefined : await systemClipboard();
    return new ToolsDesktop(session, sessionLine(session), keys, keysProblem, clipboard, o.why);
  }

  async hotkey(combo: KeyCombo, _label: string, onDown: () => void, onUp: () => void): Promise<HotkeyHandle> {
    if (this.session === 'none') throw new WhisperError('HOTKEY_UNAVAILABLE', 'no display to take a hotkey from');
    const h = Hotkey.start(combo, onDown, onUp);
    return { releases: true, via: 'uiohook', stop: () => h.stop() };
  }

  async stateView(): Promise<StateView | undefined> {
    return undefined;
  }

  async capabilities(o: CapabilityQuery): Promise<Capability[]> {
    const why = this.why ? ` (${this.why})` : '';
    const x11 = this.session === 'x11';
    const reaches = x11 ? 'X11 windows' : 'every window';
    const problem = this.session === 'none' ? 'no display' : hookProblem();
    const keyed = o.method === 'paste' || o.method === 'type';
    return [
      problem
        ? { name: 'hotkey', ok: false, mechanism: 'uiohook', reaches: 'none', fix: problem === 'no display' ? 'run it in a desktop session' : problem }
        : {
            name: 'hotkey',
            ok: true,
            mechanism: `${o.hotkeyKeys} observed by uiohook${why}, press and release`,
            reaches: `${reaches} (the focused application sees the keys too)`,
          },
      !keyed
        ? { name: 'typing', ok: true, mechanism: `output.method is ${o.method}: no keystrokes needed`, reaches: '-' }
        : this.session === 'none'
          ? {
              name: 'typing',
              ok: false,
              mechanism: 'none: no display to type into, and no clipboard to copy to',
              reaches: 'none',
              fix: 'run it in a desktop session, or output.method "stdout"',
            }
          : this.keys
            ? {
                name: 'typing',
                ok: this.keys.name.startsWith('uiohook') && x11 ? 'warn' : true,
                mechanism: `${this.keys.name}${why}`,
                reaches: this.keys.name.startsWith('uiohook') && x11 ? 'X11 windows that accept synthetic events (many drop them)' : reaches,
                ...(this.keys.name.startsWith('uiohook') && x11 ? { fix: 'apt install xdotool' } : {}),
              }
            : { name: 'typing', ok: 'warn', mechanism: `none: ${this.keysProblem}`, reaches: 'none: each dictation is copied instead', fix: `press ${o.pasteKeys} to paste it` },
      this.clipboard
        ? { name: 'clipboard', ok: true, mechanism: `${this.clipboard.name ?? 'the system clipboard'}, a process per read or write`, reaches }
        : { name: 'clipboard', ok: o.method === 'stdout' ? 'warn' : false, mechanism: 'none', reaches: 'none', fix: 'run it in a desktop session, or output.method "stdout"' },
      { name: 'indicator', ok: 'warn', mechanism: 'none here (the cues and notifications remain)', reaches: '-' },
    ];
  }

  async close(): Promise<void> {}
}
