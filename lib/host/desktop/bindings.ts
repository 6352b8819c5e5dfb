/**
 * Compositor key bindings for the socket commands, where the daemon cannot grab a key itself (Wayland):
 * which desktop this is, the binding lines for it (press → `press`, release → `release` where the desktop
 * has releases, else `toggle`), adding them to the desktop's own configuration, and whether one is live.
 * The generators are pure; everything that runs a program takes a `Runner`, bounded in time and output.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { KeyCombo, Modifier } from '../../config/keys.js';
import { WhisperError } from '../../errors.js';
import { keysymName } from '../keys.js';
import { sessionKind } from './session.js';
import { detectCompositor } from './wayland/compositor.js';

export const BINDING_DESKTOPS = ['sway', 'hyprland', 'river', 'gnome', 'kde', 'wayland', 'x11', 'none'] as const;
/** 'wayland': a Wayland compositor this file does not know; 'none': no graphical session at all */
export type BindingDesktop = (typeof BINDING_DESKTOPS)[number];

/** The desktop of this session, from its environment (an X11 session needs no binding: the daemon grabs the key). */
export function detectDesktop(env: NodeJS.ProcessEnv = process.env): BindingDesktop {
  const session = sessionKind('auto', env, 'linux');
  if (session !== 'wayland') return session === 'x11' ? 'x11' : 'none';
  const c = detectCompositor(env);
  return c === 'wayfire' || c === 'other' ? 'wayland' : c;
}

// ---- key names ---------------------------------------------------------------------------------------

/** Modifiers in the order the desktops' own examples write them (Super first). */
const ORDER: Modifier[] = ['meta', 'ctrl', 'alt', 'shift'];
const ordered = (c: KeyCombo): Modifier[] => ORDER.filter((m) => c.modifiers.includes(m));

const SWAY_MOD: Record<Modifier, string> = { meta: 'Mod4', ctrl: 'Control', alt: 'Mod1', shift: 'Shift' };
const HYPR_MOD: Record<Modifier, string> = { meta: 'SUPER', ctrl: 'CTRL', alt: 'ALT', shift: 'SHIFT' };
const GNOME_MOD: Record<Modifier, string> = { meta: '<Super>', ctrl: '<Control>', alt: '<Alt>', shift: '<Shift>' };
const KDE_MOD: Record<Modifier, string> = { meta: 'Meta', ctrl: 'Ctrl', alt: 'Alt', shift: 'Shift' };

/** "Mod4+Mod1+v" */
export function swayKeys(c: KeyCombo): string {
  return [...ordered(c).map((m) => SWAY_MOD[m]), keysymName(c.key)].join('+');
}

/** The letter keys as the desktops' docs write them (Hyprland and river look keysyms up case-insensitively). */
const upperLetter = (key: string): string => (/^[a-z]$/.test(key) ? key.toUpperCase() : keysymName(key));

/** ["SUPER ALT", "V"] */
export function hyprlandKeys(c: KeyCombo): [string, string] {
  return [
    ordered(c)
      .map((m) => HYPR_MOD[m])
      .join(' '),
    upperLetter(c.key),
  ];
}

/** ["Mod4+Mod1", "V"]: river's own modifier names (every river version reads them; newer ones also Super/Alt) */
export function riverKeys(c: KeyCombo): [string, string] {
  const mods = ordered(c).map((m) => SWAY_MOD[m]);
  return [mods.length ? mods.join('+') : 'None', upperLetter(c.key)];
}

/** "<Super><Alt>v" */
export function gnomeKeys(c: KeyCombo): string {
  return (
    ordered(c)
      .map((m) => GNOME_MOD[m])
      .join('') + keysymName(c.key)
  );
}

