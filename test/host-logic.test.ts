import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readAudio } from '../lib/audio/read.js';
import { comboLabel, parseCombo } from '../lib/config/keys.js';
import { loadConfig, validateConfig } from '../lib/config/load.js';
import { phrasePrompt } from '../lib/engine/stream/options.js';
import { WhisperError } from '../lib/errors.js';
import { cues } from '../lib/host/cue.js';
import { History } from '../lib/host/history.js';
import { xdotoolCombo } from '../lib/host/keys.js';
import { type Clipboard, clipboardTool, Output } from '../lib/host/output.js';
import { dictationLine, joinPhrases, spaced } from '../lib/host/phrases.js';
import { applyReplacements, finishText } from '../lib/host/text.js';
import { TriggerMachine } from '../lib/host/trigger.js';
import { ManualClock, tone } from './helpers.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'prism-host-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function configError(input: Record<string, unknown>): string {
  try {
    validateConfig(input);
  } catch (e) {
    expect(WhisperError.is(e, 'CONFIG_INVALID')).toBe(true);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('config', () => {
  it('fills every default', () => {
    const c = validateConfig({});
    expect(c.hotkey).toEqual({ enabled: true, keys: 'Meta+Alt+V', mode: 'hybrid', holdMs: 500 });
    expect(c.audio.preRollMs).toBe(300);
    expect(c.vad).toMatchObject({ mode: 3, frameMs: 20, hangoverMs: 500, maxUtteranceMs: 30_000, latchSilenceMs: 10_000 });
    expect(c.output).toMatchObject({ method: 'paste', restoreClipboard: true, trailingSpace: true });
    expect([c.cue, c.indicator, c.log]).toEqual([{ enabled: true, volume: 0.08 }, { enabled: true, position: 'top' }, { text: false }]);
  });

  it('reads the cue setting in its earlier form (cue: false)', () => {
    expect(validateConfig({ cue: false }).cue.enabled).toBe(false);
    expect(validateConfig({ cue: { enabled: false } }).cue.enabled).toBe(false);
    expect(configError({ cue: { loud: true } })).toMatch(/cue/);
  });

  it('names each bad setting by its path', () => {
    const m = configError({ vad: { hangoverMs: 100, mode: 5 }, hotkey: { keys: 'Ctrl+Alt' }, colour: 'red' });
    expect(m).toMatch(/4 bad settings/);
    expect(m).toMatch(/vad\.hangoverMs: Too small: expected number to be >=150/);
    expect(m).toMatch(/vad\.mode:/);
    expect(m).toMatch(/hotkey\.keys: "Ctrl\+Alt" has only modifiers/);
    expect(m).toMatch(/Unrecognized key: "colour"/);
  });

  it('refuses a ring buffer too small for the longest utterance', () => {
    expect(configError({ audio: { bufferSeconds: 20 }, vad: { maxUtteranceMs: 30_000 } })).toMatch(/audio\.bufferSeconds: must hold/);
  });

  it('reads the file, then PRISM_MODEL, then the flags', async () => {
    const dir = await tempDir();
    const file = join(dir, 'c.json');
    await writeFile(file, JSON.stringify({ model: 'tiny.en', gpu: 'cpu', vad: { hangoverMs: 800 } }));
    const saved = process.env.PRISM_MODEL;
    delete process.env.PRISM_MODEL;
    try {
      const a = loadConfig({ file });
      expect([a.file, a.config.model, a.config.gpu, a.config.vad.hangoverMs, a.config.vad.mode]).toEqual([file, 'tiny.en', 'cpu', 800, 3]);
      process.env.PRISM_MODEL = 'base';
      expect(loadConfig({ file }).config.model).toBe('base');
      const b = loadConfig({ file, overrides: { model: 'small', vad: { hangoverMs: 300 } } });
      expect([b.config.model, b.config.vad.hangoverMs, b.config.gpu]).toEqual(['small', 300, 'cpu']);
    } finally {
      if (saved === undefined) delete process.env.PRISM_MODEL;
      else process.env.PRISM_MODEL = saved;
    }
  });

  it('says which file is broken, and that an explicit file is missing', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'bad.json'), '{ "model": ');
    expect(() => loadConfig({ file: join(dir, 'bad.json') })).toThrow(/bad\.json is not valid JSON/);
    expect(() => loadConfig({ file: join(dir, 'none.json') })).toThrow(/cannot read the config file .*none\.json/);
  });
});

