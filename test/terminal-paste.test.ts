/**
 * The paste chord follows the focused window on X11 (issue 27): Ctrl+V in an editor, Ctrl+Shift+V in a
 * terminal, Shift+Insert with the text served as PRIMARY in a stock xterm (it has no Ctrl+Shift+V; its
 * Shift+Insert pastes PRIMARY); output.pasteKeys, where set, always wins. Unit tests with a fake window
 * class, then a real X server: a stock xterm receives the dictation, a Tk window still gets Ctrl+V.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeyCombo, parseCombo } from '../lib/config/keys.js';
import { X11Clipboard } from '../lib/host/desktop/x11/clipboard.js';
import { XDisplay } from '../lib/host/desktop/x11/display.js';
import { focusedWindowClass } from '../lib/host/desktop/x11/window.js';
import { X11Keys } from '../lib/host/desktop/x11/xtest.js';
import type { KeySender } from '../lib/host/keys.js';
import { type Clipboard, Output, pasteChordFor, terminalKind, type WindowClass } from '../lib/host/output.js';
import { moduleMissing, startDaemon } from './e2e/daemon.js';
import { type Desktop, desktopMissing, startDesktop, until } from './e2e/desktop.js';

const combo = (text: string): KeyCombo => {
  const c = parseCombo(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
};
const label = (c: KeyCombo) => [...c.modifiers, c.key].join('+');
const cls = (instance: string, klass = instance): WindowClass => ({ instance, klass });

describe('the paste chord by window class', () => {
  const o = { set: false, pasteKeys: combo('ctrl+v'), terminalPasteKeys: combo('ctrl+shift+v') };

  it('terminals get Ctrl+Shift+V, xterm and urxvt Shift+Insert, everything else Ctrl+V (any case, instance or class)', () => {
    const cases: [WindowClass | undefined, string][] = [
      [cls('gnome-terminal-server', 'Gnome-terminal'), 'ctrl+shift+v'],
      [cls('konsole'), 'ctrl+shift+v'],
      [cls('xfce4-terminal', 'Xfce4-terminal'), 'ctrl+shift+v'],
      [cls('Alacritty'), 'ctrl+shift+v'],
      [cls('kitty'), 'ctrl+shift+v'],
      [cls('org.wezfurlong.wezterm'), 'ctrl+shift+v'],
      [cls('st-256color'), 'ctrl+shift+v'],
      [cls('foot'), 'ctrl+shift+v'],
      [cls('tilix', 'Tilix'), 'ctrl+shift+v'],
      [cls('xterm', 'XTerm'), 'shift+insert'],
      [cls('uxterm', 'UXTerm'), 'shift+insert'],
      [cls('urxvt', 'URxvt'), 'shift+insert'],
      [cls('Eterm'), 'shift+insert'],
      [cls('wish', 'Wish'), 'ctrl+v'],
      [cls('Navigator', 'firefox'), 'ctrl+v'],
      [cls('code', 'Code'), 'ctrl+v'],
      [cls('', ''), 'ctrl+v'],
      [undefined, 'ctrl+v'],
    ];
    for (const [w, want] of cases) expect(`${w?.klass}: ${label(pasteChordFor(w, o))}`).toBe(`${w?.klass}: ${want}`);
    expect(terminalKind(cls('constructor'))).toBeUndefined(); // no prototype lookups
  });

  it('a pasteKeys the user set wins in every window', () => {
    for (const w of [cls('xterm', 'XTerm'), cls('kitty'), cls('wish', 'Wish')]) {
      expect(label(pasteChordFor(w, { ...o, set: true, pasteKeys: combo('ctrl+alt+v') }))).toBe('ctrl+alt+v');
    }
  });
});

/** Keys and a clipboard that record what the Output does, in order. */
function fakes() {
  const log: string[] = [];
  let text = 'theirs';
  const clipboard: Clipboard = {
    read: async () => text,
    write: async (t) => {
      text = t;
      log.push(`clipboard ${t}`);
    },
    writePrimary: async (t) => {
      log.push(`primary ${t}`);
    },
    releasePrimary: async () => {
      log.push('primary released');
    },
  };
  const keys: KeySender = {
    name: 'fake',
    press: async (c) => {
      log.push(`press ${label(c)}`);
    },
    type: async () => {},
  };
  return { log, clipboard, keys, clipboardText: () => text };
}