/** "Meta+Alt+V", as KDE's shortcut editor shows it */
export function kdeKeys(c: KeyCombo): string {
  const key = c.key.length === 1 ? c.key.toUpperCase() : /^f\d+$/.test(c.key) ? c.key.toUpperCase() : keysymName(c.key);
  return [...ordered(c).map((m) => KDE_MOD[m]), key].join('+');
}

/** A command word for a shell line: bare when it is plain, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

// ---- what to bind ----------------------------------------------------------------------------------

export const BLOCK_BEGIN = '# prism-dictate begin';
export const BLOCK_END = '# prism-dictate end';

export interface BindingPlan {
  desktop: BindingDesktop;
  /** true: the key's press → `press`, its release → `release` (hotkey.mode applies: hybrid); false: one press → toggle */
  pressRelease: boolean;
  /** the lines to add (a config block), the commands to run, or the steps to take */
  lines: string[];
  /** where they go: a file, "run these commands", "System Settings → …" */
  where: string;
  /** why this form, and the limits a person should know */
  notes: string[];
}

/** What ends push-to-talk on the wlroots desktops, measured on sway 1.7 (README "Wayland: per desktop"). */
const MODIFIER_RELEASE_NOTE =
  'sway runs the release binding at the first key event after the combination stops being held: let go of the letter first, or of all keys together. Let go of a modifier first and the release waits for the next key to come up; a single key (F9, Pause) has no such lag.';
const UNMEASURED_RELEASE_NOTE =
  'Letting go of a modifier before the key was not measured here; on sway the release then waits for the next key to come up: let go of the letter first, or use a single key (F9).';

