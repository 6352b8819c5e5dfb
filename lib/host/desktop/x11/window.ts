/**
 * The name of the window with the keyboard focus: its title (_NET_WM_NAME, else WM_NAME) and its
 * class (WM_CLASS), read from the focused window or the nearest parent that has them (the focus is
 * often on a child of the client's top-level window). For the history: which window got the text;
 * and the class alone, for the paste chord (a terminal's is not Ctrl+V).
 */
import type { WindowClass } from '../../output.js';
import type { XDisplay } from './display.js';
import type { XPropertyReply } from './types.js';

const XA_STRING = 31;
const XA_WM_NAME = 39;
const XA_WM_CLASS = 67;
/** a title or class longer than this is cut (in 4-byte units, as GetProperty counts) */
const MAX_LONGS = 256;
/** how far up from the focused window to look for a named top-level */
const MAX_DEPTH = 8;

function text(p: XPropertyReply | undefined): string {
  return p && p.format === 8 ? p.data.toString(p.type === XA_STRING ? 'latin1' : 'utf8') : '';
}

/** `"title" (class)`, `"title"` or `(class)`, or undefined when no window (or none named) has the focus. */
export async function focusedWindowName(d: XDisplay): Promise<string | undefined> {
  const { focus } = await d.req<{ focus: number; revertTo: number }>('GetInputFocus', (cb) => d.X.GetInputFocus(cb));
  if (focus <= 1) return undefined; // None, PointerRoot
  const utf8Name = await d.atom('_NET_WM_NAME');
  const prop = (w: number, atom: number) => d.req<XPropertyReply>('GetProperty', (cb) => d.X.GetProperty(0, w, atom, 0, 0, MAX_LONGS, cb)).catch(() => undefined);
  let w = focus;
  for (let depth = 0; depth < MAX_DEPTH && w && w !== d.root; depth++) {
    const [netName, wmName, wmClass] = await Promise.all([prop(w, utf8Name), prop(w, XA_WM_NAME), prop(w, XA_WM_CLASS)]);
    const title = text(netName) || text(wmName);
    // WM_CLASS is "instance\0class\0": the class is what people know ("XTerm", "firefox")
    const parts = text(wmClass).split('\0').filter(Boolean);
    const klass = parts[1] ?? parts[0] ?? '';
    if (title || klass) return [title ? JSON.stringify(title) : '', klass ? `(${klass})` : ''].filter(Boolean).join(' ');
    const tree = await d.req<{ parent: number }>('QueryTree', (cb) => d.X.QueryTree(w, cb)).catch(() => undefined);
    if (!tree) return undefined;
    w = tree.parent;
  }
  return undefined;
}

/**
 * The WM_CLASS of the window that keystrokes go to now — the input focus, or under PointerRoot focus
 * the top-level under the pointer — from it or its nearest parent that has one. For the paste chord:
 * two round trips when the focus is on a top-level (GetInputFocus, GetProperty), two more per level up.
 */
export async function focusedWindowClass(d: XDisplay): Promise<WindowClass | undefined> {
  const { focus } = await d.req<{ focus: number; revertTo: number }>('GetInputFocus', (cb) => d.X.GetInputFocus(cb));
  let w = focus;
  if (focus === 1) {
    // PointerRoot: the keys go to the window under the pointer
    const pointer = await d.req<{ child: number }>('QueryPointer', (cb) => d.X.QueryPointer(d.root, cb)).catch(() => undefined);
    w = pointer?.child ?? 0;
  }
  for (let depth = 0; depth < MAX_DEPTH && w > 1 && w !== d.root; depth++) {
    const here = w;
    // the parent is asked for together with the class: a child without one costs one round trip, not two
    const [wmClass, tree] = await Promise.all([
      d.req<XPropertyReply>('GetProperty', (cb) => d.X.GetProperty(0, here, XA_WM_CLASS, 0, 0, MAX_LONGS, cb)).catch(() => undefined),
      d.req<{ parent: number }>('QueryTree', (cb) => d.X.QueryTree(here, cb)).catch(() => undefined),
    ]);
    const [instance = '', klass = ''] = text(wmClass).split('\0');
    if (instance || klass) return { instance, klass: klass || instance };
    if (!tree) return undefined;
    w = tree.parent;
  }
  return undefined;
}