describe('Output: the chord per paste', () => {
  const base = { method: 'paste' as const, restoreClipboard: true, restoreDelayMs: 50, trailingSpace: true };

  it('pasteKeys not set: each paste asks the focused window, and says the chord it sent', async () => {
    const f = fakes();
    let focused: WindowClass | undefined = cls('xterm', 'XTerm');
    const out = new Output(base, combo('ctrl+v'), f.clipboard, f.keys, undefined, undefined, async () => focused);
    expect(out.pasteChords).toBe("Ctrl+V, Ctrl+Shift+V in terminals, Shift+Insert in xterm/urxvt: by the focused window's class");
    expect(await out.deliver('one ')).toMatchObject({ keys: 'Shift+Insert', windowClass: 'XTerm' });
    expect(out.lastChosen).toBe('Shift+Insert');
    await out.flush();
    // xterm: the text is PRIMARY as well, given up with the restore; the clipboard is theirs again
    expect(f.log).toEqual(['clipboard one ', 'primary one ', 'press shift+insert', 'primary released', 'clipboard theirs']);
    f.log.length = 0;
    focused = cls('gnome-terminal-server', 'Gnome-terminal');
    expect(await out.deliver('two ')).toMatchObject({ keys: 'Ctrl+Shift+V', windowClass: 'Gnome-terminal' });
    focused = cls('wish', 'Wish');
    expect(await out.deliver('three ')).toMatchObject({ keys: 'Ctrl+V', windowClass: 'Wish' });
    expect(out.lastChosen).toBeUndefined();
    focused = undefined; // no window (or the lookup failed): Ctrl+V
    expect(await out.deliver('four ')).toMatchObject({ keys: 'Ctrl+V' });
    await out.flush();
    expect(f.log).toEqual(['clipboard two ', 'press ctrl+shift+v', 'clipboard three ', 'press ctrl+v', 'clipboard four ', 'press ctrl+v', 'clipboard theirs']);
  });

  it("output.terminalPasteKeys changes the terminals' chord", async () => {
    const f = fakes();
    const out = new Output({ ...base, terminalPasteKeys: 'shift+insert' }, combo('ctrl+v'), f.clipboard, f.keys, undefined, undefined, async () => cls('kitty'));
    expect(await out.deliver('x ')).toMatchObject({ keys: 'Shift+Insert' });
    expect(f.log).toContain('primary x '); // Shift+Insert: PRIMARY too
  });

  it('a pasteKeys the user set wins: the window is not even asked', async () => {
    const f = fakes();
    let asked = 0;
    const out = new Output({ ...base, pasteKeys: 'ctrl+v' }, combo('ctrl+v'), f.clipboard, f.keys, undefined, undefined, async () => {
      asked++;
      return cls('xterm', 'XTerm');
    });
    expect(out.pasteChords).toBe('Ctrl+V');
    expect(await out.deliver('x ')).toMatchObject({ keys: 'Ctrl+V' });
    expect(asked).toBe(0);
    expect(f.log).toEqual(['clipboard x ', 'press ctrl+v']);
  });

  it('a lookup that fails pastes with Ctrl+V', async () => {
    const f = fakes();
    const out = new Output(base, combo('ctrl+v'), f.clipboard, f.keys, undefined, undefined, () => Promise.reject(new Error('X connection lost')));
    expect(await out.deliver('x ')).toMatchObject({ keys: 'Ctrl+V' });
  });

  it('PRIMARY that cannot be had: the text is copied instead (the keystroke would paste a stale selection)', async () => {
    const f = fakes();
    f.clipboard.writePrimary = () => Promise.reject(new Error('the X server did not give us the PRIMARY selection'));
    const out = new Output(base, combo('ctrl+v'), f.clipboard, f.keys, undefined, undefined, async () => cls('xterm', 'XTerm'));
    expect(await out.deliver('x ')).toMatchObject({ copied: true, fellBack: 'the X server did not give us the PRIMARY selection' });
    expect(f.log.some((l) => l.startsWith('press'))).toBe(false);
  });
});

