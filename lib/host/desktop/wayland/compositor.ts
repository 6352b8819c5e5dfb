/**
 * Which Wayland compositor this is, from the environment it gives its clients, and which way of
 * sending keystrokes fits it: wtype where the virtual-keyboard protocol is offered (sway, Hyprland,
 * river, Wayfire: the wlroots family), ydotool (uinput) on GNOME and KDE, whose compositors do not
 * offer that protocol to ordinary clients, and there the RemoteDesktop portal next (a dialog once, see
 * remoteDesktop.ts). The config's `desktop.keys` overrides the choice.
 */
import { spawnSync } from 'node:child_process';
import type { Config } from '../../../config/schema.js';
import type { KeySender } from '../../keys.js';
import { sessionKind } from '../session.js';
import { remoteDesktopAvailable } from './remoteDesktop.js';
import { WtypeKeys } from './wtype.js';
import { YdotoolKeys, type YdotoolProbe, type YdotoolProblem, ydotoolProblem, ydotoolSocket } from './ydotool.js';

export type Compositor = 'sway' | 'hyprland' | 'river' | 'wayfire' | 'gnome' | 'kde' | 'other';

/** A Wayland session: a Wayland display to connect to, or the login manager says so (XWayland's DISPLAY may be set too). */
export function waylandSession(env: NodeJS.ProcessEnv = process.env): boolean {
  return sessionKind('auto', env, 'linux') === 'wayland';
}

const NAMES: [RegExp, Compositor][] = [
  [/^(gnome|gnome-\w+|ubuntu|pop)$/, 'gnome'],
  [/^(kde|plasma|plasmawayland|plasma-wayland)$/, 'kde'],
  [/^sway$/, 'sway'],
  [/^hyprland$/, 'hyprland'],
  [/^river$/, 'river'],
  [/^wayfire$/, 'wayfire'],
];

export function detectCompositor(env: NodeJS.ProcessEnv = process.env): Compositor {
  if (env.SWAYSOCK) return 'sway';
  if (env.HYPRLAND_INSTANCE_SIGNATURE) return 'hyprland';
  if (env.WAYFIRE_SOCKET) return 'wayfire';
  // XDG_CURRENT_DESKTOP is a colon-separated list ("ubuntu:GNOME", "KDE"); the first known name wins
  const names = [env.XDG_CURRENT_DESKTOP, env.XDG_SESSION_DESKTOP, env.DESKTOP_SESSION]
    .flatMap((v) => (v ?? '').split(':'))
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean);
  // GNOME before "ubuntu"/"pop": "ubuntu:GNOME" is GNOME, a lone "ubuntu" session is Ubuntu's GNOME too
  for (const n of names) if (n === 'gnome' || n === 'kde') return n;
  for (const n of names) for (const [re, c] of NAMES) if (re.test(n)) return c;
  return 'other';
}

const LABEL: Record<Compositor, string> = {
  sway: 'sway',
  hyprland: 'Hyprland',
  river: 'river',
  wayfire: 'Wayfire',
  gnome: "GNOME's Mutter",
  kde: "KDE's KWin",
  other: 'this compositor',
};

/** GNOME and KDE: no virtual-keyboard protocol for ordinary clients, so wtype fails there. */
export function lacksVirtualKeyboard(c: Compositor): boolean {
  return c === 'gnome' || c === 'kde';
}

export interface WaylandProbes {
  /** wtype is on PATH */
  wtype: boolean;
  /** why ydotool cannot be used (undefined: ready) */
  ydotool: YdotoolProblem | undefined;
  /** the env the tools run with (default: this process's) */
  env?: NodeJS.ProcessEnv;
  /** the ydotoold socket to use (default: the first found) */
  ydotoolSocket?: string;
  /** whether the RemoteDesktop portal offers a keyboard (undefined: not asked) */
  portal?: { ok: true; version: number } | { ok: false; why: string };
}

