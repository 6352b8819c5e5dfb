/**
 * The Wayland tools (lib/host/desktop/wayland: wtype, ydotool, wl-copy/wl-paste, the compositor's
 * choice of key sender): at their boundary with fake tools on PATH (small sh scripts recording their
 * argv and stdin), and for real against a headless sway with foot as the window receiving the keys,
 * when sway, foot, wtype and wl-clipboard are installed (skipped otherwise).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeyCombo, parseCombo } from '../lib/config/keys.js';
import { WhisperError } from '../lib/errors.js';
import { WaylandClipboard } from '../lib/host/desktop/wayland/clipboard.js';
import { chooseWaylandKeys, detectCompositor, onPath, probeWaylandTools, type WaylandProbes, waylandSession } from '../lib/host/desktop/wayland/compositor.js';
import { runTool, WtypeKeys, wtypeChordArgs } from '../lib/host/desktop/wayland/wtype.js';
import { isOldYdotool, systemYdotoolProbe, UDEV_RULE, YdotoolKeys, type YdotoolProbe, ydotoolChordArgs, ydotoolProblem } from '../lib/host/desktop/wayland/ydotool.js';
import { alive } from './helpers.js';

const combo = (text: string): KeyCombo => {
  const c = parseCombo(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
};

/** Resolves once `check()` is truthy (polled), rejects after `ms`. */
async function until<T>(check: () => T | undefined | false, what: string, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

async function rejection(p: Promise<unknown>): Promise<WhisperError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof WhisperError)) throw new Error(`expected a WhisperError, got ${String(e)}`);
  return e;
}

/** 0.1.8's `ydotool --help` (Debian 12), as it prints it (exit 1). */
const OLD_HELP = 'Usage: ydotool <cmd> <args>\nAvailable commands:\n  type\n  recorder\n  mousemove\n  key\n  click\n';
/** 1.x's `ydotool --help` (exit 0). */
const NEW_HELP =
  'Usage: ydotool [OPTION] <cmd> <args>\nOptions:\n  -h, --help                 Display this help and exit\n  -V, --version              Show version information\nAvailable commands:\n  click\n  mousemove\n  type\n  key\n  debug\n  bakers\n  stdin\nUse environment variable YDOTOOL_SOCKET to specify daemon socket.\n';

