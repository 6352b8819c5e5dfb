/**
 * The Wayland desktop: keystrokes through the tool the compositor accepts (wtype's virtual keyboard on
 * wlroots compositors and Hyprland, ydotool's uinput on GNOME and KDE where it is set up), the Wayland
 * clipboard (wl-copy/wl-paste), the hotkey from the compositor's own binding (press → begin, release →
 * end), the GlobalShortcuts portal or the keyboards' evdev devices, and the state as a desktop
 * notification replaced in place. XWayland windows are reached the same way: the compositor routes the
 * virtual keyboard and hands the Wayland clipboard to the X window that has the focus.
 *
 * The parts are given (see open.ts, which finds them): this class only answers the contract with them.
 */
import type { KeyCombo } from '../../../config/keys.js';
import { WhisperError } from '../../../errors.js';
import type { Capability, CapabilityQuery, Clipboard, Desktop, HotkeyHandle, KeySender, StateView } from '../contract.js';

export interface Binding {
  found: boolean;
  pressRelease: boolean;
  checked?: boolean;
  detail: string;
}

export type WaylandHotkeyStarter = (combo: KeyCombo, label: string, onDown: () => void, onUp: () => void) => Promise<HotkeyHandle>;

export interface WaylandParts {
  description: string;
  /** 'sway', 'hyprland', 'gnome', … */
  compositor: string;
  keys?: KeySender;
  /** why there are no keys, and the one fix */
  keysProblem?: string;
  keysFix?: string;
  clipboard?: Clipboard;
  clipboardProblem?: string;
  /** the key sender the daemon opens at its start (doctor only names it: opening it may show a dialog) */
  keysPending?: string;
  /** a warning about the key sender chosen (e.g. wtype on a desktop without the virtual-keyboard protocol) */
  keysWarning?: string;
  /**
   * the daemon's own hotkey (portal or evdev), or undefined when the compositor's binding drives it;
   * `fallback`: when it cannot start (the portal declined), the compositor's binding is looked for instead
   */
  hotkey?: { via: string; start: WaylandHotkeyStarter; fallback?: boolean; check?: (combo: KeyCombo | undefined) => Promise<{ problem?: string; fix?: string; detail?: string }> };
  /** the compositor binding that drives begin/end (`checked` false: this compositor cannot be asked) */
  binding: () => Promise<Binding>;
  /** the command that writes the binding for this desktop */
  bindingFix: string;
  stateView?: (log: (line: string) => void, pasteLabel?: string) => Promise<StateView | undefined>;
  /** the notification server that answers (its name), or why none does */
  notifications?: () => Promise<{ server?: string; problem?: string }>;
}

export class WaylandDesktop implements Desktop {
  readonly session = 'wayland' as const;
  constructor(private readonly p: WaylandParts) {}

  get description(): string {
    return this.p.description;
  }
  get keys(): KeySender | undefined {
    return this.p.keys;
  }
  get keysProblem(): string | undefined {
    return this.p.keysProblem;
  }
  get clipboard(): Clipboard | undefined {
    return this.p.clipboard;
  }

  /**
   * The daemon's own hotkey where it has one (portal, evdev); else the compositor's binding drives
   * `prism-dictate begin`/`end` (or `toggle`), and this answers how — or rejects with the fix.
   */
  async hotkey(combo: KeyCombo, label: string, onDown: () => void, onUp: () => void): Promise<HotkeyHandle> {
    let declined = '';
    if (this.p.hotkey) {
      try {
        return await this.p.hotkey.start(combo, label, onDown, onUp);
      } catch (e) {
        if (!this.p.hotkey.fallback) throw e;
        declined = `${(e as Error).message}; `;
      }
    }
    const b = await this.binding();
    if (!b.found && b.checked === false) return { releases: false, via: `${declined}${this.p.compositor}'s bindings cannot be read: ${b.detail}`, stop: () => undefined };
    if (!b.found) {
      throw new WhisperError(
        'HOTKEY_UNAVAILABLE',
        `Wayland gives no global key grab and no ${this.p.compositor} binding runs prism-dictate yet (${b.detail}): run prism-dictate hotkey setup --write, or ${this.p.bindingFix}`,
      );
    }
    return { releases: b.pressRelease, via: `${declined}${b.detail}`, stop: () => undefined };
  }

  private binding(): Promise<Binding> {
    return this.p.binding().catch((e: Error) => ({ found: false, pressRelease: false, detail: e.message }));
  }

