/**
 * Which desktop this is, decided once from the environment and the config: a Wayland session
 * (WAYLAND_DISPLAY set, or XDG_SESSION_TYPE=wayland) takes the Wayland path even with XWayland's
 * DISPLAY set too — an X grab, XTest keys and the X CLIPBOARD reach X clients only, so dictation into a
 * native Wayland window would be lost; an X11 session takes the X11 path; `desktop.session` overrides.
 */
import type { SessionKind } from './contract.js';

export function sessionKind(configured: 'auto' | 'x11' | 'wayland' = 'auto', env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): SessionKind {
  if (platform === 'darwin' || platform === 'win32') return platform;
  if (configured !== 'auto') return configured;
  if (env.WAYLAND_DISPLAY || env.XDG_SESSION_TYPE === 'wayland') return 'wayland';
  if (env.DISPLAY) return 'x11';
  return 'none';
}

/** One line for the start message and doctor: the session, and why it was chosen when both servers are there. */
export function sessionLine(kind: SessionKind, env: NodeJS.ProcessEnv = process.env): string {
  if (kind === 'wayland') {
    const xw = env.DISPLAY ? `, XWayland on ${env.DISPLAY} (X11 windows are reached through the Wayland path too)` : '';
    return `Wayland on ${env.WAYLAND_DISPLAY ?? '(XDG_SESSION_TYPE=wayland)'}${xw}`;
  }
  if (kind === 'x11') return `X11 on ${env.DISPLAY ?? '(no DISPLAY)'}`;
  if (kind === 'none') return 'no display (DISPLAY and WAYLAND_DISPLAY unset)';
  return kind;
}