describe('fake tools on PATH', () => {
  let dir: string;
  let bin: string;
  /** where the fakes record: argv NUL-separated, stdin, env */
  let rec: string;
  let env: NodeJS.ProcessEnv;
  const servers: number[] = [];

  /** A fake tool: records its argv (NUL-separated) to rec/<name>.argv, then runs `body`. */
  function fake(name: string, body: string): void {
    const file = join(bin, name);
    writeFileSync(file, `#!/bin/sh\nprintf '%s\\0' "$@" > "${rec}/${name}.argv"\n${body}\n`);
    chmodSync(file, 0o755);
  }
  const argv = (name: string): string[] =>
    readFileSync(join(rec, `${name}.argv`), 'utf8')
      .split('\0')
      .slice(0, -1);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wayland-tools-'));
    bin = join(dir, 'bin');
    rec = join(dir, 'rec');
    mkdirSync(bin);
    mkdirSync(rec);
    // the fakes first: a real tool is found only where a test did not write its fake
    env = { PATH: `${bin}:/usr/bin:/bin`, HOME: dir };
  });

  afterAll(() => {
    for (const pid of servers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  });

  describe('wtype', () => {
    it('presses a chord with modifiers down, the key as its XKB keysym, modifiers up in reverse', async () => {
      expect(wtypeChordArgs(combo('Ctrl+Shift+V'))).toEqual(['-M', 'ctrl', '-M', 'shift', '-k', 'v', '-m', 'shift', '-m', 'ctrl']);
      expect(wtypeChordArgs(combo('Meta+Alt+F5'))).toEqual(['-M', 'alt', '-M', 'logo', '-k', 'F5', '-m', 'logo', '-m', 'alt']);
      expect(wtypeChordArgs(combo('Enter'))).toEqual(['-k', 'Return']);
      expect(wtypeChordArgs(combo('Ctrl+Space'))).toEqual(['-M', 'ctrl', '-k', 'space', '-m', 'ctrl']);
      expect(wtypeChordArgs(combo('Ctrl+pagedown'))).toEqual(['-M', 'ctrl', '-k', 'Next', '-m', 'ctrl']);
      fake('wtype', 'exit 0');
      await new WtypeKeys({ env }).press(combo('Ctrl+V'));
      expect(argv('wtype')).toEqual(['-M', 'ctrl', '-k', 'v', '-m', 'ctrl', '-s', '25']); // its keyboard held a moment after the chord
      await new WtypeKeys({ env, holdMs: 0 }).press(combo('Ctrl+V'));
      expect(argv('wtype')).toEqual(['-M', 'ctrl', '-k', 'v', '-m', 'ctrl']);
    });

    it('types Unicode text as one argument after --, so a leading "-" is text', async () => {
      fake('wtype', 'exit 0');
      await new WtypeKeys({ env }).type('-x héllo — ü ✓');
      expect(argv('wtype')).toEqual(['--', '-x héllo — ü ✓']);
    });

    it('runs wtype in a UTF-8 locale (in the C locale it refuses text outside ASCII)', async () => {
      fake('wtype', `printf '%s' "$LC_ALL" > "${rec}/locale"`);
      await new WtypeKeys({ env: { ...env, LANG: 'C' } }).type('ü');
      expect(readFileSync(join(rec, 'locale'), 'utf8')).toBe('C.UTF-8');
      await new WtypeKeys({ env: { ...env, LANG: 'de_DE.utf8' } }).type('ü');
      expect(readFileSync(join(rec, 'locale'), 'utf8')).toBe(''); // a UTF-8 locale of the user's is kept
    });

    it("rejects PASTE_FAILED with wtype's own words when the compositor refuses it", async () => {
      fake('wtype', 'echo "Compositor does not support the virtual keyboard protocol" >&2; exit 1');
      const e = await rejection(new WtypeKeys({ env }).press(combo('Ctrl+V')));
      expect(e.code).toBe('PASTE_FAILED');
      expect(e.message).toBe('wtype could not press ctrl+v: Compositor does not support the virtual keyboard protocol');
    });

    it('kills a wtype that hangs, and says so', async () => {
      fake('wtype', 'exec sleep 60');
      const e = await rejection(new WtypeKeys({ env, timeoutMs: 200 }).press(combo('Ctrl+V')));
      expect(e.message).toBe('wtype could not press ctrl+v: wtype did not finish in 200 ms (killed)');
    });

    it('says how to install wtype when it is not there', async () => {
      const e = await rejection(new WtypeKeys({ env: { PATH: rec } }).type('hi'));
      expect(e.message).toBe('wtype is not installed (sudo apt install wtype)');
    });
  });

  describe('ydotool', () => {
    it('sends chords as evdev keycodes down and up', () => {
      expect(ydotoolChordArgs(combo('Ctrl+V'))).toEqual(['key', '29:1', '47:1', '47:0', '29:0']);
      expect(ydotoolChordArgs(combo('Ctrl+Shift+V'))).toEqual(['key', '29:1', '42:1', '47:1', '47:0', '42:0', '29:0']);
      expect(ydotoolChordArgs(combo('Meta+F12'))).toEqual(['key', '125:1', '88:1', '88:0', '125:0']);
      expect(ydotoolChordArgs(combo('Enter'))).toEqual(['key', '28:1', '28:0']);
    });

    it('runs ydotool with the daemon socket it found, and text after --', async () => {
      fake('ydotool', `printf '%s' "$YDOTOOL_SOCKET" > "${rec}/socket"; exit 0`);
      const keys = new YdotoolKeys({ env, socket: '/run/user/1000/.ydotool_socket' });
      await keys.press(combo('Ctrl+V'));
      expect(argv('ydotool')).toEqual(['key', '29:1', '47:1', '47:0', '29:0']);
      expect(readFileSync(join(rec, 'socket'), 'utf8')).toBe('/run/user/1000/.ydotool_socket');
      await keys.type('-n hello\tthere\n');
      expect(argv('ydotool')).toEqual(['type', '--', '-n hello\tthere\n']);
    });

    it('refuses text outside ASCII (it would be typed wrong) without running ydotool', async () => {
      fake('ydotool', 'exit 0');
      rmSync(join(rec, 'ydotool.argv'), { force: true });
      const e = await rejection(new YdotoolKeys({ env }).type('héllo'));
      expect(e.code).toBe('PASTE_FAILED');
      expect(e.message).toMatch(/ASCII only/);
      expect(existsSync(join(rec, 'ydotool.argv'))).toBe(false);
    });

    it("passes on the client's reason when ydotoold is not there", async () => {
      fake('ydotool', "echo \"failed to connect socket \\`/tmp/.ydotool_socket': No such file or directory\"; echo 'Please check if ydotoold is running.'; exit 2");
      const e = await rejection(new YdotoolKeys({ env }).press(combo('Ctrl+V')));
      expect(e.message).toBe("ydotool could not press the keys: failed to connect socket `/tmp/.ydotool_socket': No such file or directory Please check if ydotoold is running.");
    });

    describe('ydotoolProblem', () => {
      const probe = (o: Partial<YdotoolProbe> & { helpText?: string; code?: number }): YdotoolProbe => ({
        help: async () => (o.helpText === undefined ? undefined : { code: o.code ?? 0, output: o.helpText }),
        socket: o.socket ?? (() => 'missing'),
        uinputWritable: o.uinputWritable ?? (() => false),
      });

      it('tells 0.1.x from 1.x by its help', () => {
        expect(isOldYdotool(OLD_HELP)).toBe(true);
        expect(isOldYdotool('ydotool: Unknown tool: --help')).toBe(true);
        expect(isOldYdotool(NEW_HELP)).toBe(false);
      });

      it('is undefined with 1.x and a writable daemon socket', async () => {
        const seen: string[] = [];
        const socket = (s: string) => {
          seen.push(s);
          return s === '/tmp/.ydotool_socket' ? 'ok' : 'missing';
        };
        const p = probe({ helpText: NEW_HELP, socket });
        expect(await ydotoolProblem({ XDG_RUNTIME_DIR: '/run/user/1000' }, p)).toBeUndefined();
        expect(seen).toEqual(['/run/user/1000/.ydotool_socket', '/tmp/.ydotool_socket']);
      });

      it('refuses 0.1.8, which misreads keycodes yet exits 0', async () => {
        const r = await ydotoolProblem({}, probe({ helpText: OLD_HELP, code: 1, socket: () => 'ok' }));
        expect(r?.reason).toMatch(/0\.1\.x .*misreads keycodes yet reports success/);
        expect(r?.fix).toMatch(/ydotool 1\.x/);
      });

      it('says how to install it when it is not there', async () => {
        expect((await ydotoolProblem({}, probe({})))?.reason).toBe('ydotool is not installed');
      });

      it('names the udev rule, the group and the user service when ydotoold is not running and /dev/uinput is closed', async () => {
        const r = await ydotoolProblem({ YDOTOOL_SOCKET: '/run/ydo.sock' }, probe({ helpText: NEW_HELP }));
        expect(r?.reason).toBe('ydotoold is not running (no socket at /run/ydo.sock) and this user cannot write /dev/uinput');
        expect(r?.fix).toContain(UDEV_RULE);
        expect(UDEV_RULE).toBe('KERNEL=="uinput", GROUP="input", MODE="0660"');
        expect(r?.fix).toContain('usermod -aG input');
        expect(r?.fix).toContain('systemctl --user enable --now ydotool');
        const open = await ydotoolProblem({ YDOTOOL_SOCKET: '/run/ydo.sock' }, probe({ helpText: NEW_HELP, uinputWritable: () => true }));
        expect(open?.reason).toBe('ydotoold is not running (no socket at /run/ydo.sock)');
        expect(open?.fix).not.toContain('udev');
      });

      it("says so when the daemon's socket is someone else's", async () => {
        const r = await ydotoolProblem({ YDOTOOL_SOCKET: '/tmp/.ydotool_socket' }, probe({ helpText: NEW_HELP, socket: () => 'denied' }));
        expect(r?.reason).toBe("ydotoold's socket /tmp/.ydotool_socket is not writable by this user");
        expect(r?.fix).toContain('--socket-own');
      });

      it('probes the real ydotool on PATH and a real socket', async () => {
        const sock = join(dir, 'ydo.sock');
        const server: Server = createServer();
        await new Promise<void>((r) => server.listen(sock, r));
        try {
          const e = { ...env, YDOTOOL_SOCKET: sock };
          fake('ydotool', `cat <<'EOF' >&2\n${OLD_HELP}EOF\nexit 1`);
          expect((await ydotoolProblem(e, systemYdotoolProbe(e)))?.reason).toMatch(/0\.1\.x/);
          fake('ydotool', `cat <<'EOF'\n${NEW_HELP}EOF\nexit 0`);
          expect(await ydotoolProblem(e, systemYdotoolProbe(e))).toBeUndefined();
          expect(argv('ydotool')).toEqual(['--help']);
          expect(systemYdotoolProbe(e).socket(join(dir, 'bin'))).toBe('missing'); // a folder is no socket
        } finally {
          server.close();
        }
      });
    });
  });

  describe('wl-copy / wl-paste', () => {
    it('reads the text type first, with no newline added', async () => {
      fake('wl-paste', "printf 'héllo ✓'");
      expect(await new WaylandClipboard({ env }).read()).toBe('héllo ✓');
      expect(argv('wl-paste')).toEqual(['--no-newline', '--type', 'text/plain;charset=utf-8']);
    });

    it('falls back to any text type the owner offers', async () => {
      fake('wl-paste', `if [ "$3" = text ]; then printf 'plain'; else echo 'No suitable type of content copied' >&2; exit 1; fi`);
      expect(await new WaylandClipboard({ env }).read()).toBe('plain');
      expect(argv('wl-paste')).toEqual(['--no-newline', '--type', 'text']);
    });

    it('reads an empty clipboard ("No selection") as ""', async () => {
      fake('wl-paste', "echo 'No selection' >&2; exit 1");
      expect(await new WaylandClipboard({ env }).read()).toBe('');
    });

    it('rejects (nothing to restore) an image, or bytes that are not UTF-8, rather than return garbage', async () => {
      fake('wl-paste', "echo 'No suitable type of content copied' >&2; exit 1");
      const image = await rejection(new WaylandClipboard({ env }).read());
      expect([image.code, image.reason]).toEqual(['PASTE_FAILED', 'clipboard-not-text']);
      fake('wl-paste', "printf '\\211PNG\\r\\n\\032\\n\\377\\376'");
      const bytes = await rejection(new WaylandClipboard({ env }).read());
      expect([bytes.code, bytes.reason]).toEqual(['PASTE_FAILED', 'clipboard-not-text']);
    });

    it('stops reading an endless clipboard at the cap, and one that never answers at the deadline', async () => {
      fake('wl-paste', 'exec cat /dev/zero');
      const big = await rejection(new WaylandClipboard({ env, maxBytes: 64 * 1024 }).read());
      expect(big.reason).toBe('clipboard-too-big');
      expect(big.message).toBe('the clipboard holds more than 65536 bytes: not kept for restoring');
      fake('wl-paste', 'exec sleep 60');
      const slow = await rejection(new WaylandClipboard({ env, readDeadlineMs: 200 }).read());
      expect(slow.reason).toBe('timeout');
    });

    it('takes exactly the cap', async () => {
      fake('wl-paste', 'exec head -c 65536 /dev/zero');
      expect((await new WaylandClipboard({ env, maxBytes: 64 * 1024 }).read()).length).toBe(65536);
    });

    it('writes the text on stdin with the text type, and resolves when wl-copy exits though its server keeps stderr open', async () => {
      // like wl-copy: read stdin, fork a server that inherits stderr and lives on, exit 0
      fake('wl-copy', `cat > "${rec}/stdin"\nsleep 60 > /dev/null &\necho $! > "${rec}/server.pid"\nexit 0`);
      await new WaylandClipboard({ env }).write('-héllo\n✓');
      const server = Number(readFileSync(join(rec, 'server.pid'), 'utf8'));
      servers.push(server);
      expect(alive(server)).toBe(true); // resolved while the server still holds stderr
      expect(argv('wl-copy')).toEqual(['--type', 'text/plain;charset=utf-8']);
      expect(readFileSync(join(rec, 'stdin'), 'utf8')).toBe('-héllo\n✓');
    });

    it("rejects with wl-copy's words when it cannot set the clipboard", async () => {
      fake('wl-copy', "cat > /dev/null; echo 'Failed to connect to a Wayland server' >&2; exit 1");
      const e = await rejection(new WaylandClipboard({ env }).write('x'));
      expect(e.message).toBe('wl-copy could not set the clipboard: Failed to connect to a Wayland server');
    });

    it('says how to install wl-clipboard when it is not there', async () => {
      const e = await rejection(new WaylandClipboard({ env: { PATH: rec } }).read());
      expect(e.message).toBe('wl-paste is not installed (sudo apt install wl-clipboard)');
    });
  });

  it('runTool keeps stdout to its cap and stderr to 4 KiB', async () => {
    fake('noisy', 'head -c 100000 /dev/zero >&2; printf abc');
    const r = await runTool('noisy', [], { env, timeoutMs: 10_000, maxStdout: 3 });
    expect([r.code, r.stdout.toString(), r.stderr.length, r.overflow]).toEqual([0, 'abc', 4096, false]);
  });
});