  async stateView(o: { position: 'top' | 'bottom'; log: (line: string) => void; pasteLabel?: string }): Promise<StateView | undefined> {
    return this.p.stateView?.(o.log, o.pasteLabel);
  }

  async capabilities(o: CapabilityQuery): Promise<Capability[]> {
    const caps: Capability[] = [];
    const reaches = 'native Wayland and XWayland windows';
    const own = this.p.hotkey && (await this.p.hotkey.check?.(o.combo));
    if (this.p.hotkey && own?.problem)
      caps.push({ name: 'hotkey', ok: false, mechanism: `${o.hotkeyKeys} through ${this.p.hotkey.via}: ${own.problem}`, reaches: 'none', ...(own.fix ? { fix: own.fix } : {}) });
    else if (this.p.hotkey)
      caps.push({
        name: 'hotkey',
        ok: true,
        mechanism: `${o.hotkeyKeys} through ${this.p.hotkey.via}${own?.detail ? ` (${own.detail})` : ''}, press and release`,
        reaches: 'every window',
      });
    else {
      const b = await this.binding();
      if (!b.found && b.checked === false)
        caps.push({
          name: 'hotkey',
          ok: 'warn',
          mechanism: `${this.p.compositor}'s bindings cannot be read (${b.detail})`,
          reaches: 'every window, if bound',
          fix: 'prism-dictate hotkey setup prints the lines to add',
        });
      else if (!b.found)
        caps.push({
          name: 'hotkey',
          ok: false,
          mechanism: `no global key grab on Wayland, and no ${this.p.compositor} binding runs prism-dictate (${b.detail})`,
          reaches: 'none: only prism-dictate press|release|toggle from a terminal',
          fix: `prism-dictate hotkey setup --write (or ${this.p.bindingFix})`,
        });
      else
        caps.push({
          name: 'hotkey',
          ok: true,
          mechanism: `${b.detail}${b.pressRelease ? ' (press and release: push-to-talk)' : ' (press only: toggle)'}`,
          reaches: 'every window',
          ...(b.pressRelease ? {} : { fix: 'for hold-to-talk: desktop.hotkey "evdev" (needs group input) or the GlobalShortcuts portal' }),
        });
    }
    if (o.method === 'stdout' || o.method === 'clipboard') caps.push({ name: 'typing', ok: true, mechanism: `output.method is ${o.method}: no keystrokes needed`, reaches: '-' });
    else if (this.p.keysPending) caps.push({ name: 'typing', ok: true, mechanism: this.p.keysPending, reaches });
    else if (this.p.keys)
      caps.push({ name: 'typing', ok: this.p.keysWarning ? 'warn' : true, mechanism: `${this.p.keys.name}${this.p.keysWarning ? `; ${this.p.keysWarning}` : ''}`, reaches });
    else
      caps.push({
        name: 'typing',
        ok: 'warn',
        mechanism: `none: ${this.p.keysProblem ?? 'no keystroke tool'}; each dictation is copied instead, to paste with ${o.pasteKeys}`,
        reaches: 'none',
        ...(this.p.keysFix ? { fix: this.p.keysFix } : {}),
      });
    if (this.p.clipboard) caps.push({ name: 'clipboard', ok: true, mechanism: this.p.clipboard.name ?? 'the Wayland clipboard', reaches });
    else
      caps.push({
        name: 'clipboard',
        ok: o.method === 'stdout' ? 'warn' : false,
        mechanism: `none: ${this.p.clipboardProblem ?? 'no clipboard tool'}`,
        reaches: 'none: a dictation that cannot be typed is lost to the log and history only',
        fix: 'apt install wl-clipboard',
      });
    const n: { server?: string; problem?: string } = (await this.p.notifications?.().catch((e: Error) => ({ problem: e.message }))) ?? { problem: 'not asked' };
    caps.push(
      n.server
        ? { name: 'indicator', ok: true, mechanism: `a notification replaced in place (${n.server})`, reaches: 'the screen' }
        : {
            name: 'indicator',
            ok: 'warn',
            mechanism: `no notification server answers (${n.problem}): the cues only`,
            reaches: '-',
            fix: 'a notification daemon (mako, dunst; GNOME and KDE have one)',
          },
    );
    return caps;
  }

  async close(): Promise<void> {
    await (this.p.keys as { close?: () => Promise<void> } | undefined)?.close?.(); // a portal session and its bus
  }
}