describe('key combinations', () => {
  it('parses and normalises', () => {
    expect(parseCombo('Meta+Alt+V')).toEqual({ modifiers: ['alt', 'meta'], key: 'v' });
    expect(parseCombo('ctrl + shift + F9')).toEqual({ modifiers: ['ctrl', 'shift'], key: 'f9' });
    expect(parseCombo('super+space')).toEqual({ modifiers: ['meta'], key: 'space' });
    expect(parseCombo('Ctrl+A+B')).toMatch(/two main keys/);
    expect(parseCombo('Ctrl+Hyper')).toMatch(/unknown key "hyper"/);
  });

  it('speaks xdotool (XTest) names', () => {
    expect(xdotoolCombo(parseCombo('ctrl+shift+v') as never)).toBe('ctrl+shift+v');
    expect(xdotoolCombo(parseCombo('shift+insert') as never)).toBe('shift+Insert');
    expect(xdotoolCombo(parseCombo('meta+enter') as never)).toBe('super+Return');
  });
});

describe('TriggerMachine (times injected: no clock, no sleeps)', () => {
  it('hold: press begins held, release ends, repeats are ignored', () => {
    const t = new TriggerMachine('hold');
    expect(t.down(0)).toBe('begin');
    expect([t.down(30), t.down(60), t.down(90)]).toEqual(['none', 'none', 'none']); // key repeat
    expect(t.state).toBe('held');
    expect(t.up(2000)).toBe('end');
    expect(t.state).toBe('idle');
    expect(t.up(2100)).toBe('none');
  });

  it('toggle: press begins latched, the next press ends, releases do nothing', () => {
    const t = new TriggerMachine('toggle');
    expect(t.down(0)).toBe('begin');
    expect(t.up(100)).toBe('none');
    expect(t.state).toBe('latched');
    expect(t.down(3000)).toBe('end');
    expect(t.up(3100)).toBe('none');
    expect(t.down(5000)).toBe('begin');
  });

  it('hybrid: a hold is push-to-talk, a tap latches, and the next press always ends it', () => {
    const t = new TriggerMachine('hybrid', 500);
    expect(t.down(0)).toBe('begin');
    expect(t.up(800)).toBe('end'); // held 800 ms ≥ 500
    expect(t.down(1000)).toBe('begin');
    expect(t.state).toBe('held');
    expect(t.up(1200)).toBe('latch'); // a 200 ms tap: latched
    expect(t.state).toBe('latched');
    expect(t.down(4000)).toBe('end'); // a press while latched never starts a second dictation
    expect(t.up(4900)).toBe('none'); // the release of the ending press does not begin anything
    expect(t.state).toBe('idle');
    expect([t.down(6000), t.up(6100), t.down(9000), t.up(9050)]).toEqual(['begin', 'latch', 'end', 'none']);
  });

  it('socket begin is held until end; socket toggle latches; a press ends either', () => {
    const t = new TriggerMachine('hybrid', 500);
    t.began('held');
    expect(t.state).toBe('held');
    expect(t.up(100)).toBe('none'); // no key is down: a stray release does nothing
    expect(t.down(200)).toBe('end');
    expect(t.up(300)).toBe('none');
    t.began('latched');
    expect(t.state).toBe('latched');
    t.ended();
    expect(t.state).toBe('idle');
  });

  it('an end from elsewhere (silence, socket) swallows the release of the key still held', () => {
    const t = new TriggerMachine('hybrid', 500);
    t.down(0);
    t.ended(); // e.g. cancelled over the socket while the key is down
    expect(t.up(900)).toBe('none');
    expect(t.down(1000)).toBe('begin');
  });
});

describe('phrases', () => {
  it('joins phrase texts with one space, never two, and none before punctuation', () => {
    expect(joinPhrases(['Hello there. ', 'How are you? '])).toBe('Hello there. How are you? ');
    expect(joinPhrases(['Hello there.', 'How are you?'])).toBe('Hello there. How are you?');
    expect(joinPhrases(['and then', ', later', 'done'])).toBe('and then, later done');
    expect(spaced('', 'first')).toBe('first');
    expect(spaced('first', 'second')).toBe(' second');
  });

  it('prompts with the vocabulary and the end of the previous phrase', () => {
    expect(phrasePrompt(undefined, '')).toBeUndefined();
    expect(phrasePrompt('Kubernetes, Grafana', ' We deployed it. ')).toBe('Kubernetes, Grafana We deployed it.');
    expect(phrasePrompt(undefined, 'x'.repeat(1000))?.length).toBe(600);
  });

  it('logs one line per dictation, with the text only when asked', () => {
    const s = {
      id: '3',
      mode: 'hybrid/latched',
      trigger: 'hotkey',
      ended: 'press',
      phrases: 2,
      audioSeconds: 6.42,
      times: { transcription: 301.4, paste: 2.2 },
      text: 'Secret words. ',
    };
    expect(dictationLine(s, false)).toBe('dictation 3 hybrid/latched (hotkey, ended by press): 2 phrases, 6.4 s audio, 13 characters; ms: paste 2; last phrase: transcription 301');
    expect(dictationLine(s, false)).not.toMatch(/Secret/);
    expect(dictationLine(s, true)).toMatch(/; text: "Secret words\. "$/);
  });
});

