/**
 * `prism-dictate hotkey setup` (lib/host/desktop/bindings.ts): the binding lines for each desktop from
 * every kind of combination, the desktop found from the environment, the marked block kept idempotent
 * and the rest of a person's config byte-identical, GNOME's custom shortcuts through a recorded
 * gsettings, findBinding's answers from each desktop's own report — and on a real headless sway: the
 * block written to the file sway read, reloaded, and a virtual keyboard's hold firing press once and
 * release on release (hotkey.mode applies in the daemon: a quick tap latches).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type KeyCombo, parseCombo } from '../lib/config/keys.js';
import {
  BLOCK_BEGIN,
  BLOCK_END,
  bindingPlan,
  conflictingLines,
  detectDesktop,
  findBinding,
  GNOME_PATH,
  gnomeKeys,
  hyprlandKeys,
  kdeKeys,
  parseGvariantStrings,
  type Runner,
  replaceBlock,
  riverKeys,
  runProgram,
  swayConfigFile,
  swayKeys,
  writeBinding,
  writeFileAtomic,
} from '../lib/host/desktop/bindings.js';

const combo = (text: string): KeyCombo => {
  const c = parseCombo(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
};

const onPath = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

describe('the binding lines', () => {
  it('converts each modifier and named keys for every desktop', () => {
    const cases: [string, string, [string, string], [string, string], string, string][] = [
      ['Meta+Alt+V', 'Mod4+Mod1+v', ['SUPER ALT', 'V'], ['Mod4+Mod1', 'V'], '<Super><Alt>v', 'Meta+Alt+V'],
      ['ctrl+shift+space', 'Control+Shift+space', ['CTRL SHIFT', 'space'], ['Control+Shift', 'space'], '<Control><Shift>space', 'Ctrl+Shift+space'],
      ['F9', 'F9', ['', 'F9'], ['None', 'F9'], 'F9', 'F9'],
      ['Super+Ctrl+Enter', 'Mod4+Control+Return', ['SUPER CTRL', 'Return'], ['Mod4+Control', 'Return'], '<Super><Control>Return', 'Meta+Ctrl+Return'],
      ['alt+pageup', 'Mod1+Prior', ['ALT', 'Prior'], ['Mod1', 'Prior'], '<Alt>Prior', 'Alt+Prior'],
      ['shift+7', 'Shift+7', ['SHIFT', '7'], ['Shift', '7'], '<Shift>7', 'Shift+7'],
      ['Ctrl+Alt+F12', 'Control+Mod1+F12', ['CTRL ALT', 'F12'], ['Control+Mod1', 'F12'], '<Control><Alt>F12', 'Ctrl+Alt+F12'],
    ];
    for (const [text, sway, hypr, river, gnome, kde] of cases) {
      const c = combo(text);
      expect([swayKeys(c), hyprlandKeys(c), riverKeys(c), gnomeKeys(c), kdeKeys(c)], text).toEqual([sway, hypr, river, gnome, kde]);
    }
  });

  it('sway: press without repeat, release on release, inside the markers', () => {
    const p = bindingPlan('sway', combo('Meta+Alt+V'));
    expect(p.pressRelease).toBe(true);
    expect(p.lines[0]).toBe(BLOCK_BEGIN);
    expect(p.lines.at(-1)).toBe(BLOCK_END);
    expect(p.lines).toContain('bindsym --no-repeat Mod4+Mod1+v exec prism-dictate press');
    expect(p.lines).toContain('bindsym --release Mod4+Mod1+v exec prism-dictate release');
    expect(p.notes.join(' ')).toMatch(/modifier first/);
  });

  it('Hyprland: bind and bindr, and the Lua form of 0.55+', () => {
    const p = bindingPlan('hyprland', combo('Meta+Alt+V'), '/usr/local/bin/prism-dictate');
    expect(p.lines).toContain('bind = SUPER ALT, V, exec, /usr/local/bin/prism-dictate press');
    expect(p.lines).toContain('bindr = SUPER ALT, V, exec, /usr/local/bin/prism-dictate release');
    expect(p.notes.join('\n')).toContain('hl.bind("SUPER + ALT + V"');
    expect(bindingPlan('hyprland', combo('F9')).lines).toContain('bind = , F9, exec, prism-dictate press');
  });

  it('river: map and map -release, the command quoted for riverctl', () => {
    const p = bindingPlan('river', combo('Meta+Alt+V'));
    expect(p.lines).toEqual(["riverctl map normal Mod4+Mod1 V spawn 'prism-dictate press'", "riverctl map -release normal Mod4+Mod1 V spawn 'prism-dictate release'"]);
  });

  it('GNOME and KDE: toggle, saying why', () => {
    const g = bindingPlan('gnome', combo('Meta+Alt+V'));
    expect(g.pressRelease).toBe(false);
    expect(g.lines.join('\n')).toContain(`custom-keybinding:${GNOME_PATH} binding '<Super><Alt>v'`);
    expect(g.lines.join('\n')).toContain("command 'prism-dictate toggle'");
    expect(g.notes[0]).toMatch(/press only.*toggle.*latchSilenceMs/s);
    const k = bindingPlan('kde', combo('Meta+Alt+V'));
    expect(k.pressRelease).toBe(false);
    expect(k.lines.join('\n')).toMatch(/Command or Script[\s\S]*prism-dictate toggle[\s\S]*Meta\+Alt\+V/);
    expect(k.notes.join(' ')).toMatch(/press only/);
  });

  it('a path with a space or an apostrophe is quoted for the shell each desktop runs it through', () => {
    expect(bindingPlan('kde', combo('F9'), "/home/o'neil/prism-dictate").lines.join('\n')).toContain(`Command: '/home/o'\\''neil/prism-dictate' toggle`);
    expect(bindingPlan('river', combo('F9'), '/home/a b/prism-dictate').lines[0]).toBe(`riverctl map normal None F9 spawn ''\\''/home/a b/prism-dictate'\\'' press'`);
    expect(bindingPlan('sway', combo('F9'), '/home/a b/prism-dictate').lines).toContain("bindsym --no-repeat F9 exec '/home/a b/prism-dictate' press");
  });

  it('X11 and no session: nothing to bind, and says so', () => {
    expect(bindingPlan('x11', combo('Meta+Alt+V')).lines).toEqual([]);
    expect(bindingPlan('x11', combo('Meta+Alt+V')).notes[0]).toMatch(/grabs Meta\+Alt\+V itself/);
    expect(bindingPlan('none', combo('F9')).notes[0]).toMatch(/No Wayland or X11 session/);
  });
});

describe('the desktop found', () => {
  it('from the environment', () => {
    expect(detectDesktop({ SWAYSOCK: '/run/sway.sock', WAYLAND_DISPLAY: 'wayland-1' })).toBe('sway');
    expect(detectDesktop({ HYPRLAND_INSTANCE_SIGNATURE: 'x', WAYLAND_DISPLAY: 'wayland-1' })).toBe('hyprland');
    expect(detectDesktop({ WAYLAND_DISPLAY: 'wayland-0', XDG_CURRENT_DESKTOP: 'ubuntu:GNOME', DISPLAY: ':0' })).toBe('gnome');
    expect(detectDesktop({ XDG_SESSION_TYPE: 'wayland', XDG_CURRENT_DESKTOP: 'KDE' })).toBe('kde');
    expect(detectDesktop({ WAYLAND_DISPLAY: 'wayland-1', XDG_CURRENT_DESKTOP: 'river' })).toBe('river');
    expect(detectDesktop({ WAYLAND_DISPLAY: 'wayland-1', XDG_CURRENT_DESKTOP: 'niri' })).toBe('wayland');
    // an X11 GNOME session: the daemon grabs the key itself
    expect(detectDesktop({ DISPLAY: ':0', XDG_SESSION_TYPE: 'x11', XDG_CURRENT_DESKTOP: 'GNOME' })).toBe('x11');
    expect(detectDesktop({})).toBe('none');
  });
});

describe('the same keys bound elsewhere', () => {
  it('sway: through $variables and in any order, not inside our block or in comments', () => {
    const ours = bindingPlan('sway', combo('Meta+Alt+V')).lines.join('\n');
    const text = [
      'set $mod Mod4',
      '# bindsym $mod+Mod1+v exec old',
      'bindsym --to-code $mod+Mod1+v exec cliphist',
      'bindsym Mod1+Mod4+V exec x',
      'bindsym $mod+v exec y',
      ours,
    ].join('\n');
    expect(conflictingLines('sway', text, combo('Meta+Alt+V'))).toEqual(['3: bindsym --to-code $mod+Mod1+v exec cliphist', '4: bindsym Mod1+Mod4+V exec x']);
  });

  it('Hyprland: bind lines of any flavour with $mainMod', () => {
    const text = ['$mainMod = SUPER', 'bind = $mainMod ALT, V, exec, cliphist', 'bindr = SUPER, V, exec, x', 'bind = SUPER_ALT, v, exec, y'].join('\n');
    expect(conflictingLines('hyprland', text, combo('Meta+Alt+V'))).toEqual(['2: bind = $mainMod ALT, V, exec, cliphist', '4: bind = SUPER_ALT, v, exec, y']);
  });
});

describe('the marked block', () => {
  const block = bindingPlan('sway', combo('Meta+Alt+V')).lines;
  const mine = '# my config\nset $mod Mod4\n\nbindsym $mod+Return exec foot'; // no final newline

  it('is appended once, replaced on the next run, and leaves every other byte as it was', () => {
    const once = replaceBlock(mine, block);
    expect(once.startsWith(`${mine}\n\n`)).toBe(true);
    expect(replaceBlock(once, block)).toBe(once);
    const f9 = bindingPlan('sway', combo('F9')).lines;
    const changed = replaceBlock(`${once}\n# after\n`, f9);
    expect(changed).toBe(`${mine}\n\n${f9.join('\n')}\n\n# after\n`);
    expect(changed.match(/# prism-dictate begin/g)).toHaveLength(1);
    expect(replaceBlock('', block)).toBe(`${block.join('\n')}\n`);
  });

  it('is written through a symbolic link (dotfiles), keeping the link and the mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-block-'));
    try {
      mkdirSync(join(dir, 'dotfiles'));
      writeFileSync(join(dir, 'dotfiles', 'config'), mine, { mode: 0o600 });
      symlinkSync(join(dir, 'dotfiles', 'config'), join(dir, 'config'));
      writeFileAtomic(join(dir, 'config'), replaceBlock(mine, block));
      expect(readFileSync(join(dir, 'dotfiles', 'config'), 'utf8')).toBe(replaceBlock(mine, block));
      expect(spawnSync('test', ['-L', join(dir, 'config')]).status).toBe(0);
      expect(readdirSync(join(dir, 'dotfiles'))).toEqual(['config']); // no temporary file left
      expect(spawnSync('stat', ['-c', '%a', join(dir, 'dotfiles', 'config')], { encoding: 'utf8' }).stdout.trim()).toBe('600');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('goes to the candidate whose text sway loaded, else the first that exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-cand-'));
    try {
      writeFileSync(join(dir, 'a'), 'A');
      writeFileSync(join(dir, 'b'), 'B');
      const c = [join(dir, 'missing'), join(dir, 'a'), join(dir, 'b')];
      expect(swayConfigFile('B', c)?.file).toBe(join(dir, 'b'));
      expect(swayConfigFile('edited since', c)?.file).toBe(join(dir, 'a'));
      expect(swayConfigFile(undefined, [join(dir, 'missing')])).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A runner answering from a table of "cmd args…" → stdout (exit 0), 127 for anything else; records each call. */