/** The binding for `desktop`: `command` is how the compositor runs prism-dictate (an absolute path where PATH may differ). */
export function bindingPlan(desktop: BindingDesktop, combo: KeyCombo, command = 'prism-dictate', pipe?: string): BindingPlan {
  const cmd = shellWord(command);
  // through the daemon's trigger pipe a key costs a shell's echo (~1 ms), not a Node client's start (~140 ms)
  const word = (w: 'press' | 'release') => (pipe ? `echo ${w} 1<>${shellWord(pipe)}` : `${cmd} ${w}`);
  const label = kdeKeys(combo);
  const toggleWhy = `${desktop === 'gnome' ? 'GNOME' : 'KDE'} shortcuts fire on press only (no release), so the key toggles: press to start, press again to stop — and with hotkey.mode hybrid (the default) a latched dictation also ends by itself after vad.latchSilenceMs of silence.`;
  switch (desktop) {
    case 'sway': {
      const keys = swayKeys(combo);
      return {
        desktop,
        pressRelease: true,
        lines: [
          BLOCK_BEGIN,
          `# hold ${label} to dictate (added by prism-dictate hotkey setup --write; run it again to replace this block)`,
          `bindsym --no-repeat ${keys} exec ${word('press')}`,
          `bindsym --release ${keys} exec ${word('release')}`,
          BLOCK_END,
        ],
        where: 'the sway config (then: swaymsg reload)',
        notes: ['--no-repeat: without it a held key runs `press` ~25 times a second.', MODIFIER_RELEASE_NOTE],
      };
    }
    case 'hyprland': {
      const [mods, key] = hyprlandKeys(combo);
      return {
        desktop,
        pressRelease: true,
        lines: [
          BLOCK_BEGIN,
          `# hold ${label} to dictate (added by prism-dictate hotkey setup --write; run it again to replace this block)`,
          `bind = ${mods}, ${key}, exec, ${word('press')}`,
          `bindr = ${mods}, ${key}, exec, ${word('release')}`,
          BLOCK_END,
        ],
        where: '~/.config/hypr/hyprland.conf (Hyprland reloads it by itself)',
        notes: [
          '`bind` does not repeat (only `binde` does); `bindr` fires on release.',
          `Hyprland 0.55+ with a Lua config: hl.bind("${[...mods.split(' ').filter(Boolean), key].join(' + ')}", hl.dsp.exec_cmd("${command} press")) and the same with hl.dsp.exec_cmd("${command} release"), { release = true }.`,
          'Not run here (no Hyprland on the test machine): the syntax is from the Hyprland wiki.',
          UNMEASURED_RELEASE_NOTE,
        ],
      };
    }
    case 'river': {
      const [mods, key] = riverKeys(combo);
      const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
      return {
        desktop,
        pressRelease: true,
        lines: [`riverctl map normal ${mods} ${key} spawn ${q(word('press'))}`, `riverctl map -release normal ${mods} ${key} spawn ${q(word('release'))}`],
        where: 'your river init script (~/.config/river/init), then run the two lines once or restart river',
        notes: [
          'river mappings do not repeat unless given -repeat; -release fires on release.',
          'river has no way to list its mappings, so doctor cannot check this one; the init is a script, so prism-dictate prints it and never edits it.',
          'Not run here (no river on the test machine): the syntax is from riverctl(1).',
          UNMEASURED_RELEASE_NOTE,
        ],
      };
    }
    case 'gnome': {
      const p = GNOME_PATH;
      return {
        desktop,
        pressRelease: false,
        lines: [
          `gsettings set ${GNOME_ONE}:${p} name 'prism-dictate'`,
          `gsettings set ${GNOME_ONE}:${p} command ${shellWord(`${cmd} toggle`)}`,
          `gsettings set ${GNOME_ONE}:${p} binding '${gnomeKeys(combo)}'`,
          `gsettings set ${GNOME_SCHEMA} ${GNOME_LIST} "<the list it had, plus '${p}'>"`,
        ],
        where: 'run these commands (--write does it, keeping your other custom shortcuts), or Settings → Keyboard → Custom Shortcuts',
        notes: [toggleWhy, 'For true hold-to-talk on GNOME: desktop.hotkey evdev (needs group input; see doctor).'],
      };
    }
    case 'kde':
      return {
        desktop,
        pressRelease: false,
        lines: ['System Settings → Keyboard → Shortcuts → Add New → Command or Script…', `  Command: ${cmd} toggle`, `  Shortcut: ${label}`],
        where: 'System Settings (Plasma 6)',
        notes: [
          toggleWhy,
          'Printed only: Plasma 6 keeps shortcuts inside KWin, which does not pick up a written kglobalshortcutsrc until the next login; the dialog applies it at once.',
          'For true hold-to-talk on KDE: desktop.hotkey evdev (needs group input; see doctor).',
        ],
      };
    case 'wayland':
      return {
        desktop,
        pressRelease: true,
        lines: [`press ${label}   → ${command} press   (no key repeat)`, `release ${label} → ${command} release`, `or, press only:  → ${command} toggle`],
        where: "your compositor's key bindings (this one is not recognised: sway, Hyprland, river, GNOME and KDE are)",
        notes: ['Repeated begins while one runs are harmless, but turn key repeat off for the binding where the compositor allows.'],
      };
    default:
      return {
        desktop,
        pressRelease: true,
        lines: [],
        where: desktop === 'x11' ? 'nothing to set up' : 'no graphical session found',
        notes: [
          desktop === 'x11'
            ? `An X11 session: the daemon grabs ${label} itself, nothing to set up (prism-dictate start).`
            : 'No Wayland or X11 session in this environment: run this inside your desktop session, or name one with --desktop.',
        ],
      };
  }
}

// ---- a marked block in a config file ---------------------------------------------------------------

/** `text` with our marked block replaced by `block` (or appended when there is none); everything else byte-identical. */
export function replaceBlock(text: string, block: readonly string[]): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === BLOCK_BEGIN);
  const end = start < 0 ? -1 : lines.findIndex((l, i) => i > start && l.trim() === BLOCK_END);
  if (start >= 0 && end > start) return [...lines.slice(0, start), ...block, ...lines.slice(end + 1)].join('\n');
  const body = `${block.join('\n')}\n`;
  if (text === '') return body;
  return text.endsWith('\n') ? `${text}\n${body}` : `${text}\n\n${body}`;
}