describe('text', () => {
  it('replaces whole words, case-insensitively, longest first', () => {
    expect(applyReplacements('Send it to Jon at prism whisper now', { jon: 'John', 'prism whisper': 'prism-whisper', prism: 'PRISM' })).toBe(
      'Send it to John at prism-whisper now',
    );
    expect(applyReplacements('Jonathan', { jon: 'John' })).toBe('Jonathan');
  });

  it('adds the trailing space only to real text', () => {
    expect(finishText('  Hello world. ', { replacements: {}, trailingSpace: true })).toBe('Hello world. ');
    expect(finishText('   ', { replacements: {}, trailingSpace: true })).toBe('');
  });
});

class FakeClipboard implements Clipboard {
  writes: string[] = [];
  constructor(public text: string) {}
  async read(): Promise<string> {
    return this.text;
  }
  async write(t: string): Promise<void> {
    this.writes.push(t);
    this.text = t;
  }
}

function outputWith(clipboard: FakeClipboard, restoreDelayMs = 50) {
  const pressed: string[] = [];
  const keys = {
    name: 'fake',
    press: async () => {
      pressed.push(clipboard.text); // what the target window receives
    },
    type: async () => undefined,
  };
  const clock = new ManualClock();
  const out = new Output(
    { method: 'paste', restoreClipboard: true, restoreDelayMs, trailingSpace: true },
    { modifiers: ['ctrl'], key: 'v' },
    clipboard,
    keys,
    () => undefined,
    clock,
  );
  return { out, pressed, clock };
}

describe('Output (paste and clipboard restore; time on a manual clock)', () => {
  it('pastes, then puts the previous clipboard back once the restore delay has passed, not before', async () => {
    const cb = new FakeClipboard('what the user had');
    const { out, pressed, clock } = outputWith(cb);
    await out.deliver('dictated ');
    expect(pressed).toEqual(['dictated ']);
    expect(cb.text).toBe('dictated ');
    clock.advance(49);
    await out.settled();
    expect(cb.text).toBe('dictated '); // the target may still be reading the clipboard
    clock.advance(1);
    await out.settled();
    expect(cb.text).toBe('what the user had');
    expect(out.restores).toEqual({ done: 1, skipped: 0 });
  });

  it('leaves the clipboard alone when the user copied something meanwhile', async () => {
    const cb = new FakeClipboard('old');
    const { out, clock } = outputWith(cb);
    await out.deliver('dictated ');
    cb.text = 'copied by the user';
    clock.advance(50);
    await out.settled();
    expect(cb.text).toBe('copied by the user');
    expect(out.restores).toEqual({ done: 0, skipped: 1 });
  });

  it('two pastes in a row restore what the user had, not the first dictation, once', async () => {
    const cb = new FakeClipboard('original');
    const { out, pressed, clock } = outputWith(cb, 80);
    await Promise.all([out.deliver('one '), out.deliver('two ')]);
    expect(pressed).toEqual(['one ', 'two ']);
    expect(clock.pending).toBe(1); // the second paste took over the first one's restore
    clock.advance(80);
    await out.settled();
    expect(cb.text).toBe('original');
    expect(out.restores).toEqual({ done: 1, skipped: 0 });
  });

  it('uses the clipboard read ahead while the text was being transcribed', async () => {
    const cb = new FakeClipboard('before');
    const { out, clock } = outputWith(cb);
    out.prepare();
    cb.text = 'x'; // changes after prepare() are not what the user had before dictating
    await out.deliver('text ');
    await out.flush();
    expect(cb.text).toBe('before');
    expect(clock.pending).toBe(0); // flush() put the restore through and cleared its timer
  });
});

