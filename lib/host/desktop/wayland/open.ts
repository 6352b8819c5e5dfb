/**
 * Finds the Wayland desktop's parts for this compositor and this config (see desktop.ts): the key
 * sender the compositor accepts, wl-clipboard, the hotkey (the portal, evdev, or the compositor's own
 * binding), and the notification server for the visible state.
 */
import type { Config } from '../../../config/schema.js';
import { detectDesktop, findBinding } from '../bindings.js';
import { NotificationView } from '../notifications.js';
import { sessionLine } from '../session.js';
import { WaylandClipboard } from './clipboard.js';
import { chooseWaylandKeys, detectCompositor, onPath, probeWaylandTools } from './compositor.js';
import { WaylandDesktop, type WaylandParts } from './desktop.js';
import { EvdevHotkey, evdevAccess } from './evdev.js';
import { PortalHotkey, portalShortcutsAvailable } from './portal.js';

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

export async function openWayland(c: Config, log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<WaylandDesktop> {
  const compositor = detectCompositor(env);
  const name = NAMES[compositor] ?? compositor;
  const keys = chooseWaylandKeys(compositor, c.desktop.keys, await probeWaylandTools(env));
  const wlClipboard = onPath('wl-copy', env) && onPath('wl-paste', env);
  const address = env.DBUS_SESSION_BUS_ADDRESS;
  const desktop = detectDesktop(env);
  return new WaylandDesktop({
    description: `${sessionLine('wayland', env)}; ${name}`,
    compositor: name,
    ...(keys.keys ? { keys: keys.keys } : {}),
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
