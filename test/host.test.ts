import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readAudio } from '../lib/audio/read.js';
import { Vad } from '../lib/audio/vad.js';
import { validateConfig } from '../lib/config/load.js';
import { WhisperError } from '../lib/errors.js';
import { type DictationEvent, DictationHost, type HostDeps } from '../lib/host/dictation.js';
import { History } from '../lib/host/history.js';
import { Output } from '../lib/host/output.js';
import type { TranscribeOptions, Transcript } from '../lib/model.js';
import { espeak, ManualClock } from './helpers.js';

const RATE = 16000;
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const wav = espeak('Please call me back after lunch.');

class FakeEngine {
  calls: Array<{ samples: number; options: TranscribeOptions }> = [];
  delays: number[] = [];
  texts: string[] = [];
  /** when set, the text and delay follow the audio (its length), not the order of the calls */
  byAudio: ((pcm: Float32Array) => { text: string; delay: number }) | undefined;
  fail: Error | undefined;
  /** live previews (greedy, no timestamps: preview.enabled, the default), kept apart from the finals */
  previews: Array<{ samples: number; options: TranscribeOptions }> = [];
  async transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<Transcript> {
    if (options.noTimestamps) {
      this.previews.push({ samples: pcm.length, options });
      return { text: 'a preview' } as Transcript;
    }
    const i = this.calls.length;
    this.calls.push({ samples: pcm.length, options });
    const planned = this.byAudio?.(pcm);
    if (planned) [this.delays[i], this.texts[i]] = [planned.delay, planned.text];
    await new Promise((resolve, reject) => {
      const t = setTimeout(resolve, this.delays[i] ?? 20);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(t);
        reject(Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ABORTED' }));
      });
    });
    if (this.fail) throw this.fail;
    return { text: this.texts[i] ?? `text ${i}` } as Transcript;
  }
}

/** builds the output the host delivers through; the default writes to `delivered` (stdout) */
type MakeOutput = (config: ReturnType<typeof validateConfig>, delivered: string[]) => Output;

async function makeHost(overrides: Record<string, unknown> = {}, makeOutput?: MakeOutput, deps: Partial<HostDeps> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'prism-host-'));
  dirs.push(dir);
  const config = validateConfig({ hotkey: { mode: 'toggle' }, vad: { mode: 2 }, ...overrides });
  const engine = new FakeEngine();
  const delivered: string[] = [];
  const output =
    makeOutput?.(config, delivered) ?? new Output({ ...config.output, method: 'stdout' }, { modifiers: ['ctrl'], key: 'v' }, undefined, undefined, (l) => delivered.push(l));
  const history = new History(join(dir, 'history'), config.history);
  const vad = await Vad.create({ mode: config.vad.mode, frameMs: config.vad.frameMs });
  const notes: string[] = [];
  const logs: string[] = [];
  // The host's clock is the audio's: each 20 ms block fed moves it 20 ms (no sleeps, no real time).
  const clock = new ManualClock();
  const host = new DictationHost({ config, engine, history, output, vad, log: (l) => logs.push(l), notify: (m) => notes.push(m), clock, ...deps });
  host.setMicrophone(undefined);
  const events: DictationEvent[] = [];
  host.on('dictation', (e: DictationEvent) => events.push(e));
  /** capture's 20 ms blocks */
  const feed = (pcm: Float32Array) => {
    for (let i = 0; i < pcm.length; i += 320) {
      clock.advance(20);
      host.feed(pcm.subarray(i, Math.min(pcm.length, i + 320)));
    }
  };
  /** resolves once `n` texts have been delivered */
  const deliveredCount = async (n: number) => {
    while (delivered.length < n) await new Promise((r) => setTimeout(r, 5));
  };
  /** resolves once `n` phrases have been reported (their records complete) */
  const reported = async (n: number) => {
    while (events.length < n) await new Promise((r) => host.once('dictation', r));
  };
  return { host, engine, delivered, history, notes, logs, events, feed, config, clock, deliveredCount, reported };
}

const silence = (s: number) => new Float32Array(Math.round(s * RATE));

