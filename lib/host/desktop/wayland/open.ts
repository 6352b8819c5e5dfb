/**
 * Finds the Wayland desktop's parts for this compositor and this config (see desktop.ts): the key
 * sender the compositor accepts, wl-clipboard, the hotkey (the portal, evdev, or the compositor's own
 * binding), and the notification server for the visible state.
 */
import { join } from 'node:path';
import type { Config } from '../../../config/schema.js';
import type { WhisperError } from '../../../errors.js';
import { detectDesktop, findBinding } from '../bindings.js';
import { NotificationView } from '../notifications.js';
import { sessionLine } from '../session.js';
import { WaylandClipboard } from './clipboard.js';
import { chooseWaylandKeys, detectCompositor, type KeysChoice, onPath, probeWaylandTools } from './compositor.js';
import { WaylandDesktop, type WaylandParts } from './desktop.js';
import { EvdevHotkey, evdevAccess } from './evdev.js';
import { PortalHotkey, portalShortcutsAvailable } from './portal.js';
import { RemoteDesktopKeys } from './remoteDesktop.js';

const NAMES: Record<string, string> = { sway: 'sway', hyprland: 'Hyprland', river: 'river', wayfire: 'Wayfire', gnome: 'GNOME', kde: 'KDE Plasma', other: 'the compositor' };

/** The daemon's own hotkey for `desktop.hotkey`, or undefined where the compositor's binding drives begin/end. */
async function ownHotkey(c: Config, log: (line: string) => void, address: string | undefined): Promise<WaylandParts['hotkey']> {
  const choice = c.desktop.hotkey;
  if (choice === 'evdev') {
    return {
      via: "the keyboards' evdev devices",
      start: (combo, label, down, up) => EvdevHotkey.start(combo, down, up, { log, label }),
      check: async (combo) => {
        const a = evdevAccess(combo ? { key: combo.key } : {});
        return a.problem ? { problem: a.problem, ...(a.fix ? { fix: a.fix } : {}) } : { detail: `${a.readable.length} keyboard(s) readable` };
      },
    };
  }
  const portal = {
    via: 'the GlobalShortcuts portal',
    start: (combo: Parameters<typeof PortalHotkey.start>[0], label: string, down: () => void, up: () => void) => PortalHotkey.start(combo, label, down, up, { log, address }),
  };
  if (choice === 'portal') return portal;
  if (choice === 'auto' && (await portalShortcutsAvailable({ address })).ok) return { ...portal, fallback: true };
  return undefined;
}

/** The RemoteDesktop portal's keys, opened where the daemon sends keys (the desktop's dialog the first time). */
async function portalKeys(home: string, log: (line: string) => void, env: NodeJS.ProcessEnv): Promise<KeysChoice> {
  try {
    return { keys: await RemoteDesktopKeys.open({ log, tokenFile: join(home, 'remote-desktop.token'), address: env.DBUS_SESSION_BUS_ADDRESS }) };
  } catch (e) {
    const declined = (e as WhisperError).reason === 'declined';
    return { problem: (e as Error).message, fix: declined ? 'restart the daemon to be asked again' : 'set up ydotool (README: Wayland, per desktop)' };
  }
}

/** `home`: the daemon's home — given only by the daemon, which opens what shows a dialog (doctor only looks). */
export async function openWayland(c: Config, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env, home?: string): Promise<WaylandDesktop> {
  const compositor = detectCompositor(env);
  const name = NAMES[compositor] ?? compositor;
  const chosen = chooseWaylandKeys(compositor, c.desktop.keys, await probeWaylandTools(env, undefined, c.desktop.keys === 'portal' ? { portal: true } : {}));
  const keys = chosen.portal && home ? await portalKeys(home, log, env) : chosen;
  const portalLater = chosen.portal && !home ? 'the RemoteDesktop portal (the desktop asks once, when the daemon starts)' : undefined;
  const wlClipboard = onPath('wl-copy', env) && onPath('wl-paste', env);
  const address = env.DBUS_SESSION_BUS_ADDRESS;
  const desktop = detectDesktop(env);
  return new WaylandDesktop({
    description: `${sessionLine('wayland', env)}; ${name}`,
    compositor: name,
    ...(keys.keys ? { keys: keys.keys } : {}),
    ...(portalLater ? { keysPending: portalLater } : {}),
    ...(keys.problem && !keys.keys ? { keysProblem: keys.problem } : {}),
    ...(keys.fix && !keys.keys ? { keysFix: keys.fix } : {}),
    ...(keys.problem && keys.keys ? { keysWarning: keys.problem } : {}),
    ...(wlClipboard ? { clipboard: new WaylandClipboard({ env }) } : { clipboardProblem: 'wl-copy/wl-paste are not installed' }),
    hotkey: await ownHotkey(c, log, address),
    binding: () => findBinding(desktop, undefined, env),
    bindingFix:
      compositor === 'gnome' || compositor === 'kde'
        ? `bind "prism-dictate toggle" to a custom shortcut in ${name}'s keyboard settings`
        : 'bind prism-dictate begin (press) and end (release) in the compositor',
    stateView: (viewLog, pasteLabel) => NotificationView.open({ log: viewLog, address, ...(pasteLabel ? { pasteLabel } : {}) }),
    notifications: async () => {
      let problem = 'no notification server';
      const view = await NotificationView.open({ log: (line) => (problem = line.replace(/^notifications: /, '')), address });
      if (!view) return { problem };
      const server = view.server;
      view.close();
      return { server };
    },
  });
}