/**
 * Writes `text` to `file` as a whole or not at all: a temporary file beside it, then a rename. A symbolic
 * link (dotfiles) is followed, so the link stays; the file keeps its mode (and owner, when run as root).
 */
export function writeFileAtomic(file: string, text: string): string {
  let target = file;
  try {
    target = realpathSync(file);
  } catch {}
  let st: { mode: number; uid: number; gid: number } | undefined;
  try {
    st = statSync(target);
  } catch {}
  const tmp = join(dirname(target), `.${basename(target)}.prism-dictate-${process.pid}.tmp`);
  const fd = openSync(tmp, 'wx', st ? st.mode & 0o7777 : 0o644);
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (st) {
      chmodSync(tmp, st.mode & 0o7777);
      if (process.getuid?.() === 0) chownSync(tmp, st.uid, st.gid);
    }
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return target;
}

// ---- running programs ------------------------------------------------------------------------------

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}
/** Runs a program without a shell; resolves with its exit code (127: not found, 124: timed out). */
export type Runner = (cmd: string, args: string[], o?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }) => Promise<RunResult>;

export const runProgram: Runner = (cmd, args, o = {}) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: o.timeoutMs ?? 5000, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024, env: o.env ?? process.env, encoding: 'utf8' }, (e, stdout, stderr) => {
      const err = e as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
      const code = !err ? 0 : err.code === 'ENOENT' ? 127 : err.killed ? 124 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') });
    });
  });

// ---- sway ------------------------------------------------------------------------------------------

interface SwayConfigReply {
  config?: string;
  included_configs?: { path?: string; raw_contents?: string; variable_config?: string }[];
}

/** What the running sway loaded: its main config file's text, and that with the included files. */
async function swayLoaded(run: Runner, env: NodeJS.ProcessEnv): Promise<{ main: string; all: string } | undefined> {
  const r = await run('swaymsg', ['-t', 'get_config', '-r'], { env });
  if (r.code !== 0) return undefined;
  try {
    const j = JSON.parse(r.stdout) as SwayConfigReply;
    const main = j.config ?? '';
    return { main, all: [main, ...(j.included_configs ?? []).map((c) => c.raw_contents ?? c.variable_config ?? '')].join('\n') };
  } catch {
    return undefined;
  }
}

/** The sway config files in the order sway looks for them (sway(5)), the -c file of the running sway first. */
export function swayConfigCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? homedir();
  const xdg = env.XDG_CONFIG_HOME || join(home, '.config');
  const out: string[] = [];
  const pid = /sway-ipc\.\d+\.(\d+)\.sock$/.exec(env.SWAYSOCK ?? '')?.[1];
  if (pid) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const i = argv.findIndex((a) => a === '-c' || a === '--config');
      const c = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--config='))?.slice(9);
      if (c) out.push(c);
    } catch {}
  }
  out.push(join(home, '.sway', 'config'), join(xdg, 'sway', 'config'), join(home, '.i3', 'config'), join(xdg, 'i3', 'config'), '/etc/sway/config', '/etc/i3/config');
  return out;
}

/** The file sway read: the candidate whose text is what sway says it loaded, else the first that exists. */
export function swayConfigFile(loaded: string | undefined, candidates: readonly string[]): { file: string; text: string } | undefined {
  const read = (f: string): string | undefined => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return undefined;
    }
  };
  const texts = candidates.map((f) => ({ file: f, text: read(f) }));
  const same = loaded === undefined ? undefined : texts.find((t) => t.text === loaded);
  const hit = same ?? texts.find((t) => t.text !== undefined);
  return hit && hit.text !== undefined ? { file: hit.file, text: hit.text } : undefined;
}

// ---- GNOME -----------------------------------------------------------------------------------------

