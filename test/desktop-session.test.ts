/**
 * The session decides the desktop path, and doctor tells the truth about it (issue 26, item 1): a
 * Wayland session with XWayland running takes the Wayland path, whose lines name no X11 tool.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { desktopCapabilities } from '../lib/cli/doctor.js';
import type { KeyCombo } from '../lib/config/keys.js';
import { validateConfig } from '../lib/config/load.js';
import { WhisperError } from '../lib/errors.js';
import { sessionKind } from '../lib/host/desktop/session.js';
import { WaylandDesktop } from '../lib/host/desktop/wayland/desktop.js';

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

describe.skipIf(process.platform !== 'linux')('no display at all', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('doctor says nothing can be typed or copied (not "copied instead"), with the fix', async () => {
    vi.stubEnv('DISPLAY', '');
    vi.stubEnv('WAYLAND_DISPLAY', '');
    vi.stubEnv('XDG_SESSION_TYPE', '');
    const caps = await desktopCapabilities(validateConfig({ hotkey: { enabled: false } }));
    expect(caps.find((c) => c.name === 'typing')).toMatchObject({
      ok: false,
      mechanism: expect.not.stringMatching(/copied instead/),
      fix: expect.stringMatching(/desktop session/),
    });
    expect(caps.find((c) => c.name === 'clipboard')).toMatchObject({ ok: false });
  });
});

describe('the Wayland desktop answers the contract with its parts', () => {
  const noBinding = async () => ({ found: false, pressRelease: false, checked: true, detail: 'none in the loaded config' });
  const base = { description: 'Wayland on wayland-1; sway', compositor: 'sway', binding: noBinding, bindingFix: 'bind it' };
  const query = { hotkeyKeys: 'Meta+Alt+V', combo: { modifiers: ['meta', 'alt'], key: 'v' } as KeyCombo, mode: 'hybrid', method: 'paste', pasteKeys: 'Ctrl+V' };
  const keys = { name: 'wtype (virtual-keyboard protocol)', press: async () => {}, type: async () => {} };

  it('no binding, no own hotkey: the hotkey is a FAIL whose fix is hotkey setup --write, and starting it says the same', async () => {
    const d = new WaylandDesktop({ ...base, keys });
    const caps = await d.capabilities(query);
    expect(caps.find((c) => c.name === 'hotkey')).toMatchObject({ ok: false, fix: expect.stringMatching(/prism-dictate hotkey setup --write/) });
    expect(caps.find((c) => c.name === 'typing')).toMatchObject({ ok: true, mechanism: 'wtype (virtual-keyboard protocol)', reaches: 'native Wayland and XWayland windows' });
    await expect(
      d.hotkey(
        query.combo,
        'Meta+Alt+V',
        () => {},
        () => {},
      ),
    ).rejects.toMatchObject({ code: 'HOTKEY_UNAVAILABLE', message: expect.stringMatching(/hotkey setup --write/) });
  });

  it('a press/release binding is push-to-talk; a toggle binding says press only; a compositor that cannot be asked is a warning', async () => {
    const pr = new WaylandDesktop({ ...base, binding: async () => ({ found: true, pressRelease: true, detail: 'sway: press bound (no repeat), and release' }) });
    expect(
      await pr.hotkey(
        query.combo,
        'x',
        () => {},
        () => {},
      ),
    ).toMatchObject({ releases: true });
    const toggle = new WaylandDesktop({ ...base, binding: async () => ({ found: true, pressRelease: false, detail: 'GNOME custom shortcut' }) });
    expect((await toggle.capabilities(query)).find((c) => c.name === 'hotkey')).toMatchObject({ ok: true, mechanism: expect.stringMatching(/press only: toggle/) });
    const river = new WaylandDesktop({ ...base, binding: async () => ({ found: false, pressRelease: false, checked: false, detail: 'river cannot be asked' }) });
    expect((await river.capabilities(query)).find((c) => c.name === 'hotkey')).toMatchObject({ ok: 'warn' });
  });

  it('a declined portal falls back to the binding (auto); an evdev hotkey that cannot read a keyboard is a FAIL with its fix', async () => {
    const declined = new WaylandDesktop({
      ...base,
      binding: async () => ({ found: true, pressRelease: true, detail: 'sway binding' }),
      hotkey: { via: 'the GlobalShortcuts portal', fallback: true, start: async () => Promise.reject(new WhisperError('HOTKEY_UNAVAILABLE', 'declined')) },
    });
    expect(
      await declined.hotkey(
        query.combo,
        'x',
        () => {},
        () => {},
      ),
    ).toMatchObject({ releases: true, via: expect.stringMatching(/declined; sway binding/) });
    const evdev = new WaylandDesktop({
      ...base,
      hotkey: {
        via: 'evdev',
        start: async () => ({ releases: true, via: 'evdev', stop: () => {} }),
        check: async () => ({ problem: 'this user is not in group input', fix: 'sudo usermod -aG input $USER' }),
      },
    });
    expect((await evdev.capabilities(query)).find((c) => c.name === 'hotkey')).toMatchObject({ ok: false, fix: 'sudo usermod -aG input $USER' });
  });

  it('GNOME with the RemoteDesktop portal: doctor names it (the daemon opens it: the dialog once), and close() ends its session', async () => {
    const d = new WaylandDesktop({ ...base, compositor: 'GNOME', keysPending: 'the RemoteDesktop portal (the desktop asks once, when the daemon starts)' });
    expect((await d.capabilities(query)).find((c) => c.name === 'typing')).toMatchObject({ ok: true, mechanism: expect.stringMatching(/RemoteDesktop portal/) });
    let closed = 0;
    await new WaylandDesktop({ ...base, keys: { ...keys, close: async () => void closed++ } as typeof keys }).close();
    expect(closed).toBe(1);
  });

  it('no key sender: typing is a warning that says each dictation is copied, with the fix; no clipboard tool is a FAIL', async () => {
    const d = new WaylandDesktop({ ...base, keysProblem: 'GNOME has no virtual-keyboard protocol', keysFix: 'set up ydotool' });
    const caps = await d.capabilities(query);
    expect(caps.find((c) => c.name === 'typing')).toMatchObject({ ok: 'warn', mechanism: expect.stringMatching(/copied instead, to paste with Ctrl\+V/), fix: 'set up ydotool' });
    expect(caps.find((c) => c.name === 'clipboard')).toMatchObject({ ok: false, fix: 'apt install wl-clipboard' });
    expect(caps.find((c) => c.name === 'indicator')).toMatchObject({ ok: 'warn' });
  });
});

describe.skipIf(process.platform !== 'linux')('doctor in a Wayland session with XWayland', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('names no X11 tool: the Wayland path answers for native and XWayland windows alike', async () => {
    vi.stubEnv('WAYLAND_DISPLAY', 'wayland-prism-test-none');
    vi.stubEnv('DISPLAY', ':4242');
    vi.stubEnv('DBUS_SESSION_BUS_ADDRESS', '');
    const caps = await desktopCapabilities(validateConfig({}));
    const text = JSON.stringify(caps);
    expect(text).not.toMatch(/xsel|xdotool|XTest|X11 CLIPBOARD/);
    expect(caps.map((c) => c.name)).toEqual(['hotkey', 'typing', 'clipboard', 'indicator']);
    expect(caps.find((c) => c.name === 'hotkey')?.ok).not.toBe(true); // no compositor to bind it in
  });
});