describe('Output where the keystroke fails: the text is copied and stays (issue 26, item 2)', () => {
  it('a paste whose chord cannot be sent leaves the whole dictation on the clipboard and drops the pending restore', async () => {
    const cb = new FakeClipboard('what the user had');
    let broken = false;
    const keys = {
      name: 'breaks',
      press: async () => {
        if (broken) throw new WhisperError('PASTE_FAILED', 'xdotool exited 1');
      },
      type: async () => undefined,
    };
    const clock = new ManualClock();
    const out = new Output(
      { method: 'paste', restoreClipboard: true, restoreDelayMs: 50, trailingSpace: true },
      { modifiers: ['ctrl'], key: 'v' },
      cb,
      keys,
      () => undefined,
      clock,
    );
    await out.deliver('first ');
    expect(clock.pending).toBe(1); // its restore is pending
    broken = true;
    const d = await out.deliver('second ', { before: '' });
    expect(d).toMatchObject({ method: 'clipboard', copied: true, fellBack: 'xdotool exited 1' });
    expect(cb.text).toBe('second ');
    expect(clock.pending).toBe(0); // the first paste's restore would have taken the text away
    await out.flush();
    expect(cb.text).toBe('second ');
    expect(out.restores).toEqual({ done: 0, skipped: 0 });
  });

  it('a copy holds what the same dictation copied before', async () => {
    const cb = new FakeClipboard('old');
    const out = new Output({ method: 'clipboard', restoreClipboard: true, restoreDelayMs: 50, trailingSpace: true }, { modifiers: ['ctrl'], key: 'v' }, cb, undefined);
    expect(await out.deliver('One. ')).toMatchObject({ method: 'clipboard', copied: true });
    await out.deliver('Two. ', { before: 'One. ' });
    expect(cb.text).toBe('One. Two. ');
    expect(out.pasteLabel).toBe('Ctrl+V');
  });

  it('names the clipboard tool clipboardy uses, and the chord as people write it', () => {
    expect(clipboardTool({ WAYLAND_DISPLAY: 'wayland-1', DISPLAY: ':0' }, 'linux')).toMatch(/^wl-copy/);
    expect(clipboardTool({ XDG_SESSION_TYPE: 'wayland' }, 'linux')).toMatch(/^wl-copy/);
    expect(clipboardTool({ DISPLAY: ':0' }, 'linux')).toMatch(/^xsel/);
    expect(comboLabel(parseCombo('ctrl+shift+v') as never)).toBe('Ctrl+Shift+V');
    // one spelling everywhere (README, config, hints, messages): the default reads as it is written
    expect(comboLabel(parseCombo('Meta+Alt+V') as never)).toBe('Meta+Alt+V');
    expect(comboLabel(parseCombo('alt+super+v') as never)).toBe('Meta+Alt+V');
    expect(comboLabel(parseCombo('shift+ctrl+f9') as never)).toBe('Ctrl+Shift+F9');
  });
});

describe('Output: a re-paste goes to the window the dictation went to', () => {
  /** A desktop of numbered windows: keystrokes go to the focused one. */
  function desktopKeys(clipboard: FakeClipboard) {
    const state = { focused: 10 as number, received: new Map<number, string[]>(), gone: new Set<number>(), focusCalls: [] as number[] };
    const keys = {
      name: 'fake windows',
      press: async () => {
        state.received.set(state.focused, [...(state.received.get(state.focused) ?? []), clipboard.text]);
      },
      type: async () => undefined,
      focusedWindow: async () => state.focused,
      focusWindow: async (w: number) => {
        state.focusCalls.push(w);
        if (state.gone.has(w)) return false;
        state.focused = w;
        return true;
      },
    };
    const out = new Output({ method: 'paste', restoreClipboard: false, restoreDelayMs: 50, trailingSpace: true }, { modifiers: ['ctrl'], key: 'v' }, clipboard, keys);
    return { out, state };
  }

  it('into: last gives the window of the last paste the focus back, then pastes there', async () => {
    const { out, state } = desktopKeys(new FakeClipboard(''));
    await out.deliver('dictated ');
    state.focused = 20; // the person clicks into the browser with the dashboard
    await out.deliver('dictated ', { into: 'last' });
    expect(state.focusCalls).toEqual([10]);
    expect(state.received.get(10)).toEqual(['dictated ', 'dictated ']);
    expect(state.received.get(20)).toBeUndefined();
    // a plain re-paste (prism-dictate repaste from a key binding) goes where the focus is
    state.focused = 30;
    await out.deliver('again ');
    expect(state.received.get(30)).toEqual(['again ']);
  });

  it('a window that is gone: PASTE_FAILED, and nothing is pasted anywhere', async () => {
    const { out, state } = desktopKeys(new FakeClipboard(''));
    await out.deliver('dictated ');
    state.gone.add(10);
    state.focused = 20;
    await expect(out.deliver('dictated ', { into: 'last' })).rejects.toMatchObject({
      code: 'PASTE_FAILED',
      message: expect.stringMatching(/window the last dictation went to is gone/),
    });
    expect(state.received.get(20)).toBeUndefined();
    expect(state.received.get(10)).toEqual(['dictated ']);
  });

  it('before any paste: PASTE_FAILED saying so', async () => {
    const { out } = desktopKeys(new FakeClipboard(''));
    await expect(out.deliver('x ', { into: 'last' })).rejects.toMatchObject({
      code: 'PASTE_FAILED',
      message: expect.stringMatching(/no dictation has been pasted into a window yet/),
    });
  });
});