const GNOME_SCHEMA = 'org.gnome.settings-daemon.plugins.media-keys';
const GNOME_LIST = 'custom-keybindings';
const GNOME_ONE = 'org.gnome.settings-daemon.plugins.media-keys.custom-keybinding';
export const GNOME_PATH = '/org/gnome/settings-daemon/plugins/media-keys/custom-keybindings/prism-dictate/';

/** The paths of a GVariant string array as gsettings prints it: "@as []", "['/a/', '/b/']". */
export function parseGvariantStrings(text: string): string[] {
  return [...text.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? m[2] ?? '').replace(/\\(.)/g, '$1'));
}

/** A string in GVariant text ('…', quotes and backslashes escaped), so gsettings never reads it as another type. */
const gvariantString = (s: string): string => `'${s.replace(/[\\']/g, '\\$&')}'`;
const gvariantList = (items: readonly string[]): string => `[${items.map(gvariantString).join(', ')}]`;

async function gsettings(run: Runner, env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const r = await run('gsettings', args, { env });
  if (r.code !== 0)
    throw new WhisperError('HOTKEY_UNAVAILABLE', `gsettings ${args.join(' ')} failed (${r.code === 127 ? 'gsettings not found' : r.stderr.trim() || `exit ${r.code}`})`);
  return r.stdout.trim();
}

// ---- the same keys bound elsewhere ----------------------------------------------------------------

/** A modifier name of sway or Hyprland, as one of ours (undefined: not a modifier). */
function modifierOf(name: string): Modifier | undefined {
  const n = name.toLowerCase();
  if (n === 'mod4' || n === 'super' || n === 'logo' || n === 'win') return 'meta';
  if (n === 'mod1' || n === 'alt') return 'alt';
  if (n === 'control' || n === 'ctrl') return 'ctrl';
  if (n === 'shift') return 'shift';
  return undefined;
}

const sameCombo = (mods: string[], key: string, c: KeyCombo): boolean => {
  const m = mods.map(modifierOf);
  if (m.some((x) => x === undefined)) return false;
  const set = new Set(m as Modifier[]);
  return set.size === c.modifiers.length && c.modifiers.every((x) => set.has(x)) && key.toLowerCase() === keysymName(c.key).toLowerCase();
};

/** Lines outside our block that bind the same combination ("12: bindsym $mod+Mod1+v exec cliphist"), in a sway or Hyprland config. */
export function conflictingLines(desktop: 'sway' | 'hyprland', text: string, c: KeyCombo): string[] {
  const vars = new Map<string, string>();
  const out: string[] = [];
  let inBlock = false;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === BLOCK_BEGIN) inBlock = true;
    if (line === BLOCK_END) inBlock = false;
    if (inBlock || line.startsWith('#')) return;
    if (desktop === 'sway') {
      const set = /^set\s+(\$\w+)\s+(\S+)/.exec(line);
      if (set) vars.set(set[1] as string, set[2] as string);
      if (!/^bindsym\s/.test(line)) return;
      const spec = line
        .split(/\s+/)
        .slice(1)
        .find((w) => !w.startsWith('--'));
      if (!spec) return;
      const parts = spec.replace(/\$\w+/g, (v) => vars.get(v) ?? v).split('+');
      if (sameCombo(parts.slice(0, -1), parts.at(-1) as string, c)) out.push(`${i + 1}: ${line}`);
    } else {
      const set = /^(\$\w+)\s*=\s*(.*)$/.exec(line);
      if (set) vars.set(set[1] as string, (set[2] as string).trim());
      const b = /^bind[a-z]*\s*=\s*([^,]*),\s*([^,]+),/.exec(line);
      if (!b) return;
      const mods = (b[1] as string)
        .replace(/\$\w+/g, (v) => vars.get(v) ?? v)
        .split(/[\s_]+/)
        .filter(Boolean);
      if (sameCombo(mods, (b[2] as string).trim(), c)) out.push(`${i + 1}: ${line}`);
    }
  });
  return out;
}