export interface KeysChoice {
  keys?: KeySender;
  /**
   * the RemoteDesktop portal is the way: the caller opens it (RemoteDesktopKeys.open, which shows the
   * desktop's dialog the first time) where keys are to be sent, and takes its error's message as the
   * problem when it fails
   */
  portal?: true;
  /** why no keystroke can be sent (with keys set: a warning about the one chosen) */
  problem?: string;
  fix?: string;
}

const WTYPE_FIX = 'sudo apt install wtype';

function wtype(p: WaylandProbes): KeySender {
  return new WtypeKeys(p.env ? { env: p.env } : {});
}

function ydotool(p: WaylandProbes): KeySender {
  const env = p.env ?? process.env;
  return new YdotoolKeys({ env, socket: p.ydotoolSocket ?? ydotoolSocket(env) });
}

/** The key sender for this compositor and config (`desktop.keys`), or why there is none and the fix. */
export function chooseWaylandKeys(compositor: Compositor, choice: Config['desktop']['keys'], p: WaylandProbes): KeysChoice {
  const noVk = `${LABEL[compositor]} has no virtual-keyboard protocol for ordinary clients, so wtype cannot type there`;
  switch (choice) {
    case 'none':
      return { problem: 'desktop.keys is "none": no keystroke is sent (each dictation is copied, to paste yourself)', fix: 'set desktop.keys to "auto" to paste and type' };
    case 'wtype':
      if (!p.wtype) return { problem: 'wtype is not installed', fix: WTYPE_FIX };
      if (lacksVirtualKeyboard(compositor)) return { keys: wtype(p), problem: noVk, fix: 'set desktop.keys to "ydotool" (or "auto")' };
      return { keys: wtype(p) };
    case 'ydotool':
      if (p.ydotool) return { problem: p.ydotool.reason, fix: p.ydotool.fix };
      return { keys: ydotool(p) };
    case 'portal':
      if (p.portal && !p.portal.ok) return { problem: `the RemoteDesktop portal cannot send keys: ${p.portal.why}`, fix: 'set desktop.keys to "auto"' };
      return { portal: true };
    default:
      if (lacksVirtualKeyboard(compositor)) {
        if (!p.ydotool) return { keys: ydotool(p) };
        if (p.portal?.ok) return { portal: true };
        const portalToo = p.portal ? `; nor can the RemoteDesktop portal: ${p.portal.why}` : '';
        return { problem: `${noVk}, and ydotool is not ready: ${p.ydotool.reason}${portalToo}`, fix: p.ydotool.fix };
      }
      if (p.wtype) return { keys: wtype(p) };
      if (!p.ydotool) return { keys: ydotool(p) };
      return { problem: 'wtype is not installed', fix: WTYPE_FIX };
  }
}

/** Whether a tool is on PATH (`command -v`, bounded). */
export function onPath(tool: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { env, stdio: 'ignore', timeout: 2000 }).status === 0;
}

/**
 * The probes for this machine (run once at start, and by doctor). The RemoteDesktop portal is asked (its
 * properties only: no session, no dialog) on GNOME and KDE, or when the config names it.
 */
export async function probeWaylandTools(
  env: NodeJS.ProcessEnv = process.env,
  ydotoolProbe?: YdotoolProbe,
  o: { portal?: boolean; portalProbe?: (address: string | undefined) => Promise<NonNullable<WaylandProbes['portal']>> } = {},
): Promise<WaylandProbes> {
  const askPortal = o.portal ?? lacksVirtualKeyboard(detectCompositor(env));
  const portalProbe = o.portalProbe ?? ((address) => remoteDesktopAvailable({ address }));
  const [ydotool, portal] = await Promise.all([ydotoolProblem(env, ydotoolProbe), askPortal ? portalProbe(env.DBUS_SESSION_BUS_ADDRESS) : undefined]);
  return { wtype: onPath('wtype', env), ydotool, env, ...(portal ? { portal } : {}) };
}