function fakeRunner(answers: Record<string, string>): Runner & { calls: string[] } {
  const calls: string[] = [];
  const run = (async (cmd: string, args: string[]) => {
    const line = [cmd, ...args].join(' ');
    calls.push(line);
    return line in answers ? { code: 0, stdout: answers[line] as string, stderr: '' } : { code: 127, stdout: '', stderr: 'not found' };
  }) as Runner & { calls: string[] };
  run.calls = calls;
  return run;
}

describe.skipIf(!existsSync('/etc/sway/config'))('--write when sway read the system config', () => {
  it("writes the person's own copy of it, with the block, and reloads", async () => {
    const home = mkdtempSync(join(tmpdir(), 'pd-home-'));
    try {
      const system = readFileSync('/etc/sway/config', 'utf8');
      const run = fakeRunner({ 'swaymsg -t get_config -r': JSON.stringify({ config: system }), 'swaymsg reload': '[{"success": true}]' });
      const c = combo('F9');
      const w = await writeBinding(bindingPlan('sway', c), c, 'prism-dictate', { run, env: { HOME: home } });
      expect(w.wrote).toBe(join(home, '.config', 'sway', 'config'));
      expect(readFileSync(w.wrote, 'utf8')).toBe(replaceBlock(system, bindingPlan('sway', c).lines));
      expect(run.calls).toContain('swaymsg reload');
      expect(readFileSync('/etc/sway/config', 'utf8')).toBe(system);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('--write on Hyprland', () => {
  it('adds the block to hyprland.conf once, and says so when there is no such file', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pd-hypr-'));
    try {
      const c = combo('Meta+Alt+V');
      const plan = bindingPlan('hyprland', c);
      await expect(writeBinding(plan, c, 'prism-dictate', { run: fakeRunner({}), env: { HOME: home } })).rejects.toThrow(/no .*hyprland\.conf/);
      mkdirSync(join(home, '.config', 'hypr'), { recursive: true });
      const mine = '$mainMod = SUPER\nbind = $mainMod ALT, V, exec, cliphist list\n';
      writeFileSync(join(home, '.config', 'hypr', 'hyprland.conf'), mine);
      const w = await writeBinding(plan, c, 'prism-dictate', { run: fakeRunner({}), env: { HOME: home } });
      expect(w.conflicts).toEqual(['2: bind = $mainMod ALT, V, exec, cliphist list']);
      await writeBinding(plan, c, 'prism-dictate', { run: fakeRunner({}), env: { HOME: home } });
      expect(readFileSync(join(home, '.config', 'hypr', 'hyprland.conf'), 'utf8')).toBe(`${mine}\n${plan.lines.join('\n')}\n`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('findBinding', () => {
  const swayJson = (config: string) => JSON.stringify({ config });
  const block = bindingPlan('sway', combo('Meta+Alt+V')).lines.join('\n');

  it('sway: the loaded config, with and without our lines, and a begin that repeats', async () => {
    const get = 'swaymsg -t get_config -r';
    expect(await findBinding('sway', fakeRunner({ [get]: swayJson(`x\n${block}\n`) }))).toMatchObject({ found: true, pressRelease: true, checked: true });
    expect(await findBinding('sway', fakeRunner({ [get]: swayJson('bindsym $mod+Return exec foot\n') }))).toMatchObject({ found: false, checked: true });
    const repeats = await findBinding('sway', fakeRunner({ [get]: swayJson('bindsym Mod4+v exec prism-dictate begin\nbindsym --release Mod4+v exec prism-dictate end\n') }));
    expect(repeats).toMatchObject({ found: true, pressRelease: true });
    expect(repeats.detail).toMatch(/--no-repeat/);
    expect(await findBinding('sway', fakeRunner({ [get]: swayJson('bindsym F9 exec /opt/pd/prism-dictate toggle') }))).toMatchObject({ found: true, pressRelease: false });
    expect(await findBinding('sway', fakeRunner({}))).toMatchObject({ found: false, checked: false });
  });

  it('Hyprland: hyprctl binds -j', async () => {
    const binds = [
      { modmask: 72, key: 'V', release: false, repeat: false, dispatcher: 'exec', arg: '/usr/bin/prism-dictate begin' },
      { modmask: 72, key: 'V', release: true, repeat: false, dispatcher: 'exec', arg: '/usr/bin/prism-dictate end' },
      { modmask: 64, key: 'Q', release: false, dispatcher: 'killactive', arg: '' },
    ];
    const run = fakeRunner({ 'hyprctl binds -j': JSON.stringify(binds) });
    expect(await findBinding('hyprland', run)).toMatchObject({ found: true, pressRelease: true });
    expect(await findBinding('hyprland', fakeRunner({ 'hyprctl binds -j': JSON.stringify(binds.slice(2)) }))).toMatchObject({ found: false, checked: true });
    expect(await findBinding('hyprland', fakeRunner({ 'hyprctl binds -j': 'garbage' }))).toMatchObject({ found: false, checked: false });
  });

  it('GNOME: the custom shortcut that runs prism-dictate', async () => {
    const one = 'org.gnome.settings-daemon.plugins.media-keys.custom-keybinding';
    const other = '/org/gnome/settings-daemon/plugins/media-keys/custom-keybindings/custom0/';
    const run = fakeRunner({
      'gsettings get org.gnome.settings-daemon.plugins.media-keys custom-keybindings': `['${other}', '${GNOME_PATH}']`,
      [`gsettings get ${one}:${other} command`]: "'firefox'",
      [`gsettings get ${one}:${GNOME_PATH} command`]: "'prism-dictate toggle'",
      [`gsettings get ${one}:${GNOME_PATH} binding`]: "'<Super><Alt>v'",
    });
    const f = await findBinding('gnome', run);
    expect(f).toMatchObject({ found: true, pressRelease: false });
    expect(f.detail).toContain('<Super><Alt>v');
  });

  it("KDE: a custom command's desktop file with a shortcut in kglobalshortcutsrc", async () => {
    const home = mkdtempSync(join(tmpdir(), 'pd-kde-'));
    try {
      mkdirSync(join(home, '.config'));
      mkdirSync(join(home, '.local', 'share', 'applications'), { recursive: true });
      const rc = join(home, '.config', 'kglobalshortcutsrc');
      writeFileSync(join(home, '.local', 'share', 'applications', 'net.local.toggle.desktop'), '[Desktop Entry]\nExec=/usr/local/bin/prism-dictate toggle\nName=toggle\n');
      writeFileSync(rc, '[kwin]\nExpose=Ctrl+F9,Ctrl+F9,Toggle Present Windows\n\n[services][net.local.toggle.desktop]\n_launch=none\n');
      expect(await findBinding('kde', fakeRunner({}), { HOME: home })).toMatchObject({ found: false, checked: true });
      writeFileSync(rc, '[kwin]\nExpose=Ctrl+F9,Ctrl+F9,Toggle Present Windows\n\n[services][net.local.toggle.desktop]\n_launch=Meta+Alt+V\n');
      expect(await findBinding('kde', fakeRunner({}), { HOME: home })).toMatchObject({ found: true, pressRelease: false });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('river cannot be asked, and says so', async () => {
    expect(await findBinding('river', fakeRunner({}))).toMatchObject({ found: false, checked: false });
  });

  it('parses gsettings string arrays', () => {
    expect(parseGvariantStrings('@as []')).toEqual([]);
    expect(parseGvariantStrings("['/a/', '/b/']")).toEqual(['/a/', '/b/']);
    // a string with an apostrophe comes back in double quotes
    expect(parseGvariantStrings(`"/home/o'neil/prism-dictate toggle"`)).toEqual(["/home/o'neil/prism-dictate toggle"]);
  });
});

describe('--write on GNOME, with a recording gsettings', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const other = '/org/gnome/settings-daemon/plugins/media-keys/custom-keybindings/custom0/';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pd-gsettings-'));
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'state'));
    // a stand-in gsettings: get/set of "schema[:path] key" kept as files, every call recorded
    writeFileSync(
      join(dir, 'bin', 'gsettings'),
      `#!/bin/sh
printf '%s\\n' "$*" >> "${dir}/calls"
f="${dir}/state/$(printf '%s_%s' "$2" "$3" | tr '/:.' '___')"
case "$1" in
  get) if [ -f "$f" ]; then cat "$f"; else echo "@as []"; fi ;;
  set) printf '%s\\n' "$4" > "$f" ;;
  *) exit 1 ;;
esac
`,
      { mode: 0o755 },
    );
    env = { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}` };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds ours to the list once, keeps the other shortcuts, binds toggle', async () => {
    const run: Runner = (cmd, args, o) => runProgram(cmd, args, { ...o, env });
    await run('gsettings', ['set', 'org.gnome.settings-daemon.plugins.media-keys', 'custom-keybindings', `['${other}']`]);
    const c = combo('Meta+Alt+V');
    const plan = bindingPlan('gnome', c, '/usr/local/bin/prism-dictate');
    const first = await writeBinding(plan, c, '/usr/local/bin/prism-dictate', { run, env });
    expect(first.detail).toBe('kept 1 other custom shortcut');
    await writeBinding(plan, c, '/usr/local/bin/prism-dictate', { run, env });
    const list = (await run('gsettings', ['get', 'org.gnome.settings-daemon.plugins.media-keys', 'custom-keybindings'])).stdout;
    expect(parseGvariantStrings(list)).toEqual([other, GNOME_PATH]);
    const calls = readFileSync(join(dir, 'calls'), 'utf8');
    const one = `org.gnome.settings-daemon.plugins.media-keys.custom-keybinding:${GNOME_PATH}`;
    expect(calls).toContain(`set ${one} command '/usr/local/bin/prism-dictate toggle'`);
    expect(calls).toContain(`set ${one} binding '<Super><Alt>v'`);
    expect(calls).toContain(`set ${one} name 'prism-dictate'`);
    // the list was set once: the second run found ours already there
    expect(calls.split('\n').filter((l) => l.startsWith('set org.gnome.settings-daemon.plugins.media-keys custom-keybindings')).length).toBe(2); // ours + the setup above
    expect(await findBinding('gnome', run)).toMatchObject({ found: true, pressRelease: false });
  });
});

// ---- a real headless sway --------------------------------------------------------------------------

const swayMissing = process.platform !== 'linux' ? 'Linux only' : ['sway', 'swaymsg', 'wtype'].find((c) => !onPath(c));
const root = process.getuid?.() === 0;

/** Polls `read()` until `done` holds or 10 s pass (the compositor runs the binding's process on its own time). */
async function until<T>(read: () => T, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(v)}`);
    await sleep(20);
  }
}

describe.skipIf(Boolean(swayMissing) || (root && !onPath('setpriv')))('on a headless sway', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let pid: number | undefined;
  const userConfig = 'output HEADLESS-1 resolution 1280x800\n# my own line, kept as it is\nbindsym Mod4+Return exec true'; // no final newline
  const log = () => {
    try {
      return readFileSync(join(dir, 'home', 'log'), 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean);
    } catch {
      return [];
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pd-sway-'));
    chmodSync(dir, 0o755);
    for (const d of ['run', 'home', 'bin']) mkdirSync(join(dir, d));
    chmodSync(join(dir, 'run'), 0o700);
    // the stand-in prism-dictate on sway's PATH: one line per run
    writeFileSync(join(dir, 'bin', 'prism-dictate'), `#!/bin/sh\necho "$1" >> "${join(dir, 'home', 'log')}"\n`, { mode: 0o755 });
    writeFileSync(join(dir, 'home', 'config'), userConfig);
    if (root) for (const d of ['run', 'home']) chownSync(join(dir, d), 65534, 65534);
    const swayEnv = {
      PATH: `${join(dir, 'bin')}:/usr/bin:/bin`,
      HOME: join(dir, 'home'),
      XDG_RUNTIME_DIR: join(dir, 'run'),
      WLR_BACKENDS: 'headless',
      WLR_LIBINPUT_NO_DEVICES: '1',
      WLR_RENDERER: 'pixman',
    };
    const argv = ['sway', '-c', join(dir, 'home', 'config')];
    const child = root
      ? spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...argv], { env: swayEnv, stdio: 'ignore' })
      : spawn(argv[0] as string, argv.slice(1), { env: swayEnv, stdio: 'ignore' });
    pid = child.pid;
    const sock = await until(
      () => readdirSync(join(dir, 'run')).find((f) => f.startsWith('sway-ipc.')),
      (f) => Boolean(f),
      'sway IPC socket',
    );
    env = { ...process.env, SWAYSOCK: join(dir, 'run', sock as string), WAYLAND_DISPLAY: 'wayland-1', XDG_RUNTIME_DIR: join(dir, 'run'), HOME: join(dir, 'home') };
    await until(
      () => spawnSync('swaymsg', ['-t', 'get_version'], { env }).status,
      (s) => s === 0,
      'sway answering',
    );
  }, 30_000);

  afterAll(() => {
    if (pid) process.kill(pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('--write adds the block to the file sway read (found by its -c), reloads, and a second --write changes nothing', async () => {
    const c = combo('Meta+Alt+V');
    const plan = bindingPlan('sway', c);
    const run: Runner = (cmd, args, o) => runProgram(cmd, args, { ...o, env });
    expect(await findBinding('sway', run, env)).toMatchObject({ found: false, checked: true });
    const w = await writeBinding(plan, c, 'prism-dictate', { run, env });
    expect(w).toEqual({ wrote: join(dir, 'home', 'config'), detail: 'sway reloaded', conflicts: [] });
    const once = readFileSync(join(dir, 'home', 'config'), 'utf8');
    expect(once.startsWith(userConfig)).toBe(true);
    expect(await findBinding('sway', run, env)).toMatchObject({ found: true, pressRelease: true });
    await writeBinding(plan, c, 'prism-dictate', { run, env });
    expect(readFileSync(join(dir, 'home', 'config'), 'utf8')).toBe(once);
  });

  it('a 1.5 s hold fires press once, and the release fires release', async () => {
    expect(spawnSync('swaymsg', ['-t', 'get_config', '-r'], { env, encoding: 'utf8' }).stdout).toContain('bindsym --no-repeat Mod4+Mod1+v');
    // one wtype presses, holds and releases (a chord released by another process is not one key to sway);
    // its first pause lets the seat take the new keyboard
    const r = spawnSync('wtype', ['-s', '300', '-M', 'logo', '-M', 'alt', '-P', 'v', '-s', '1500', '-p', 'v', '-m', 'alt', '-m', 'logo'], { env, timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(await until(log, (l) => l.includes('release'), 'press and release')).toEqual(['press', 'release']);
  }, 30_000);

  // Keys pressed and let go as a keyboard sends them (the key, then the new modifier state), so the
  // modifier keys are key events too: sway ends the combination at the first key event after it
  // stops being held (measured: Alt let go first, Meta+V held 2 s more → end when V came up).
  // What must hold in every order: one begin, one end — nothing left recording.
  const press = ['-P', 'Super_L', '-M', 'logo', '-P', 'Alt_L', '-M', 'alt', '-P', 'v'];
  const up = { alt: ['-p', 'Alt_L', '-m', 'alt'], meta: ['-p', 'Super_L', '-m', 'logo'], v: ['-p', 'v'] };
  it.each<[string, string[][]]>([
    ['Alt, Meta, V', [up.alt, up.meta, up.v]],
    ['Meta, V, Alt', [up.meta, up.v, up.alt]],
    ['Alt, V, Meta', [up.alt, up.v, up.meta]],
  ])(
    'a modifier let go first (%s): press once, release once',
    async (_, order) => {
      writeFileSync(join(dir, 'home', 'log'), '');
      const [first, second, third] = order as [string[], string[], string[]];
      const r = spawnSync('wtype', ['-s', '300', ...press, '-s', '1000', ...first, '-s', '300', ...second, '-s', '300', ...third], { env, timeout: 20_000 });
      expect(r.status).toBe(0);
      expect(await until(log, (l) => l.includes('release'), 'press and release')).toEqual(['press', 'release']);
    },
    30_000,
  );
});

describe('prism-dictate hotkey setup', () => {
  /** Runs the CLI in this process; what it printed, and the exit code it set. */
  async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
    const { main } = await import('../lib/cli/main.js');
    let out = '';
    let err = '';
    const w1 = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out += String(s);
      return true;
    });
    const w2 = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      err += String(s);
      return true;
    });
    const before = process.exitCode;
    process.exitCode = 0;
    try {
      await main(['node', 'prism-dictate', ...args]);
      return { out, err, code: Number(process.exitCode ?? 0) };
    } finally {
      w1.mockRestore();
      w2.mockRestore();
      process.exitCode = before;
    }
  }

  it('prints the river lines and says --write leaves the init script alone', async () => {
    const r = await cli('hotkey', 'setup', '--desktop', 'river', '--keys', 'F9', '--command', '/opt/pd/prism-dictate', '--write');
    expect(r.code).toBe(0);
    expect(r.out).toContain("riverctl map normal None F9 spawn '/opt/pd/prism-dictate press'");
    expect(r.out).toContain("riverctl map -release normal None F9 spawn '/opt/pd/prism-dictate release'");
    expect(r.out).toMatch(/not written: river's init is a script/);
  });

  it('--json, and KDE with toggle', async () => {
    const r = await cli('hotkey', 'setup', '--desktop', 'kde', '--keys', 'Meta+Alt+V', '--command', 'prism-dictate', '--json');
    const j = JSON.parse(r.out) as { desktop: string; pressRelease: boolean; lines: string[] };
    expect(j).toMatchObject({ desktop: 'kde', pressRelease: false });
    expect(j.lines.join('\n')).toContain('prism-dictate toggle');
  });

  it('an X11 session needs nothing; a bad desktop or combination is a usage error', async () => {
    expect((await cli('hotkey', 'setup', '--desktop', 'x11', '--keys', 'Meta+Alt+V')).out).toMatch(/grabs Meta\+Alt\+V itself, nothing to set up/);
    const bad = await cli('hotkey', 'setup', '--desktop', 'weston', '--keys', 'F9');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--desktop takes sway, hyprland/);
    expect((await cli('hotkey', 'setup', '--desktop', 'sway', '--keys', 'Meta+Alt')).code).toBe(2);
  });
});

describe('the command the desktop runs', () => {
  it('is the prism-dictate on PATH by its absolute path, else the script that runs, else the bare name', async () => {
    const { defaultCommand } = await import('../lib/cli/hotkey.js');
    const dir = mkdtempSync(join(tmpdir(), 'pd-path-'));
    try {
      writeFileSync(join(dir, 'prism-dictate'), '#!/bin/sh\n', { mode: 0o755 });
      expect(defaultCommand({ PATH: `relative:/nonexistent:${dir}` }, '/x/bin/prism-dictate.js')).toBe(join(dir, 'prism-dictate'));
      expect(defaultCommand({ PATH: '/nonexistent' }, '/x/bin/prism-dictate.js')).toBe('/x/bin/prism-dictate.js');
      expect(defaultCommand({ PATH: '/nonexistent' }, '/x/vitest.mjs')).toBe('prism-dictate');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