describe('the compositor and its key sender', () => {
  it('knows the compositor from the environment it gives its clients', () => {
    expect(detectCompositor({ SWAYSOCK: '/run/user/1000/sway-ipc.sock', XDG_CURRENT_DESKTOP: 'sway' })).toBe('sway');
    expect(detectCompositor({ HYPRLAND_INSTANCE_SIGNATURE: 'abc' })).toBe('hyprland');
    expect(detectCompositor({ XDG_CURRENT_DESKTOP: 'Hyprland' })).toBe('hyprland');
    expect(detectCompositor({ XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' })).toBe('gnome');
    expect(detectCompositor({ XDG_CURRENT_DESKTOP: 'GNOME-Classic:GNOME' })).toBe('gnome');
    expect(detectCompositor({ DESKTOP_SESSION: 'ubuntu' })).toBe('gnome');
    expect(detectCompositor({ XDG_CURRENT_DESKTOP: 'KDE' })).toBe('kde');
    expect(detectCompositor({ DESKTOP_SESSION: 'plasmawayland' })).toBe('kde');
    expect(detectCompositor({ XDG_CURRENT_DESKTOP: 'river' })).toBe('river');
    expect(detectCompositor({ XDG_SESSION_DESKTOP: 'wayfire' })).toBe('wayfire');
    expect(detectCompositor({ XDG_CURRENT_DESKTOP: 'COSMIC' })).toBe('other');
    expect(detectCompositor({})).toBe('other');
  });

  it('is a Wayland session with WAYLAND_DISPLAY or XDG_SESSION_TYPE=wayland, XWayland or not', () => {
    expect(waylandSession({ WAYLAND_DISPLAY: 'wayland-0', DISPLAY: ':0' })).toBe(true);
    expect(waylandSession({ XDG_SESSION_TYPE: 'wayland' })).toBe(true);
    expect(waylandSession({ DISPLAY: ':0', XDG_SESSION_TYPE: 'x11' })).toBe(false);
    expect(waylandSession({})).toBe(false);
  });

  const notReady = { reason: 'ydotoold is not running (no socket at /tmp/.ydotool_socket)', fix: 'systemctl --user enable --now ydotool' };
  const probes = (wtype: boolean, ydotool: WaylandProbes['ydotool']): WaylandProbes => ({ wtype, ydotool, env: {}, ydotoolSocket: '/tmp/.ydotool_socket' });

  it('auto: wtype on the wlroots family and unknown compositors; ydotool on GNOME and KDE where it is set up', () => {
    for (const c of ['sway', 'hyprland', 'river', 'wayfire', 'other'] as const) {
      expect(chooseWaylandKeys(c, 'auto', probes(true, notReady)).keys?.name, c).toBe('wtype (virtual-keyboard protocol)');
    }
    for (const c of ['gnome', 'kde'] as const) {
      expect(chooseWaylandKeys(c, 'auto', probes(true, undefined)).keys?.name, c).toBe('ydotool (uinput)');
    }
    // no wtype, ydotool ready: it works everywhere
    expect(chooseWaylandKeys('sway', 'auto', probes(false, undefined)).keys?.name).toBe('ydotool (uinput)');
  });

  it('auto with nothing usable: the reason and the one fix', () => {
    expect(chooseWaylandKeys('sway', 'auto', probes(false, notReady))).toEqual({ problem: 'wtype is not installed', fix: 'sudo apt install wtype' });
    expect(chooseWaylandKeys('gnome', 'auto', probes(true, notReady))).toEqual({
      problem:
        "GNOME's Mutter has no virtual-keyboard protocol for ordinary clients, so wtype cannot type there, and ydotool is not ready: ydotoold is not running (no socket at /tmp/.ydotool_socket)",
      fix: 'systemctl --user enable --now ydotool',
    });
  });

  it('follows desktop.keys: wtype (warned on GNOME), ydotool, none', () => {
    expect(chooseWaylandKeys('gnome', 'wtype', probes(true, undefined))).toMatchObject({
      keys: { name: 'wtype (virtual-keyboard protocol)' },
      problem: expect.stringContaining('wtype cannot type there'),
    });
    expect(chooseWaylandKeys('sway', 'wtype', probes(false, undefined))).toEqual({ problem: 'wtype is not installed', fix: 'sudo apt install wtype' });
    expect(chooseWaylandKeys('sway', 'ydotool', probes(true, undefined)).keys?.name).toBe('ydotool (uinput)');
    expect(chooseWaylandKeys('sway', 'ydotool', probes(true, notReady))).toEqual({ problem: notReady.reason, fix: notReady.fix });
    const none = chooseWaylandKeys('sway', 'none', probes(true, undefined));
    expect(none.keys).toBeUndefined();
    expect(none.problem).toMatch(/desktop\.keys is "none"/);
  });

  it('the RemoteDesktop portal: next after ydotool on GNOME and KDE, or when desktop.keys names it (issue 26, item 3)', async () => {
    const portalOk = { ok: true as const, version: 2 };
    const portalNo = { ok: false as const, why: 'no xdg-desktop-portal on the session bus' };
    // ydotool set up stays first; ydotool not ready and the portal offering a keyboard: the portal
    expect(chooseWaylandKeys('gnome', 'auto', { ...probes(true, undefined), portal: portalOk }).keys?.name).toBe('ydotool (uinput)');
    expect(chooseWaylandKeys('gnome', 'auto', { ...probes(true, notReady), portal: portalOk })).toEqual({ portal: true });
    expect(chooseWaylandKeys('kde', 'auto', { ...probes(false, notReady), portal: portalOk })).toEqual({ portal: true });
    // wlroots: wtype, never the portal in auto
    expect(chooseWaylandKeys('sway', 'auto', { ...probes(true, notReady), portal: portalOk }).keys?.name).toBe('wtype (virtual-keyboard protocol)');
    // neither: both reasons, ydotool's fix
    expect(chooseWaylandKeys('gnome', 'auto', { ...probes(true, notReady), portal: portalNo })).toEqual({
      problem: expect.stringMatching(/ydotool is not ready: .*; nor can the RemoteDesktop portal: no xdg-desktop-portal/),
      fix: notReady.fix,
    });
    expect(chooseWaylandKeys('sway', 'portal', probes(true, undefined))).toEqual({ portal: true });
    expect(chooseWaylandKeys('gnome', 'portal', { ...probes(true, undefined), portal: portalNo })).toEqual({
      problem: 'the RemoteDesktop portal cannot send keys: no xdg-desktop-portal on the session bus',
      fix: 'set desktop.keys to "auto"',
    });
    // the probe asks the portal on GNOME and KDE only (or when told), with the session's bus
    const asked: Array<string | undefined> = [];
    const portalProbe = async (address: string | undefined) => {
      asked.push(address);
      return portalOk;
    };
    const noYdotool: YdotoolProbe = { help: async () => undefined, socket: () => 'missing', uinputWritable: () => false };
    const gnome = await probeWaylandTools({ XDG_CURRENT_DESKTOP: 'GNOME', DBUS_SESSION_BUS_ADDRESS: 'unix:path=/x', PATH: '/nonexistent' }, noYdotool, { portalProbe });
    expect(gnome.portal).toEqual(portalOk);
    const sway = await probeWaylandTools({ SWAYSOCK: '/x', PATH: '/nonexistent' }, noYdotool, { portalProbe });
    expect(sway.portal).toBeUndefined();
    expect(asked).toEqual(['unix:path=/x']);
  });

  it('finds tools on PATH', () => {
    expect(onPath('sh')).toBe(true);
    expect(onPath('no-such-tool-anywhere')).toBe(false);
    expect(onPath('sh', { PATH: '/nonexistent' })).toBe(false);
  });
});

// ---- for real, on a headless sway -------------------------------------------------------------

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const waylandMissing = ['sway', 'swaymsg', 'foot', 'wtype', 'wl-copy', 'wl-paste', ...(asRoot ? ['setpriv'] : [])].find((t) => !onPath(t));

/** A headless sway (as nobody when we are root: sway refuses root), for the clients run here. */
class HeadlessSway {
  readonly env: NodeJS.ProcessEnv;
  private constructor(
    readonly dir: string,
    private readonly sway: ChildProcess,
    env: NodeJS.ProcessEnv,
    private readonly log: () => string,
  ) {
    this.env = env;
  }

  static async start(): Promise<HeadlessSway> {
    const dir = mkdtempSync(join(tmpdir(), 'wayland-sway-'));
    chmodSync(dir, 0o755);
    const run = join(dir, 'run');
    const home = join(dir, 'home');
    mkdirSync(run, { mode: 0o700 });
    mkdirSync(home);
    if (asRoot) for (const d of [run, home]) chownSync(d, NOBODY, NOBODY);
    const conf = join(dir, 'sway.conf');
    writeFileSync(conf, 'output HEADLESS-1 resolution 1280x800\nxwayland disable\n');
    const swayEnv = { PATH: '/usr/bin:/bin', HOME: home, XDG_RUNTIME_DIR: run, WLR_BACKENDS: 'headless', WLR_LIBINPUT_NO_DEVICES: '1', WLR_RENDERER: 'pixman' };
    const [cmd, args] = asRoot ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sway', '-c', conf]] : ['sway', ['-c', conf]];
    const sway = spawn(cmd as string, args as string[], { env: swayEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    sway.stderr?.on('data', (b: Buffer) => {
      if (log.length < 64 * 1024) log += b.toString();
    });
    const sockets = await until(
      () => {
        if (sway.exitCode !== null) throw new Error(`sway exited (${sway.exitCode}): ${log.slice(-2000)}`);
        const names = readdirSync(run);
        const display = names.find((n) => /^wayland-\d+$/.test(n));
        const ipc = names.find((n) => /^sway-ipc\..*\.sock$/.test(n));
        return display && ipc ? { display, ipc } : undefined;
      },
      'sway to come up',
      30_000,
    );
    // no LANG: wtype must cope with the C locale itself (a service may start without one); foot needs UTF-8
    const env = { PATH: process.env.PATH, HOME: home, XDG_RUNTIME_DIR: run, WAYLAND_DISPLAY: sockets.display, SWAYSOCK: join(run, sockets.ipc) };
    return new HeadlessSway(dir, sway, env, () => log);
  }

  /** The app_id of the focused window, from sway's tree. */
  focused(): string | undefined {
    const r = spawnSync('swaymsg', ['-r', '-t', 'get_tree'], { env: this.env, encoding: 'utf8', timeout: 5000 });
    type Node = { focused?: boolean; app_id?: string; nodes?: Node[]; floating_nodes?: Node[] };
    const find = (n: Node): string | undefined => (n.focused ? n.app_id : [...(n.nodes ?? []), ...(n.floating_nodes ?? [])].map(find).find(Boolean));
    try {
      return find(JSON.parse(r.stdout) as Node);
    } catch {
      return undefined;
    }
  }

  stop(): void {
    this.sway.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  get swayLog(): string {
    return this.log();
  }
}

describe.skipIf(waylandMissing)(`the Wayland tools on a headless sway${waylandMissing ? ` (skipped: no ${waylandMissing})` : ''}`, () => {
  let sway: HeadlessSway;
  const children: ChildProcess[] = [];
  let received: string;

  const spawnClient = (cmd: string, args: string[], extra: NodeJS.ProcessEnv = {}): ChildProcess => {
    const c = spawn(cmd, args, { env: { ...sway.env, ...extra }, stdio: 'ignore' });
    children.push(c);
    return c;
  };
  const got = () => (existsSync(received) ? readFileSync(received) : Buffer.alloc(0));

  beforeAll(async () => {
    sway = await HeadlessSway.start();
    // the headless seat has no keyboard until a virtual one connects: keep one there
    spawnClient('wtype', ['-s', '3600000']);
    received = join(sway.dir, 'received');
    const ready = join(sway.dir, 'ready');
    // foot, a native Wayland terminal, as the window receiving the keys: raw, no echo, every byte to a file
    // (in a UTF-8 locale, as in a desktop session: in the C locale foot drops a pasted "✓")
    spawnClient('foot', ['sh', '-c', `stty raw -echo && : > '${ready}' && exec cat > '${received}'`], { LANG: 'C.UTF-8' });
    await until(() => existsSync(ready) && sway.focused() === 'foot', 'foot to be up, raw and focused', 30_000);
  }, 60_000);

  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
    sway?.stop(); // the wl-copy servers lose their compositor and exit with it
  });

  it('pastes: clipboard + the paste chord (foot: Ctrl+Shift+V), from the first paste into a fresh window on; Enter arrives as a key', async () => {
    const clipboard = new WaylandClipboard({ env: sway.env });
    const keys = new WtypeKeys({ env: sway.env });
    const before = got().length;
    for (const text of ['<1 ✓>', '<2>', '<3>']) {
      await clipboard.write(text);
      await keys.press(combo('Ctrl+Shift+V'));
    }
    await keys.press(combo('Enter'));
    const want = '<1 ✓><2><3>\r';
    await until(() => got().length >= before + Buffer.byteLength(want), 'the pastes in foot').catch((e: Error) => {
      throw new Error(`${e.message}; foot got ${JSON.stringify(got().toString())}`);
    });
    expect(got().subarray(before).toString()).toBe(want);
  });

  it('types Unicode text (and a leading "-") into foot exactly, without the clipboard', async () => {
    const clipboard = new WaylandClipboard({ env: sway.env });
    await clipboard.write('untouched');
    const text = '-x héllo — ü ✓';
    const before = got().length;
    await new WtypeKeys({ env: sway.env }).type(text);
    const want = Buffer.from(text);
    await until(() => got().length >= before + want.length, 'the text in foot').catch((e: Error) => {
      throw new Error(`${e.message}; foot got ${JSON.stringify(got().toString())}`);
    });
    expect(got().subarray(before).toString()).toBe(text);
    expect(await clipboard.read()).toBe('untouched');
  });

  it('round-trips Unicode through the clipboard; reads "" when nothing is copied', async () => {
    const clipboard = new WaylandClipboard({ env: sway.env });
    const text = 'héllo — ü ✓\nline two\n';
    await clipboard.write(text);
    expect(await clipboard.read()).toBe(text);
    spawnSync('wl-copy', ['--clear'], { env: sway.env, timeout: 5000 });
    expect(await clipboard.read()).toBe('');
  });

  it('refuses a 2 MiB clipboard and an image (not restorable), within its bound', async () => {
    const clipboard = new WaylandClipboard({ env: sway.env });
    const big = await runTool('wl-copy', [], { env: sway.env, timeoutMs: 30_000, input: 'x'.repeat(2 * 1024 * 1024), forks: true });
    expect(big.code).toBe(0);
    const tooBig = await rejection(clipboard.read());
    expect(tooBig.reason).toBe('clipboard-too-big');
    const png = await runTool('wl-copy', ['--type', 'image/png'], { env: sway.env, timeoutMs: 30_000, input: '\x89PNG\r\n\x1a\n', forks: true });
    expect(png.code).toBe(0);
    expect((await rejection(clipboard.read())).reason).toBe('clipboard-not-text');
  });

  it("rejects with wtype's words where there is no compositor", async () => {
    const e = await rejection(new WtypeKeys({ env: { ...sway.env, WAYLAND_DISPLAY: 'wayland-none' } }).press(combo('Ctrl+V')));
    expect(e.message).toBe('wtype could not press ctrl+v: Wayland connection failed');
  });

  // Costs of one run of each tool here (not a timed test: set WAYLAND_TOOLS_MEASURE=1 to print them)
  it.runIf(process.env.WAYLAND_TOOLS_MEASURE)('measures: wtype press, wl-copy write, wl-paste read (p50 of 20)', async () => {
    const p50 = async (f: () => Promise<unknown>) => {
      const ms: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        await f();
        ms.push(performance.now() - t0);
      }
      return ms.sort((a, b) => a - b)[10]?.toFixed(1);
    };
    const keys = new WtypeKeys({ env: sway.env });
    const clipboard = new WaylandClipboard({ env: sway.env });
    const press = await p50(() => keys.press(combo('Ctrl+Shift+V')));
    const type10 = await p50(() => keys.type('abcdefghij'));
    const write = await p50(() => clipboard.write('héllo — ü ✓ a dictated sentence of some sixty characters.'));
    const read = await p50(() => clipboard.read());
    console.log(`wayland tools, p50 of 20 on headless sway: wtype press ${press} ms, wtype type 10 chars ${type10} ms, wl-copy write ${write} ms, wl-paste read ${read} ms`);
  });
});