// ---- writing ---------------------------------------------------------------------------------------

export interface WriteResult {
  /** the file written, or the settings changed */
  wrote: string;
  /** what else happened: "sway reloaded", "kept 2 other custom shortcuts" */
  detail: string;
  /** the person's own lines that bind the same keys (sway, Hyprland) */
  conflicts: string[];
}

/** The person's own bindings of the same keys in the config the desktop uses now (sway, Hyprland), for a warning. */
export async function currentConflicts(desktop: BindingDesktop, c: KeyCombo, run: Runner = runProgram, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  if (desktop === 'sway') {
    const loaded = await swayLoaded(run, env);
    return loaded ? conflictingLines('sway', loaded.all, c) : [];
  }
  if (desktop === 'hyprland') {
    try {
      return conflictingLines('hyprland', readFileSync(hyprlandConfig(env), 'utf8'), c);
    } catch {
      return [];
    }
  }
  return [];
}

const hyprlandConfig = (env: NodeJS.ProcessEnv): string => join(env.XDG_CONFIG_HOME || join(env.HOME ?? homedir(), '.config'), 'hypr', 'hyprland.conf');

/** Adds the binding to the desktop's configuration (sway, Hyprland, GNOME); the others are printed only. */
export async function writeBinding(plan: BindingPlan, combo: KeyCombo, command: string, o: { run?: Runner; env?: NodeJS.ProcessEnv } = {}): Promise<WriteResult> {
  const run = o.run ?? runProgram;
  const env = o.env ?? process.env;
  switch (plan.desktop) {
    case 'sway': {
      const loaded = await swayLoaded(run, env);
      const found = swayConfigFile(loaded?.main, swayConfigCandidates(env));
      const home = env.HOME ?? homedir();
      const own = join(env.XDG_CONFIG_HOME || join(home, '.config'), 'sway', 'config');
      // the system-wide config cannot be edited: the user's own copy of it, with our block (sway reads that one first)
      const system = !found || found.file.startsWith('/etc/');
      const file = system ? own : found.file;
      if (system && existsSync(own)) throw new WhisperError('HOTKEY_UNAVAILABLE', `sway did not read ${own}: not writing to a file it ignores`);
      if (system) mkdirSync(dirname(own), { recursive: true });
      const written = writeFileAtomic(file, replaceBlock(found?.text ?? '', plan.lines));
      const reload = await run('swaymsg', ['reload'], { env });
      return {
        wrote: written,
        detail: reload.code === 0 ? 'sway reloaded' : `swaymsg reload failed (${reload.stderr.trim() || `exit ${reload.code}`}): reload sway yourself`,
        conflicts: conflictingLines('sway', found?.text ?? '', combo),
      };
    }
    case 'hyprland': {
      const file = hyprlandConfig(env);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        throw new WhisperError('HOTKEY_UNAVAILABLE', `no ${file} (a Lua config, or another path?): add the lines yourself`);
      }
      return { wrote: writeFileAtomic(file, replaceBlock(text, plan.lines)), detail: 'Hyprland reloads it by itself', conflicts: conflictingLines('hyprland', text, combo) };
    }
    case 'gnome': {
      await gsettings(run, env, ['set', `${GNOME_ONE}:${GNOME_PATH}`, 'name', gvariantString('prism-dictate')]);
      await gsettings(run, env, ['set', `${GNOME_ONE}:${GNOME_PATH}`, 'command', gvariantString(`${shellWord(command)} toggle`)]);
      await gsettings(run, env, ['set', `${GNOME_ONE}:${GNOME_PATH}`, 'binding', gvariantString(gnomeKeys(combo))]);
      const list = parseGvariantStrings(await gsettings(run, env, ['get', GNOME_SCHEMA, GNOME_LIST]));
      if (!list.includes(GNOME_PATH)) await gsettings(run, env, ['set', GNOME_SCHEMA, GNOME_LIST, gvariantList([...list, GNOME_PATH])]);
      const others = list.filter((p) => p !== GNOME_PATH).length;
      return { wrote: `GNOME custom shortcut ${GNOME_PATH}`, detail: `kept ${others} other custom shortcut${others === 1 ? '' : 's'}`, conflicts: [] };
    }
    default:
      throw new WhisperError('BAD_ARGUMENT', `--write is not done for ${plan.desktop}: ${plan.where}`);
  }
}

