/**
 * Key combinations as people write them in a config file ("Meta+Alt+V", "ctrl+shift+v", "F9"):
 * parsed into modifiers and one main key, with a clear message for what cannot be a hotkey.
 */
export type Modifier = 'ctrl' | 'alt' | 'shift' | 'meta';

export interface KeyCombo {
  modifiers: Modifier[];
  /** lower-case key name: a letter, a digit, f1…f24, or a named key (space, enter, …) */
  key: string;
}

const MODIFIERS: Record<string, Modifier> = {
  ctrl: 'ctrl',
  control: 'ctrl',
  alt: 'alt',
  option: 'alt',
  shift: 'shift',
  meta: 'meta',
  super: 'meta',
  win: 'meta',
  cmd: 'meta',
  command: 'meta',
};

export const NAMED_KEYS = [
  'space',
  'enter',
  'tab',
  'escape',
  'backspace',
  'insert',
  'delete',
  'home',
  'end',
  'pageup',
  'pagedown',
  'up',
  'down',
  'left',
  'right',
  'capslock',
  'printscreen',
  'scrolllock',
] as const;

/** Parses "Meta+Alt+V"; returns a message instead when it is not a usable combination. */
export function parseCombo(text: string): KeyCombo | string {
  const parts = text
    .split('+')
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
  if (parts.length === 0) return 'is empty';
  const modifiers = new Set<Modifier>();
  let key: string | undefined;
  for (const p of parts) {
    const m = MODIFIERS[p];
    if (m) modifiers.add(m);
    else if (key) return `has two main keys (${key}, ${p}); use one key plus modifiers`;
    else key = p;
  }
  if (!key) return 'has only modifiers; add a main key, e.g. Meta+Alt+V';
  const ok = /^[a-z0-9]$/.test(key) || /^f([1-9]|1[0-9]|2[0-4])$/.test(key) || (NAMED_KEYS as readonly string[]).includes(key);
  if (!ok) return `has an unknown key "${key}" (letters, digits, F1–F24, ${NAMED_KEYS.join(', ')})`;
  const order: Modifier[] = ['ctrl', 'alt', 'shift', 'meta'];
  return { modifiers: order.filter((m) => modifiers.has(m)), key };
}

/** The order modifiers are shown in: "Meta+Alt+V" as the default is written, "Ctrl+Shift+V" as people write it. */
const SHOWN: readonly Modifier[] = ['ctrl', 'meta', 'alt', 'shift'];

/** A combination as people read it — "Meta+Alt+V", "Ctrl+Shift+V", "F9" — whatever order it was written in. */
export function comboLabel(c: { modifiers: readonly Modifier[]; key: string }): string {
  const word = (s: string) => (s.length === 1 ? s.toUpperCase() : s.charAt(0).toUpperCase() + s.slice(1));
  return [...SHOWN.filter((m) => c.modifiers.includes(m)).map(word), word(c.key)].join('+');
}
