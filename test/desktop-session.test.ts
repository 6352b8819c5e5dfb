/**
 * The session decides the desktop path, and doctor tells the truth about it (issue 26, item 1): a
 * Wayland session with XWayland running takes the Wayland path, whose lines name no X11 tool.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { desktopCapabilities } from '../lib/cli/doctor.js';
import { validateConfig } from '../lib/config/load.js';
import { sessionKind } from '../lib/host/desktop/session.js';

describe('the session decides the path', () => {
  it('WAYLAND_DISPLAY (or XDG_SESSION_TYPE=wayland) is Wayland even with XWayland on DISPLAY; DISPLAY alone is X11; the config overrides', () => {
    expect(sessionKind('auto', { WAYLAND_DISPLAY: 'wayland-1', DISPLAY: ':1' }, 'linux')).toBe('wayland');
    expect(sessionKind('auto', { XDG_SESSION_TYPE: 'wayland', DISPLAY: ':1' }, 'linux')).toBe('wayland');
    expect(sessionKind('auto', { DISPLAY: ':0', XDG_SESSION_TYPE: 'x11' }, 'linux')).toBe('x11');
    expect(sessionKind('auto', {}, 'linux')).toBe('none');
    expect(sessionKind('x11', { WAYLAND_DISPLAY: 'wayland-1', DISPLAY: ':1' }, 'linux')).toBe('x11');
    expect(sessionKind('wayland', { DISPLAY: ':1' }, 'linux')).toBe('wayland');
    expect(sessionKind('auto', { WAYLAND_DISPLAY: 'wayland-1' }, 'darwin')).toBe('darwin');
  });
});

describe.skipIf(process.platform !== 'linux')("doctor's capabilities", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('an X11 session without the X connection (PRISM_NO_X11=1): xdotool and xsel, for X11 windows only', async () => {
    vi.stubEnv('DISPLAY', ':4242');
    vi.stubEnv('WAYLAND_DISPLAY', '');
    vi.stubEnv('PRISM_NO_X11', '1');
    const caps = await desktopCapabilities(validateConfig({ hotkey: { enabled: false } }));
    const typing = caps.find((c) => c.name === 'typing');
    expect(typing?.reaches).toMatch(/X11 windows/);
    expect(caps.find((c) => c.name === 'clipboard')?.mechanism).toMatch(/xsel/);
  });
});