// ---- is one live? ----------------------------------------------------------------------------------

export interface FoundBinding {
  found: boolean;
  /** press → begin and release → end are both bound (push-to-talk); false for toggle or half of it */
  pressRelease: boolean;
  /** false where the desktop cannot be asked (river, an unknown compositor) */
  checked: boolean;
  detail: string;
}

const PD = /(?:prism-dictate(?:\.js)?['"]?|\becho)\s+(begin|end|press|release|toggle)\b/;

/** The prism-dictate bindings in a sway config text: which actions, and whether begin repeats. */
export function swayBindingsIn(text: string): { begin?: { repeat: boolean }; end?: { release: boolean }; toggle?: boolean } {
  const out: ReturnType<typeof swayBindingsIn> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!/^bind(sym|code)\s/.test(line)) continue;
    const m = PD.exec(line);
    if (!m) continue;
    const flags = line.split(/\s+/).filter((w) => w.startsWith('--'));
    if (m[1] === 'begin' || m[1] === 'press') out.begin = { repeat: !flags.includes('--no-repeat') };
    else if (m[1] === 'end' || m[1] === 'release') out.end = { release: flags.includes('--release') };
    else out.toggle = true;
  }
  return out;
}

interface HyprBind {
  release?: boolean;
  repeat?: boolean;
  dispatcher?: string;
  arg?: string;
  key?: string;
  modmask?: number;
}

/** The desktop files (by name) in `dir` that run prism-dictate: KDE's custom commands. */
function kdeDesktopFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.desktop'))
      .slice(0, 1000)
      .filter((f) => {
        try {
          return /^Exec=.*prism-dictate/m.test(readFileSync(join(dir, f), 'utf8').slice(0, 65_536));
        } catch {
          return false;
        }
      });
  } catch {
    return [];
  }
}