const missing = desktopMissing(); // the x11 package is a dependency: always there

describe.skipIf(missing)(`on a real X server${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let desktop: Desktop;
  let d: XDisplay;
  let keys: X11Keys;
  let clip: X11Clipboard;
  let n = 0;

  beforeAll(async () => {
    desktop = await startDesktop();
    d = await XDisplay.open(desktop.display);
    keys = await X11Keys.create(d);
    clip = await X11Clipboard.create(d);
  }, 30_000);

  afterAll(async () => {
    await clip?.release();
    await d?.close();
    await desktop?.stop();
  });

  /**
   * An xterm as installed (no translations added), running `cat` into a file; `name`: its WM_CLASS as
   * xterm's -name/-class set it (a stand-in for another terminal), with `xrm` resources.
   */
  async function terminal(o: { name?: string; xrm?: string } = {}) {
    const i = ++n;
    const title = `prism-term-${i}-${process.pid}`;
    const out = join(desktop.dir, `term-${i}.txt`);
    const args = ['-T', title, '-geometry', '80x10+0+0'];
    if (o.name) args.push('-name', o.name, '-class', o.name);
    if (o.xrm) args.push('-xrm', o.xrm);
    const proc = desktop.spawn(`term-${i}`, 'xterm', [...args, '-e', 'sh', '-c', 'stty -icanon -echo; exec cat > "$0"', out]);
    const window = await until(`the terminal "${title}"`, 10_000, async () => {
      if (proc.exitCode !== null) throw new Error(`xterm exited${desktop.logTail(`term-${i}`)}`);
      return (await desktop.run('xdotool', ['search', '--name', `^${title}$`], { okCodes: [1] })).trim().split('\n')[0] || undefined;
    });
    await until('the terminal listening', 10_000, async () => (existsSync(out) ? true : undefined));
    const { readFile } = await import('node:fs/promises');
    const text = () => readFile(out, 'utf8');
    return {
      focus: () =>
        until('the focus on the terminal', 5000, async () => {
          await desktop.xdotool('windowfocus', window);
          await sleep(30);
          return (await desktop.xdotool('getwindowfocus')) === window ? true : undefined;
        }),
      /** `want`: the whole text, or a test of it */
      waitFor: (want: string | ((t: string) => boolean), timeoutMs = 5000) =>
        until(`${typeof want === 'string' ? JSON.stringify(want) : 'the text'} in the terminal`, timeoutMs, async () => {
          const t = await text();
          return (typeof want === 'string' ? t === want : want(t)) ? true : undefined;
        }).then(text, async (e) => {
          throw new Error(`${(e as Error).message}; it has ${JSON.stringify(await text())}`);
        }),
      text,
      close: async () => {
        proc.kill();
      },
    };
  }

  it('a stock xterm gets the dictation (Shift+Insert, PRIMARY), a Tk window Ctrl+V; PRIMARY is given up and the clipboard restored after', async () => {
    const xterm = await terminal();
    const tk = await desktop.openTarget('tk');
    await desktop.setClipboard('what the person had copied');
    const out = new Output({ method: 'paste', restoreClipboard: true, restoreDelayMs: 50, trailingSpace: true }, combo('ctrl+v'), clip, keys, undefined, undefined, () =>
      focusedWindowClass(d),
    );
    try {
      await xterm.focus();
      out.prepare();
      const pasted = await out.deliver('into a stock xterm ');
      await xterm.waitFor('into a stock xterm '); // what failed before: Ctrl+V is a literal ^V for a stock xterm
      expect(pasted).toMatchObject({ keys: 'Shift+Insert', windowClass: 'XTerm' });
      await out.flush();
      expect(clip.ownsPrimary).toBe(false);
      expect(await desktop.getClipboard()).toBe('what the person had copied');

      await tk.focus();
      expect(await out.deliver('into Tk ')).toMatchObject({ keys: 'Ctrl+V' });
      expect(await tk.waitFor((t) => t === 'into Tk ')).toBe('into Tk ');
      await out.flush();
      expect(await xterm.text()).toBe('into a stock xterm '); // nothing more went there
    } finally {
      await xterm.close();
      await tk.close();
    }
  }, 40_000);

  it('a terminal known by its class gets Ctrl+Shift+V (an xterm named "kitty" that pastes CLIPBOARD only on it)', async () => {
    const kitty = await terminal({ name: 'kitty', xrm: 'kitty*VT100.translations: #override Ctrl Shift <Key>V: insert-selection(CLIPBOARD)\\nShift <Key>Insert: string("wrong")' });
    const out = new Output({ method: 'paste', restoreClipboard: false, restoreDelayMs: 50, trailingSpace: true }, combo('ctrl+v'), clip, keys, undefined, undefined, () =>
      focusedWindowClass(d),
    );
    try {
      await kitty.focus();
      expect(await out.deliver('into kitty ')).toMatchObject({ keys: 'Ctrl+Shift+V', windowClass: 'kitty' });
      await kitty.waitFor('into kitty ');
    } finally {
      await kitty.close();
    }
  }, 30_000);

  it.skipIf(moduleMissing('naudiodon2'))(
    'the daemon: a dictation lands in a stock xterm, and its history says with which chord',
    async () => {
      const wav = await desktop.speak('Please call me back after lunch.');
      const daemon = await startDaemon(desktop, { hotkey: { enabled: false }, dashboard: { port: 0 }, output: { restoreDelayMs: 300 } });
      const xterm = await terminal();
      try {
        expect(daemon.log.join('\n')).toContain('Ctrl+V, Ctrl+Shift+V in terminals, Shift+Insert in xterm/urxvt: by the focused window');
        await xterm.focus();
        expect(String(daemon.cli('begin').stdout)).toMatch(/recording/);
        await desktop.play(wav);
        daemon.cli('end');
        const got = await xterm.waitFor((t) => t.trim().length > 0 && t.endsWith(' '), 30_000);
        const [rec] = JSON.parse(String(daemon.cli('history', '--json').stdout)) as Array<{ text?: string; window?: string }>;
        expect(got.trim()).toBe(rec?.text?.trim());
        expect(rec?.window).toMatch(/\(XTerm\), pasted with Shift\+Insert$/);
      } finally {
        await xterm.close();
        expect(await daemon.stop()).toBe(0);
      }
    },
    120_000,
  );

  it("the class lookup costs a few round trips on the daemon's connection", async () => {
    const xterm = await terminal();
    const tk = await desktop.openTarget('tk');
    try {
      for (const [name, focus, want] of [
        ['xterm', xterm.focus, 'XTerm'],
        ['Tk', tk.focus.bind(tk), 'Target.tcl'],
      ] as const) {
        await focus();
        const ms: number[] = [];
        let got: WindowClass | undefined;
        for (let i = 0; i < 50; i++) {
          const t0 = performance.now();
          got = await focusedWindowClass(d);
          ms.push(performance.now() - t0);
        }
        ms.sort((a, b) => a - b);
        console.log(`window class lookup (${name}: ${got?.instance}/${got?.klass}): p50 ${ms[25]?.toFixed(3)} ms, max ${ms.at(-1)?.toFixed(3)} ms`);
        expect(got?.klass).toBe(want);
      }
      // the whole paste stage (clipboard owned, class looked up, chord sent) into Tk, with and without the lookup
      for (const lookup of [false, true]) {
        const out = new Output(
          { method: 'paste', restoreClipboard: false, restoreDelayMs: 50, trailingSpace: true },
          combo('ctrl+v'),
          clip,
          keys,
          undefined,
          undefined,
          lookup ? () => focusedWindowClass(d) : undefined,
        );
        const ms: number[] = [];
        for (let i = 0; i < 15; i++) {
          ms.push((await out.deliver(`${i} `)).ms);
          await tk.waitFor((t) => t.endsWith(`${i} `));
        }
        ms.sort((a, b) => a - b);
        console.log(`paste stage into Tk ${lookup ? 'with' : 'without'} the class lookup: p50 ${ms[7]?.toFixed(2)} ms, max ${ms.at(-1)?.toFixed(2)} ms`);
      }
    } finally {
      await xterm.close();
      await tk.close();
    }
  }, 30_000);
});