/** Where `needle` stands, sample for sample (to the 16 bits a WAV keeps), inside `hay` (-1: nowhere). */
function exactly(hay: Float32Array, needle: Float32Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (Math.abs((hay[i + j] as number) - (needle[j] as number)) > 1 / 16384) continue outer;
    return i;
  }
  return -1;
}

describe.skipIf(!wav)('DictationHost (espeak-ng speech through the real WebRTC VAD; skipped without espeak-ng)', async () => {
  const speech = wav ? await readAudio(wav) : new Float32Array();

  it('toggle (latched): a phrase is pasted when its pause comes, while the dictation goes on listening', async () => {
    const h = await makeHost();
    h.engine.texts = ['Please call me back after lunch.'];
    h.feed(silence(1));
    expect(h.host.toggle()).toBe('recording');
    h.feed(speech);
    h.feed(silence(1.5));
    expect(h.host.state).toBe('recording'); // a pause never ends a latched dictation
    await h.reported(1);
    expect(h.delivered).toEqual(['Please call me back after lunch. ']);
    const sent = h.engine.calls[0]?.samples ?? 0;
    let audible = speech.length - 1; // espeak pads its clip with near-silence
    while (audible > 0 && Math.abs(speech[audible] as number) < 0.01) audible--;
    // pre-roll (300 ms) + the speech + the hangover (500 ms) and the VAD's own tail — not the whole 1.5 s of silence
    expect(sent / RATE).toBeGreaterThanOrEqual(0.3 + audible / RATE + 0.5);
    expect(sent / RATE).toBeLessThan(0.3 + audible / RATE + 0.5 + 0.3);
    expect(h.engine.calls[0]?.options).toMatchObject({ language: 'en', audioCtx: 'auto' });
    const [rec] = await h.history.list(5);
    expect(rec).toMatchObject({ state: 'done', text: 'Please call me back after lunch. ', delivered: 'stdout', settings: { ended: 'pause', phrase: 1 } });
    expect(rec?.timings?.endOfSpeech).toBeGreaterThanOrEqual(500);
    expect((await h.history.audio(rec as never)).length).toBe(sent);
    expect(h.events[0]?.times.total).toBeGreaterThanOrEqual(0);
    expect(h.host.status()).toMatchObject({ state: 'recording', dictation: { latched: true, phrases: 1 } });
    expect(h.host.toggle()).toBe('transcribing'); // the next toggle ends it; it never starts a second one
    await h.host.drain();
    expect(h.delivered).toHaveLength(1); // the silent tail is neither transcribed nor kept
    expect(h.engine.calls).toHaveLength(1);
    expect(await h.history.list(5)).toHaveLength(1);
    expect(h.logs.at(-1)).toMatch(/^dictation 1 toggle\/latched \(socket, ended by socket\): 1 phrase, .* 32 characters; ms: /);
    expect(h.logs.join('\n')).not.toMatch(/lunch/); // no text in the log unless log.text
  });

  it("the dashboard's view of a dictation: its phrases name it, each record keeps the window the text was typed into, any one can be retried by id and its WAV read", async () => {
    const typed: string[] = [];
    const keys = { name: 'fake keys', press: async () => undefined, type: async (t: string) => void typed.push(t) };
    let focused = '"notes.txt - Editor" (Gedit)';
    const h = await makeHost({}, (c) => new Output({ ...c.output, method: 'type' }, { modifiers: ['ctrl'], key: 'v' }, undefined, keys), {
      focusedWindow: async () => focused,
    });
    h.engine.texts = ['First part.', 'Second part.'];
    const levels: number[] = [];
    h.host.on('meter', (rms: number) => levels.push(rms));
    h.feed(silence(0.2));
    expect(levels.length).toBeGreaterThan(0); // the level is there while idle too (for the page's meter)
    expect(h.host.toggle()).toBe('recording');
    h.feed(speech);
    h.feed(silence(1.5));
    h.feed(speech);
    h.feed(silence(1.5));
    expect(h.host.toggle()).toBe('transcribing');
    await h.host.drain();
    expect(typed).toEqual(['First part. ', 'Second part. ']);
    const [second, first] = await h.history.list(5);
    expect(first?.settings).toMatchObject({ phrase: 1 });
    expect(second?.settings).toMatchObject({ phrase: 2, dictation: first?.settings?.dictation });
    expect(first?.window).toBe('"notes.txt - Editor" (Gedit)');
    expect(second?.window).toBe('"notes.txt - Editor" (Gedit)');
    // the first phrase (not the newest) again, into another window now
    focused = '"Terminal" (XTerm)';
    h.engine.texts[2] = 'First part, heard better.';
    const retried: unknown[] = [];
    h.host.on('retried', (r) => retried.push(r));
    const r = await h.host.retry({ id: first?.id as string });
    expect(r).toMatchObject({ id: first?.id, text: 'First part, heard better. ', outcome: 'typed' });
    expect(h.engine.calls[2]?.samples).toBe(h.engine.calls[0]?.samples); // its own audio
    expect(await h.history.get(first?.id as string)).toMatchObject({ text: 'First part, heard better. ', window: '"Terminal" (XTerm)', state: 'done' });
    expect(retried).toHaveLength(1);
    const wavFile = await h.host.keptAudio(first?.id as string);
    expect(wavFile.subarray(0, 4).toString()).toBe('RIFF');
    expect(wavFile.subarray(8, 12).toString()).toBe('WAVE');
    await expect(h.host.retry({ id: '20990101-000000-000-000' })).rejects.toMatchObject({ code: 'HISTORY_FAILED' });
    await expect(h.host.keptAudio('../config')).rejects.toMatchObject({ code: 'HISTORY_FAILED' });
  });

  it('latched, three phrases with 1.5 s pauses: each is pasted before the next one ends, in order, spaced, prompted by the last', async () => {
    const h = await makeHost({ hotkey: { mode: 'hybrid' }, transcription: { prompt: 'Grafana' } });
    h.engine.texts = ['One.', 'Two.', 'Three.'];
    h.host.hotkeyDown();
    h.clock.advance(120);
    h.host.hotkeyUp(); // a tap: latched
    for (let i = 0; i < 3; i++) {
      h.feed(speech);
      h.feed(silence(1.5));
      await h.deliveredCount(i + 1); // pasted while the person is still in the dictation
      expect(h.host.state).toBe('recording');
    }
    h.host.hotkeyDown(); // the next press ends it…
    h.host.hotkeyUp();
    await h.host.drain();
    expect(h.host.state).toBe('idle'); // …and starts nothing
    expect(h.delivered).toEqual(['One. ', 'Two. ', 'Three. ']);
    expect(h.engine.calls.map((c) => c.options.prompt)).toEqual(['Grafana', 'Grafana One.', 'Grafana Two.']);
    const recs = (await h.history.list(10)).reverse();
    expect(recs.map((r) => r.settings?.phrase)).toEqual([1, 2, 3]);
    expect(new Set(recs.map((r) => r.settings?.dictation)).size).toBe(1);
    // nothing lost: every phrase's kept audio holds its sentence, sample for sample
    for (const r of recs) expect(exactly(await h.history.audio(r), speech)).toBeGreaterThanOrEqual(0);
  });

  it('transcription.previousText false: every phrase is transcribed with the vocabulary alone', async () => {
    const h = await makeHost({ transcription: { prompt: 'Grafana', previousText: false } });
    h.engine.texts = ['One.', 'Two.'];
    h.host.toggle();
    for (let i = 0; i < 2; i++) {
      h.feed(speech);
      h.feed(silence(1.5));
      await h.deliveredCount(i + 1);
    }
    h.host.toggle();
    await h.host.drain();
    expect(h.engine.calls.map((c) => c.options.prompt)).toEqual(['Grafana', 'Grafana']);
  });

  it('latched, without trailing spaces: phrases are still separated by one space', async () => {
    const h = await makeHost({ output: { trailingSpace: false } });
    h.engine.texts = ['One.', 'Two.'];
    h.host.toggle();
    for (let i = 0; i < 2; i++) {
      h.feed(speech);
      h.feed(silence(1));
      await h.deliveredCount(i + 1);
    }
    h.host.toggle();
    await h.host.drain();
    expect(h.delivered).toEqual(['One.', ' Two.']);
  });

  it('latched: vad.latchSilenceMs of silence after the last speech ends it', async () => {
    const h = await makeHost({ vad: { mode: 2, latchSilenceMs: 3000 } });
    h.host.toggle();
    h.feed(speech);
    h.feed(silence(2.5));
    expect(h.host.state).toBe('recording');
    h.feed(silence(1));
    expect(h.host.state).toBe('idle');
    await h.host.drain();
    expect(h.delivered).toEqual(['text 0 ']);
    expect(h.logs.at(-1)).toMatch(/ended by silence/);
  });

  it('hold with three pauses: phrases are transcribed ahead while the key is down, pasted as one text at the release', async () => {
    const h = await makeHost({ hotkey: { mode: 'hold' } });
    h.engine.texts = ['Alpha.', 'Beta.', 'Gamma.'];
    h.host.hotkeyDown();
    for (let i = 0; i < 3; i++) {
      h.feed(speech);
      h.feed(silence(2.5)); // a long pause inside the hold
    }
    expect(h.host.state).toBe('recording'); // the VAD never ends a held dictation
    await new Promise((r) => setTimeout(r, 150));
    expect(h.engine.calls).toHaveLength(3); // all transcribed ahead, before the release
    expect(h.delivered).toEqual([]); // nothing pasted while the key is down
    h.host.hotkeyUp();
    await h.host.drain();
    expect(h.delivered).toEqual(['Alpha. Beta. Gamma. ']);
    expect(h.engine.calls).toHaveLength(3); // the silent tail after the last pause costs nothing
    const recs = await h.history.list(10);
    expect(recs.map((r) => r.state)).toEqual(['done', 'done', 'done']);
  });

  it('begin/end over the socket is push-to-talk: pauses of seconds inside are kept', async () => {
    const h = await makeHost({ hotkey: { mode: 'hybrid' } });
    expect(h.host.begin()).toBe('recording');
    h.feed(speech);
    h.feed(silence(2));
    h.feed(speech);
    h.feed(silence(0.2));
    expect(h.host.state).toBe('recording');
    expect(h.host.end()).toBe('transcribing');
    await h.host.drain();
    expect(h.delivered).toEqual(['text 0 text 1 ']);
    const recs = (await h.history.list(5)).reverse();
    expect(recs.map((r) => r.settings?.ended)).toEqual(['pause', 'socket']);
    for (const r of recs) expect(exactly(await h.history.audio(r), speech)).toBeGreaterThanOrEqual(0);
  });

  it('press/release from a compositor binding follow hotkey.mode (hybrid): a quick tap latches, the next press ends it; a hold is push-to-talk (issue 26, item 4)', async () => {
    const h = await makeHost({ hotkey: { mode: 'hybrid', holdMs: 500 } });
    expect(h.host.press()).toBe('recording');
    h.clock.advance(120);
    expect(h.host.release()).toBe('recording hands-free'); // a tap: latched, unlike begin/end
    h.feed(speech);
    h.feed(silence(1));
    await h.deliveredCount(1);
    expect(h.host.state).toBe('recording');
    expect(h.host.press()).toBe('transcribing'); // the next press ends it and starts nothing
    expect(h.host.release()).toBe('not recording');
    await h.host.drain();
    expect(h.host.press()).toBe('recording');
    expect(h.host.press()).toBe('recording'); // a repeated press (key repeat) changes nothing
    h.feed(speech);
    h.feed(silence(0.2));
    expect(h.host.release()).toBe('transcribing'); // held past holdMs: push-to-talk, the release ends it
    await h.host.drain();
    expect(h.delivered).toHaveLength(2);
  });

  it("a tap's release that reaches the socket before its press (two processes racing) still makes a tap: latched, and the next tap ends it; an end before its begin starts nothing (issue 26, item 4)", async () => {
    const h = await makeHost({ hotkey: { mode: 'hybrid', holdMs: 500 } });
    expect(h.host.release()).toBe('not recording');
    h.clock.advance(30);
    expect(h.host.press()).toBe('recording');
    expect(h.host.status()).toMatchObject({ state: 'recording', dictation: { latched: true } });
    // the tap that ends it races the same way: release first, then press
    h.feed(speech);
    h.feed(silence(1));
    expect(h.host.release()).toBe('recording');
    expect(h.host.press()).toBe('transcribing');
    h.feed(silence(0.5)); // the audio up to the press arrives
    await h.host.drain();
    expect(h.host.state).toBe('idle');
    // and the key is up again: a plain press starts the next dictation (it is not taken for a repeat)
    expect(h.host.press()).toBe('recording');
    h.feed(speech);
    expect(h.host.release()).toBe('transcribing'); // held past holdMs: push-to-talk
    h.feed(silence(0.5));
    await h.host.drain();
    expect(h.delivered).toHaveLength(2);
    // end overtaking begin: nothing is left recording
    expect(h.host.end()).toBe('not recording');
    expect(h.host.begin()).toBe('not recording (its end came first)');
    expect(h.host.state).toBe('idle');
    // a release long before a press is not its tap
    h.host.release();
    h.clock.advance(5000);
    expect(h.host.press()).toBe('recording');
    expect(h.host.status()).toMatchObject({ dictation: { latched: false } });
    h.host.cancel('test');
    h.feed(silence(0.5));
    await h.host.drain();
  });

  it('50 repeated begins during one dictation (a key auto-repeat) are harmless: one dictation, one record, the text once (issue 26, item 4b)', async () => {
    const h = await makeHost({ hotkey: { mode: 'hybrid' } });
    const states: string[] = [];
    h.host.on('state', (st: string) => states.push(st));
    expect(h.host.begin()).toBe('recording');
    const id = (h.host.status().dictation as { id: string }).id;
    const step = Math.ceil(speech.length / 50);
    for (let i = 0; i < 50; i++) {
      h.feed(speech.subarray(i * step, Math.min(speech.length, (i + 1) * step)));
      expect(h.host.begin()).toBe('already recording'); // no error, nothing restarted
      expect((h.host.status().dictation as { id: string }).id).toBe(id);
    }
    h.feed(silence(0.2));
    expect(h.host.end()).toBe('transcribing');
    expect(h.host.end()).toBe('not recording');
    await h.host.drain();
    expect(states.filter((st) => st === 'recording')).toHaveLength(1);
    expect(h.engine.calls).toHaveLength(1); // no model work for the repeats
    expect(h.delivered).toEqual(['text 0 ']);
    expect(await h.history.list(10)).toHaveLength(1);
    expect(h.host.counts.dictations).toBe(1);
  });

  it('release → the audio in hand is one block at most: the end does not wait for silence', async () => {
    const h = await makeHost({ hotkey: { mode: 'hold' } });
    h.host.hotkeyDown();
    h.feed(speech);
    h.clock.advance(10); // released 10 ms into the next block
    h.host.hotkeyUp();
    h.clock.advance(10);
    h.host.feed(silence(0.02)); // the block holding the release arrives 20 ms after the last one
    await h.host.drain();
    const [e] = h.events;
    expect(e?.record.settings).toMatchObject({ ended: 'release' });
    expect(e?.times.endOfSpeech).toBe(10); // release → end decided, on the injected clock
  });

  it('the next dictation records while the last transcribes; texts arrive in the order spoken', async () => {
    const h = await makeHost();
    const half = speech.subarray(0, speech.length >> 1);
    // the first (longer) utterance transcribes slowly, the second quickly: the second's text is ready first
    h.engine.byAudio = (pcm) => (pcm.length > half.length + 8000 ? { text: 'first', delay: 400 } : { text: 'second', delay: 10 });
    h.host.begin();
    h.feed(speech);
    h.host.end();
    h.host.begin(); // while the first is still transcribing
    h.feed(half);
    h.host.end();
    await h.host.drain();
    expect(h.delivered).toEqual(['first ', 'second ']);
  });

  it('a silent utterance is kept but neither transcribed nor pasted', async () => {
    const h = await makeHost();
    h.host.begin();
    h.feed(silence(1.2));
    h.host.end();
    await h.host.drain();
    expect(h.engine.calls.length).toBe(0);
    expect(h.delivered).toEqual([]);
    expect((await h.history.list(1))[0]?.state).toBe('no-speech');
    expect(h.host.counts.noSpeech).toBe(1);
  });

  it('cancel drops a recording, or stops the transcription so nothing is pasted', async () => {
    const h = await makeHost();
    h.host.begin();
    h.feed(speech);
    expect(h.host.cancel()).toBe('cancelled the recording');
    h.engine.delays = [500];
    h.host.begin();
    h.feed(speech);
    h.host.end();
    expect(h.host.cancel()).toBe('cancelled the transcription'); // at once: even before its audio is saved
    await h.host.drain();
    expect(h.delivered).toEqual([]);
    expect((await h.history.list(1))[0]?.state).toBe('cancelled');
  });

  it('cancel in the middle of a latched dictation keeps what was pasted and drops the rest', async () => {
    const h = await makeHost();
    h.engine.texts = ['kept'];
    h.host.toggle();
    h.feed(speech);
    h.feed(silence(1));
    await h.deliveredCount(1);
    h.feed(speech.subarray(0, speech.length >> 1));
    expect(h.host.cancel()).toBe('cancelled the recording');
    await h.host.drain();
    expect(h.delivered).toEqual(['kept ']);
    expect(h.engine.calls).toHaveLength(1);
    expect(h.host.state).toBe('idle');
  });

  it('a failed transcription keeps the audio, says so, and retry() transcribes it again', async () => {
    const h = await makeHost();
    h.engine.fail = new WhisperError('SERVICE_UNAVAILABLE', 'the engine died twice');
    h.host.begin();
    h.feed(speech);
    h.host.end();
    await h.host.drain();
    expect(h.notes.join('\n')).toMatch(/transcription failed: the engine died twice .*prism-dictate retry/);
    expect((await h.history.list(1))[0]?.state).toBe('failed');
    h.engine.fail = undefined;
    h.engine.texts = [undefined as never, 'recovered'];
    expect((await h.host.retry()).text).toBe('recovered ');
    expect(h.delivered).toEqual(['recovered ']);
    expect(await h.host.repaste()).toEqual({ text: 'recovered ', outcome: 'written' });
  });

  it('a microphone lost mid-utterance: what was captured is still kept and transcribed', async () => {
    const h = await makeHost();
    h.host.begin();
    h.feed(speech.subarray(0, speech.length >> 1));
    h.host.micLost('the device stopped delivering');
    await h.host.drain();
    expect(h.delivered).toEqual(['text 0 ']);
    expect((await h.history.list(1))[0]?.settings).toMatchObject({ ended: 'mic-lost' });
    expect(h.notes).toEqual(['microphone lost: the device stopped delivering']);
    expect(() => h.host.begin()).toThrow(expect.objectContaining({ code: 'MIC_UNAVAILABLE' }));
  });

  it('a latched dictation in which nothing is said stops listening', async () => {
    const h = await makeHost({ vad: { mode: 2, noSpeechTimeoutMs: 1000 } });
    h.host.toggle();
    h.feed(silence(1.2));
    expect(h.host.state).toBe('idle');
    expect(h.host.counts.cancelled).toBe(1);
  });

  it('the indicator hears listening, the level, transcribing, then pasted', async () => {
    const h = await makeHost({ hotkey: { mode: 'hold' } });
    const seen: string[] = [];
    const levels: number[] = [];
    h.host.on('indicator', (state: string) => seen.push(state));
    h.host.on('level', (x: number) => levels.push(x));
    h.host.hotkeyDown();
    h.feed(speech);
    h.host.hotkeyUp();
    await h.host.drain();
    expect(seen).toEqual(['listening', 'transcribing', 'pasted']);
    expect(Math.max(...levels)).toBeGreaterThan(0.01);
  });
});