/** Whether a prism-dictate binding is live on `desktop` (for doctor); `run` is injectable for tests. */
export async function findBinding(desktop: BindingDesktop, run: Runner = runProgram, env: NodeJS.ProcessEnv = process.env): Promise<FoundBinding> {
  const none = (detail: string, checked = true): FoundBinding => ({ found: false, pressRelease: false, checked, detail });
  switch (desktop) {
    case 'sway': {
      const loaded = await swayLoaded(run, env);
      if (loaded === undefined) return none('swaymsg -t get_config failed: is sway running (SWAYSOCK)?', false);
      const b = swayBindingsIn(loaded.all);
      if (b.begin && b.end?.release)
        return {
          found: true,
          pressRelease: true,
          checked: true,
          detail: b.begin.repeat ? 'sway: press and release bound — but the press repeats while held: add --no-repeat' : 'sway: press bound (no repeat), and release',
        };
      if (b.toggle) return { found: true, pressRelease: false, checked: true, detail: 'sway: toggle on a key (press only)' };
      if (b.begin || b.end)
        return { found: true, pressRelease: false, checked: true, detail: `sway: only ${b.begin ? 'begin' : 'end'} is bound: prism-dictate hotkey setup --write` };
      return none('no prism-dictate binding in the config sway loaded: prism-dictate hotkey setup --write');
    }
    case 'hyprland': {
      const r = await run('hyprctl', ['binds', '-j'], { env });
      if (r.code !== 0) return none('hyprctl binds -j failed: is Hyprland running?', false);
      let binds: HyprBind[];
      try {
        binds = JSON.parse(r.stdout) as HyprBind[];
        if (!Array.isArray(binds)) throw new Error('not a list');
      } catch {
        return none('hyprctl binds -j did not answer a list', false);
      }
      const ours = binds.filter((b) => b.dispatcher === 'exec' && PD.test(`${b.arg ?? ''} `));
      const action = (b: HyprBind) => PD.exec(`${b.arg ?? ''} `)?.[1];
      const begin = ours.find((b) => (action(b) === 'begin' || action(b) === 'press') && !b.release);
      const end = ours.find((b) => (action(b) === 'end' || action(b) === 'release') && b.release);
      if (begin && end)
        return { found: true, pressRelease: true, checked: true, detail: `Hyprland: press${begin.repeat ? ' (repeats: use bind, not binde)' : ''} and release bound` };
      if (ours.length) return { found: true, pressRelease: false, checked: true, detail: `Hyprland: ${ours.map(action).join(', ')} bound (no press/release pair)` };
      return none('no prism-dictate binding in hyprctl binds: prism-dictate hotkey setup --write');
    }
    case 'gnome': {
      const list = await run('gsettings', ['get', GNOME_SCHEMA, GNOME_LIST], { env });
      if (list.code !== 0) return none(`gsettings failed${list.code === 127 ? ' (not installed)' : ''}`, false);
      for (const p of parseGvariantStrings(list.stdout).slice(0, 100)) {
        const c = await run('gsettings', ['get', `${GNOME_ONE}:${p}`, 'command'], { env });
        if (c.code !== 0 || !/prism-dictate/.test(c.stdout)) continue;
        const b = await run('gsettings', ['get', `${GNOME_ONE}:${p}`, 'binding'], { env });
        const str = (out: string) => parseGvariantStrings(out)[0] ?? out.trim();
        const keys = b.code === 0 ? str(b.stdout) : '';
        if (!keys) return { found: false, pressRelease: false, checked: true, detail: `GNOME custom shortcut ${p} runs prism-dictate but has no key` };
        return { found: true, pressRelease: false, checked: true, detail: `GNOME custom shortcut ${keys} → ${str(c.stdout)} (press only)` };
      }
      return none('no GNOME custom shortcut runs prism-dictate: prism-dictate hotkey setup --write');
    }
    case 'kde': {
      const home = env.HOME ?? homedir();
      const file = join(env.XDG_CONFIG_HOME || join(home, '.config'), 'kglobalshortcutsrc');
      let text = '';
      try {
        text = readFileSync(file, 'utf8').slice(0, 1_000_000);
      } catch {
        return none(`no ${file}`, false);
      }
      // Plasma 6's "Command or Script…" is a desktop file of its own, its shortcut a [services][<file>] group
      const apps = join(env.XDG_DATA_HOME || join(home, '.local', 'share'), 'applications');
      const ours = kdeDesktopFiles(apps);
      const shortcut = text.split('\n').find((l, i, all) => /prism-dictate/i.test(l) || ours.some((f) => l.includes(`[${f}]`) && /^_launch=(?!none)\S/.test(all[i + 1] ?? '')));
      return shortcut
        ? { found: true, pressRelease: false, checked: true, detail: `KDE: a global shortcut for prism-dictate (press only)${ours.length ? `, ${ours.join(', ')}` : ''}` }
        : none('no KDE global shortcut runs prism-dictate: System Settings → Keyboard → Shortcuts → Add New → Command or Script…');
    }
    case 'river':
      return none('river cannot list its mappings: see your river init (prism-dictate hotkey setup prints the lines)', false);
    case 'wayland':
      return none('this compositor is not one prism-dictate knows how to ask: bind prism-dictate begin/end (or toggle) yourself', false);
    default:
      return none(desktop === 'x11' ? 'X11: the daemon grabs the key itself' : 'no graphical session', false);
  }
}
