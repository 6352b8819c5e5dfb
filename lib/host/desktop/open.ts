/**
 * Opens the desktop backend for this session, once, at start (the daemon) or for one look (doctor).
 */
import type { Config } from '../../config/schema.js';
import type { Desktop } from './contract.js';
import { sessionKind } from './session.js';
import { ToolsDesktop } from './tools.js';
import { openWayland } from './wayland/open.js';
import { X11Desktop } from './x11/desktop.js';
import { X11Session, x11Unavailable } from './x11/session.js';

/** `home`: the daemon's home (the daemon opens there what may show a desktop dialog once; doctor passes none). */
export async function openDesktop(o: {
  config: Config;
  log: (line: string) => void;
  notify?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
  home?: string;
}): Promise<Desktop> {
  const env = o.env ?? process.env;
  const kind = sessionKind(o.config.desktop.session, env);
  if (kind === 'wayland') return openWayland(o.config, o.log, env, o.home);
  if (kind !== 'x11') return ToolsDesktop.open(kind);
  const no = x11Unavailable(env);
  if (no) return ToolsDesktop.open('x11', { why: no });
  try {
    return new X11Desktop(await X11Session.open(env.DISPLAY, o.log));
  } catch (e) {
    o.notify?.(`${(e as Error).message}: falling back to xsel/xdotool and uiohook`);
    return ToolsDesktop.open('x11', { why: (e as Error).message });
  }
}