describe.skipIf(!wav)('DictationHost where no keystroke can be sent: nothing is lost (issue 26, item 2)', async () => {
  const speech = wav ? await readAudio(wav) : new Float32Array();
  /** a clipboard that keeps what is written; `fail` makes writes throw */
  const clipboardOf = (o: { fail?: boolean } = {}) => {
    const cb = {
      name: 'fake-copy',
      text: 'what the user had',
      writes: [] as string[],
      read: async () => cb.text,
      write: async (t: string) => {
        if (o.fail) throw new Error('the clipboard tool is gone');
        cb.writes.push(t);
        cb.text = t;
      },
    };
    return cb;
  };
  const noTyping = {
    name: 'cannot type',
    press: async () => {
      throw new WhisperError('PASTE_FAILED', 'no virtual keyboard on this compositor');
    },
    type: async () => {
      throw new WhisperError('PASTE_FAILED', 'no virtual keyboard on this compositor');
    },
  };
  /** a latched dictation of two phrases, ended by the second press */
  async function twoPhrases(h: Awaited<ReturnType<typeof makeHost>>) {
    h.engine.texts = ['One sentence said first.', 'Then a second one.'];
    h.host.hotkeyDown();
    h.clock.advance(120);
    h.host.hotkeyUp(); // a tap: latched
    for (let i = 0; i < 2; i++) {
      h.feed(speech);
      h.feed(silence(1.5));
      await h.reported(i + 1);
    }
    h.host.hotkeyDown();
    h.host.hotkeyUp();
    await h.host.drain();
    return (await h.history.list(10)).reverse();
  }

  it('paste without a key sender: the whole latched dictation stays on the clipboard, history says copied, the user is told', async () => {
    const cb = clipboardOf();
    const h = await makeHost(
      { hotkey: { mode: 'hybrid' } },
      (c) => new Output({ ...c.output, method: 'paste', restoreClipboard: true }, { modifiers: ['ctrl'], key: 'v' }, cb, undefined),
    );
    const copiedEvents: string[] = [];
    h.host.on('copied', (t: string) => copiedEvents.push(t));
    const recs = await twoPhrases(h);
    expect(cb.text).toBe('One sentence said first. Then a second one. '); // both phrases, in order: none overwrote the other
    expect(recs.map((r) => r.state)).toEqual(['copied', 'copied']);
    expect(recs.map((r) => r.delivered)).toEqual(['clipboard', 'clipboard']);
    expect(h.notes.join('\n')).toMatch(/copied 43 characters to the clipboard — press Ctrl\+V to paste \(no way to send the paste keystroke here\)/);
    expect(copiedEvents).toEqual(['One sentence said first. Then a second one. ']); // once, at the end: the copied cue plays once
    // the re-paste says what it did: copied, not pasted (issue 26, item 2)
    expect(await h.host.repaste()).toEqual({
      text: 'Then a second one. ',
      outcome: 'copied',
      hint: 'press Ctrl+V to paste (no way to send the paste keystroke here)',
    });
    expect(cb.text).toBe('Then a second one. ');
  });

  it('a re-paste whose paste keystroke went out says pasted', async () => {
    const cb = clipboardOf();
    const pressed: string[] = [];
    const keys = { name: 'keys', press: async () => void pressed.push('ctrl+v'), type: async () => undefined };
    const h = await makeHost(
      { hotkey: { mode: 'hybrid' } },
      (c) => new Output({ ...c.output, method: 'paste', restoreClipboard: false }, { modifiers: ['ctrl'], key: 'v' }, cb, keys),
    );
    await twoPhrases(h);
    expect(await h.host.repaste()).toEqual({ text: 'Then a second one. ', outcome: 'pasted' });
    expect(pressed.length).toBeGreaterThanOrEqual(1);
  });

  it('type that cannot type falls back to the clipboard the same way, and says why', async () => {
    const cb = clipboardOf();
    const h = await makeHost({ hotkey: { mode: 'hybrid' } }, (c) => new Output({ ...c.output, method: 'type' }, { modifiers: ['ctrl'], key: 'v' }, cb, noTyping));
    const recs = await twoPhrases(h);
    expect(cb.text).toBe('One sentence said first. Then a second one. ');
    expect(recs.map((r) => r.state)).toEqual(['copied', 'copied']);
    expect(h.notes.join('\n')).toMatch(/copied 43 characters .*press Ctrl\+V to paste \(no virtual keyboard on this compositor\)/);
  });

  it('output.method clipboard: the phrases accumulate on the clipboard and it is not restored', async () => {
    const cb = clipboardOf();
    const h = await makeHost(
      { hotkey: { mode: 'hybrid' } },
      (c) => new Output({ ...c.output, method: 'clipboard', restoreClipboard: true }, { modifiers: ['ctrl'], key: 'v' }, cb, undefined),
    );
    const recs = await twoPhrases(h);
    expect(cb.writes).toEqual(['One sentence said first. ', 'One sentence said first. Then a second one. ']);
    expect(recs.map((r) => r.state)).toEqual(['copied', 'copied']);
  });

  it('neither typed nor copied: an error in the log and the history (state failed, the text kept), and repaste is still possible', async () => {
    const h = await makeHost(
      { hotkey: { mode: 'hybrid' } },
      (c) => new Output({ ...c.output, method: 'type' }, { modifiers: ['ctrl'], key: 'v' }, clipboardOf({ fail: true }), noTyping),
    );
    const recs = await twoPhrases(h);
    expect(recs.map((r) => r.state)).toEqual(['failed', 'failed']);
    expect(recs.map((r) => r.text)).toEqual(['One sentence said first. ', 'Then a second one. ']);
    expect(recs[0]?.error).toMatchObject({
      code: 'PASTE_FAILED',
      message: expect.stringMatching(/could not copy the text \(fake-copy\): the clipboard tool is gone; and no virtual keyboard/),
    });
    expect(h.logs.join('\n')).toMatch(/dictation 1: the text was neither typed nor copied: .*repaste/);
    expect(h.notes.join('\n')).not.toMatch(/copied \d+ characters/);
    await expect(h.host.repaste()).rejects.toMatchObject({ code: 'PASTE_FAILED' }); // tried again, through the same (broken) output
  });

  it('retry() says copied when its text could only be copied', async () => {
    const cb = clipboardOf();
    const h = await makeHost({}, (c) => new Output({ ...c.output, method: 'paste' }, { modifiers: ['ctrl'], key: 'v' }, cb, undefined));
    h.engine.fail = new WhisperError('SERVICE_UNAVAILABLE', 'the engine died twice');
    h.host.begin();
    h.feed(speech);
    h.host.end();
    await h.host.drain();
    h.engine.fail = undefined;
    h.engine.texts = [undefined as never, 'recovered'];
    expect((await h.host.retry()).text).toBe('recovered ');
    expect(cb.text).toBe('recovered ');
    expect((await h.history.list(1))[0]).toMatchObject({ state: 'copied', text: 'recovered ', delivered: 'clipboard' });
  });
});