describe('History', () => {
  const settings = { history: { enabled: true, keep: 3, maxAgeDays: 30 } };

  it('keeps the audio before the transcription and completes the record after', async () => {
    const dir = await tempDir();
    const h = new History(dir, settings.history);
    const r = await h.save(tone(1.5), { voicedMs: 1200 });
    expect(r.state).toBe('captured');
    expect((await readdir(dir)).sort()).toEqual([`${r.id}.json`, `${r.id}.wav`]);
    const audio = await h.audio(r);
    expect(audio.length).toBe(24000);
    await h.update(r, { state: 'done', text: 'hello ' });
    expect((await h.list(1))[0]).toMatchObject({ id: r.id, state: 'done', text: 'hello ', seconds: 1.5 });
  });

  it('prunes by count (newest kept) and by age', async () => {
    const dir = await tempDir();
    const h = new History(dir, settings.history);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await h.save(tone(0.1), {})).id);
    expect(await h.prune()).toBe(2);
    expect((await h.list(10)).map((r) => r.id)).toEqual(ids.slice(2).reverse());
    const old = (await h.list(10)).at(-1);
    if (!old) throw new Error('no record');
    await h.update(old, { at: new Date(Date.now() - 40 * 86_400_000).toISOString() });
    expect(await h.prune()).toBe(1);
    expect((await h.list(10)).length).toBe(2);
  });

  it('a folder it cannot write is HISTORY_FAILED, not a crash', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), 'not a folder');
    const h = new History(join(dir, 'file', 'history'), settings.history);
    await expect(h.save(tone(0.1), {})).rejects.toMatchObject({ code: 'HISTORY_FAILED' });
  });
});

describe('start/stop cue', () => {
  it('writes two short click-free tones and plays them without waiting (without paplay/aplay: says so)', async () => {
    const dir = await tempDir();
    const logs: string[] = [];
    const cue = cues(dir, (l) => logs.push(l));
    if (!cue) {
      expect(logs[0]).toMatch(/no sound player/);
      return;
    }
    const start = await readAudio(join(dir, 'cue-start.wav'));
    expect(start.length).toBe(1600); // 2 × 50 ms at 16 kHz
    expect(Math.abs(start[0] as number)).toBeLessThan(0.01); // faded in
    expect(Math.max(...start)).toBeGreaterThan(0.07); // quiet: the default volume is 0.08
    expect(Math.max(...start)).toBeLessThan(0.09);
    const t0 = performance.now();
    cue.start();
    cue.stop();
    expect(performance.now() - t0).toBeLessThan(150); // playing both would take ≥ 200 ms
  });

  it('a distinct cue for a copied text (press Ctrl+V): two equal pips with a gap, unlike start and stop (issue 26)', async () => {
    const dir = await tempDir();
    const cue = cues(dir, () => undefined);
    if (!cue) return; // no sound player here: nothing to write
    const copied = await readAudio(join(dir, 'cue-copied.wav'));
    expect(copied.length).toBe(2880); // 60 ms pip, 60 ms gap, 60 ms pip at 16 kHz
    expect(Math.max(...copied.subarray(1000, 1900).map(Math.abs))).toBe(0); // the gap
    expect(Math.max(...copied)).toBeGreaterThan(0.07);
    const start = await readAudio(join(dir, 'cue-start.wav'));
    expect(copied.length).not.toBe(start.length);
    cue.copied();
  });
});
