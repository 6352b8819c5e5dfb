/**
 * The X11 desktop: the daemon's one in-process X connection (X11Session) for the hotkey grab, the
 * CLIPBOARD, XTest and the indicator; xdotool sends the keys where the server lacks XTest.
 */
import type { KeyCombo } from '../../../config/keys.js';
import { hasXdotool, keySender } from '../../keys.js';
import type { Capability, CapabilityQuery, Desktop, HotkeyHandle, KeySender, StateView, WindowClass } from '../contract.js';
import { sessionLine } from '../session.js';
import { X11Hotkey } from './grab.js';
import type { X11Session } from './session.js';
import { focusedWindowClass, focusedWindowName } from './window.js';

export class X11Desktop implements Desktop {
  readonly session = 'x11' as const;
  readonly description: string;
  readonly keys: KeySender | undefined;
  readonly keysProblem: string | undefined;

  constructor(private readonly x: X11Session) {
    this.description = sessionLine('x11', { DISPLAY: x.display.name });
    let keys: KeySender | undefined = x.keys;
    let problem: string | undefined;
    if (!keys) {
      try {
        keys = keySender(); // no XTest on this server: xdotool (or uiohook's taps)
      } catch (e) {
        problem = `${x.keysProblem}; ${(e as Error).message}`;
      }
    }
    this.keys = keys;
    this.keysProblem = problem;
  }

  get clipboard() {
    return this.x.clipboard;
  }

  async hotkey(combo: KeyCombo, label: string, onDown: () => void, onUp: () => void): Promise<HotkeyHandle> {
    const h = await this.x.grab(combo, label, onDown, onUp);
    return { releases: true, via: 'grabbed on the X display', stop: () => h.stop() };
  }

  focusedWindowName(): Promise<string | undefined> {
    return focusedWindowName(this.x.display);
  }

  focusedWindowClass(): Promise<WindowClass | undefined> {
    return focusedWindowClass(this.x.display);
  }

  async stateView(o: { position: 'top' | 'bottom'; log: (line: string) => void }): Promise<StateView> {
    return this.x.indicator(o.position, o.log);
  }

  async capabilities(o: CapabilityQuery): Promise<Capability[]> {
    const display = this.x.display.name;
    const caps: Capability[] = [];
    if (o.combo) {
      try {
        const h = await X11Hotkey.start(
          this.x.display,
          o.combo,
          () => {},
          () => {},
          { label: o.hotkeyKeys },
        );
        await h.stop();
        caps.push({
          name: 'hotkey',
          ok: true,
          mechanism: `${o.hotkeyKeys}${o.mode ? ` (${o.mode})` : ''} can be grabbed: the focused application never sees it`,
          reaches: `every window on ${display}, press and release`,
        });
      } catch (e) {
        caps.push({ name: 'hotkey', ok: false, mechanism: (e as Error).message, reaches: 'none', fix: 'choose another hotkey.keys, or close the program that holds it' });
      }
    }
    const fallback = hasXdotool() ? 'xdotool (XTest) and xsel, a process each per paste' : 'uiohook synthetic events, which many X clients drop (apt install xdotool)';
    if (o.method === 'stdout' || o.method === 'clipboard') caps.push({ name: 'typing', ok: true, mechanism: `output.method is ${o.method}: no keystrokes needed`, reaches: '-' });
    else if (this.x.keys)
      caps.push({
        name: 'typing',
        ok: true,
        mechanism: `the daemon's X connection: CLIPBOARD owner + XTest, no processes (fallback: ${fallback})`,
        reaches: `X11 windows on ${display}`,
      });
    else if (this.keys) caps.push({ name: 'typing', ok: 'warn', mechanism: `${this.x.keysProblem}; falling back to ${this.keys.name}`, reaches: `X11 windows on ${display}` });
    else caps.push({ name: 'typing', ok: false, mechanism: `none: ${this.keysProblem}`, reaches: 'none: each dictation is copied instead', fix: 'apt install xdotool' });
    caps.push({ name: 'clipboard', ok: true, mechanism: 'the X connection (X11 CLIPBOARD), handed to xsel when the daemon exits', reaches: `X11 windows on ${display}` });
    caps.push({ name: 'indicator', ok: true, mechanism: 'an always-on-top X window', reaches: display });
    return caps;
  }

  close(): Promise<void> {
    return this.x.close();
  }
}