describe('DictationHost fed the way idle capture delivers (batches of up to 1 s)', () => {
  it("pre-roll counts back from the trigger's moment, not from the last batch that arrived", async () => {
    const h = await makeHost({ hotkey: { mode: 'hold' } });
    // Each sample says where it is: 16-bit value = index - 8192 (indices below 16384).
    const ramp = Float32Array.from({ length: 24_000 }, (_, i) => ((i % 16_384) - 8192) / 32768);
    h.host.feed(ramp.subarray(0, 8000)); // 0.5 s batch
    h.clock.advance(200); // the trigger comes 200 ms into the next batch
    h.host.hotkeyDown();
    h.host.feed(ramp.subarray(8000, 16_000));
    h.host.feed(ramp.subarray(16_000, 24_000));
    h.host.hotkeyUp();
    await h.host.drain();
    const [rec] = await h.history.list(1);
    const audio = await h.history.audio(rec as never);
    const first = Math.round((audio[0] as number) * 32768) + 8192;
    // trigger at sample 8000 + 200 ms (3200) - pre-roll 300 ms (4800) = 6400, exactly: the clock is injected
    expect(first).toBe(6400);
  });
});

describe('DictationHost without a microphone', () => {
  it('refuses to record with MIC_UNAVAILABLE and says why', async () => {
    const h = await makeHost();
    h.host.setMicrophone('no input device');
    expect(() => h.host.begin()).toThrow(expect.objectContaining({ code: 'MIC_UNAVAILABLE' }));
    expect(h.notes).toEqual(['cannot record: no input device']);
    expect(h.host.state).toBe('idle');
  });
});
