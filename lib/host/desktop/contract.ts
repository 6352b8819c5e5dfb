/**
 * The desktop, as the dictation host sees it: hotkey events, keystrokes (the paste chord or typed text),
 * the clipboard, a visible state, and what each of them can do here, for doctor and the start message.
 * One backend per kind of session — X11 (`x11/`), Wayland (`wayland/`), and the process tools where
 * neither connection can be had — is chosen once at start (`choose.ts`); nothing above this contract
 * tests DISPLAY or WAYLAND_DISPLAY itself.
 */
import type { KeyCombo } from '../../config/keys.js';
import type { KeySender } from '../keys.js';
import type { Clipboard, WindowClass } from '../output.js';

export type { Clipboard, KeySender, WindowClass };

/** What the indicator shows: the host's 'indicator' event (with a label: "hands-free", "copied 42 characters"). */
export type VisibleState = 'listening' | 'transcribing' | 'pasted' | 'no-speech' | 'error';

export interface StateView {
  /** true: it is itself a desktop notification (the host then sends no second one for the same state) */
  readonly notifies?: boolean;
  show(state: VisibleState, label?: string): void;
  /** the input level while recording (0–1 RMS); a view without a meter ignores it */
  level(rms: number): void;
  /**
   * The live text of the dictation (preview.enabled): settled words, then the unstable tail, shown
   * while it is recorded and transcribed; cleared by the next final state. A view without text ignores it.
   */
  live?(committed: string, tail: string): void;
  close(): void;
}

export interface HotkeyHandle {
  /** whether releases are seen (push-to-talk works); false: presses only, like a toggle */
  readonly releases: boolean;
  /** how the keys are seen: "grabbed on the X display", "evdev (3 keyboards)", "sway binding → prism-dictate begin/end" */
  readonly via: string;
  stop(): unknown;
}

export type CapabilityName = 'hotkey' | 'typing' | 'clipboard' | 'indicator';

/** One line of doctor: what works, through what, for which windows, and the fix when something is missing. */
export interface Capability {
  name: CapabilityName;
  ok: boolean | 'warn';
  /** the mechanism used: "wtype (virtual-keyboard protocol)", "XTest on :0", "wl-copy/wl-paste" */
  mechanism: string;
  /** which windows it works for: "every window", "X11 windows only", "native Wayland and XWayland windows" */
  reaches: string;
  /** the one command or setting that fixes what is missing (absent when nothing is) */
  fix?: string;
}

export interface CapabilityQuery {
  /** hotkey.keys as written, and parsed (absent: the hotkey is off) */
  hotkeyKeys: string;
  combo?: KeyCombo;
  mode?: string;
  /** output.method, and the paste chord as people write it */
  method: string;
  pasteKeys: string;
}

export type SessionKind = 'x11' | 'wayland' | 'none' | 'darwin' | 'win32';

export interface Desktop {
  readonly session: SessionKind;
  /** "X11 on :0", "Wayland (sway) on wayland-1, XWayland on :1" */
  readonly description: string;
  /** undefined: no keystroke can be sent here (`keysProblem` says why): dictations are copied */
  readonly keys?: KeySender;
  readonly keysProblem?: string;
  /** undefined: no clipboard at all */
  readonly clipboard?: Clipboard;
  /** Starts the global hotkey; rejects HOTKEY_UNAVAILABLE with the fix in its message where there is none. */
  hotkey(combo: KeyCombo, label: string, onDown: () => void, onUp: () => void): Promise<HotkeyHandle>;
  /** The visible state (an indicator window, a notification replaced in place), or undefined with none. */
  stateView(o: { position: 'top' | 'bottom'; log: (line: string) => void; pasteLabel?: string }): Promise<StateView | undefined>;
  /** The title and class of the window with the keyboard focus, where the session tells (X11); undefined otherwise. */
  focusedWindowName?(): Promise<string | undefined>;
  /** The WM_CLASS of the window keystrokes go to now, where the session tells (X11): the paste chord follows it. */
  focusedWindowClass?(): Promise<WindowClass | undefined>;
  /** Each capability as it stands, with what the running config asks for. */
  capabilities(o: CapabilityQuery): Promise<Capability[]>;
  close(): Promise<void>;
}
