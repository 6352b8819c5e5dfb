/** doctor's paste check names the tools the daemon would really use (issue 26, item 1: labels). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pasteCheck } from '../lib/cli/doctor.js';
import { validateConfig } from '../lib/config/load.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe.skipIf(process.platform !== 'linux')("doctor's paste check", () => {
  const config = validateConfig({});

  it('PRISM_NO_X11=1 in a Wayland session with XWayland: the clipboard tool is wl-copy, not xsel, and xdotool reaches X11 windows only', async () => {
    vi.stubEnv('PRISM_NO_X11', '1');
    vi.stubEnv('DISPLAY', ':4242');
    vi.stubEnv('WAYLAND_DISPLAY', 'wayland-1');
    const r = await pasteCheck(config, { xdotool: true });
    expect(r.detail).not.toMatch(/xsel/);
    expect(r.detail).toMatch(/xdotool \(XTest\) and wl-copy.*PRISM_NO_X11=1; xdotool reaches X11 windows only/);
  });

  it('no X display: not a failure, since each dictation is copied (through wl-copy on Wayland) to paste with Ctrl+V', async () => {
    vi.stubEnv('PRISM_NO_X11', '1');
    vi.stubEnv('DISPLAY', '');
    vi.stubEnv('WAYLAND_DISPLAY', 'wayland-1');
    const r = await pasteCheck(config, { xdotool: true });
    expect(r.ok).toBe('warn');
    expect(r.detail).toMatch(/copied through wl-copy.*Ctrl\+V/);
    expect(r.detail).not.toMatch(/xsel|xdotool/);
  });
});
