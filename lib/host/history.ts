/**
 * The history folder: each utterance's audio (WAV) and record (JSON) are written *before* it is
 * transcribed, so a crash never loses what was said; the record is completed afterwards. Old entries
 * are pruned by count and age. A full disk is reported (HISTORY_FAILED), never a crash.
 *
 * It holds the user's voice: the folder is 0700 and every file 0600, made so as soon as a History is
 * opened (an older folder or files left 0755/0644 by an earlier version are tightened then, and old
 * entries pruned, without waiting for the next dictation).
 */
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readAudio } from '../audio/read.js';
import { WHISPER_RATE } from '../audio/resample.js';
import { encodeWav } from '../audio/wav.js';
import type { Config } from '../config/schema.js';
import { WhisperError } from '../errors.js';

/** done: typed or pasted; copied: on the clipboard for the user to paste (no keystroke could deliver it) */
export type DictationState = 'captured' | 'done' | 'copied' | 'failed' | 'no-speech' | 'cancelled';

export interface DictationRecord {
  id: string;
  at: string;
  /** the WAV next to this record (16 kHz mono), absent when the audio could not be kept */
  audio?: string;
  seconds: number;
  state: DictationState;
  text?: string;
  error?: { code: string; message: string };
  /** per-stage milliseconds */
  timings?: Record<string, number>;
  voicedMs?: number;
  settings?: Record<string, unknown>;
  delivered?: string;
  /** what transcribed it: cpu, cuda:0, remote:… */
  backend?: string;
  /** the window the text was pasted or typed into: its title and class, where the desktop says (X11) */
  window?: string;
}

/** A history id as save() makes it: local time to the millisecond and a sequence number. */
const ID = /^\d{8}-\d{6}-\d{3}-\d{3}$/;
/** no kept WAV is longer than this (a phrase is at most vad.maxUtteranceMs; 64 MiB is over half an hour at 16 kHz) */
const MAX_WAV_BYTES = 64 * 1024 * 1024;

/** Whether `id` can name a history entry (anything else never reaches the file system). */
export function isHistoryId(id: string): boolean {
  return ID.test(id);
}

function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}-${p(d.getMilliseconds(), 3)}`;
}

function historyError(e: unknown, what: string): WhisperError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOSPC' ? 'the disk is full' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
  return new WhisperError('HISTORY_FAILED', `could not ${what}: ${why}`, { cause: e });
}

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

export class History {
  private seq = 0;
  /** the folder made private and pruned, started at construction; every operation waits for it */
  readonly ready: Promise<void>;

  constructor(
    readonly dir: string,
    private readonly o: Config['history'],
  ) {
    this.ready = this.open().catch(() => undefined); // a folder it cannot fix is reported by the first save
  }

  get enabled(): boolean {
    return this.o.enabled;
  }

  /** Makes the folder 0700 (creating it when history is on) and its files 0600, then prunes. */
  private async open(): Promise<void> {
    if (this.o.enabled) await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
    const st = await lstat(this.dir).catch(() => undefined);
    if (!st?.isDirectory()) return;
    if ((st.mode & 0o777) !== DIR_MODE) await chmod(this.dir, DIR_MODE);
    for (const name of await readdir(this.dir)) {
      const file = join(this.dir, name);
      const f = await lstat(file).catch(() => undefined);
      // only our own regular files: a link is not followed (chmod would change its target)
      if (f?.isFile() && (f.mode & 0o777) !== FILE_MODE) await chmod(file, FILE_MODE).catch(() => undefined);
    }
    await this.pruneNow();
  }

  private async writeRecord(r: DictationRecord): Promise<void> {
    const file = join(this.dir, `${r.id}.json`);
    await rm(`${file}.tmp`, { force: true });
    await writeFile(`${file}.tmp`, `${JSON.stringify(r, null, 2)}\n`, { mode: FILE_MODE, flag: 'wx' });
    await rename(`${file}.tmp`, file);
  }

  /** Keeps the audio and a first record; throws HISTORY_FAILED (the caller still has the audio). */
  async save(pcm: Float32Array, fields: Omit<DictationRecord, 'id' | 'at' | 'audio' | 'seconds' | 'state'>): Promise<DictationRecord> {
    const now = new Date();
    const id = `${stamp(now)}-${String(this.seq++ % 1000).padStart(3, '0')}`;
    const record: DictationRecord = { id, at: now.toISOString(), audio: `${id}.wav`, seconds: pcm.length / WHISPER_RATE, state: 'captured', ...fields };
    await this.ready;
    try {
      await mkdir(this.dir, { recursive: true, mode: DIR_MODE });
      await writeFile(join(this.dir, `${id}.wav`), encodeWav(pcm, WHISPER_RATE), { mode: FILE_MODE, flag: 'wx' });
      await this.writeRecord(record);
    } catch (e) {
      await rm(join(this.dir, `${id}.wav`), { force: true }).catch(() => undefined);
      throw historyError(e, 'keep the audio in the history folder');
    }
    return record;
  }

  async update(record: DictationRecord, patch: Partial<DictationRecord>): Promise<DictationRecord> {
    await this.ready;
    Object.assign(record, patch);
    try {
      await this.writeRecord(record);
    } catch (e) {
      throw historyError(e, 'update the history record');
    }
    return record;
  }

  /** Newest first. */
  async list(limit = 20): Promise<DictationRecord[]> {
    await this.ready;
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.json')).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw historyError(e, 'read the history folder');
    }
    const out: DictationRecord[] = [];
    for (const n of names.reverse()) {
      if (out.length >= limit) break;
      try {
        out.push(JSON.parse(await readFile(join(this.dir, n), 'utf8')) as DictationRecord);
      } catch {
        // a record half-written by a crash: its WAV is still there for retry
      }
    }
    return out;
  }

  /** The record with this id, or undefined (no such entry, or not an id). */
  async get(id: string): Promise<DictationRecord | undefined> {
    if (!isHistoryId(id)) return undefined;
    await this.ready;
    try {
      const r = JSON.parse(await readFile(join(this.dir, `${id}.json`), 'utf8')) as DictationRecord;
      return r.id === id ? r : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The kept WAV of entry `id`, as stored (for the dashboard to play): only an entry's own audio file
   * (`<id>.wav`, a regular file, not a link), at most 64 MiB; HISTORY_FAILED otherwise.
   */
  async wav(id: string): Promise<Buffer> {
    const record = await this.get(id);
    if (!record) throw new WhisperError('HISTORY_FAILED', `there is no history entry ${JSON.stringify(id)}`);
    if (record.audio !== `${id}.wav`) throw new WhisperError('HISTORY_FAILED', `dictation ${id} has no audio kept`);
    const file = join(this.dir, record.audio);
    const st = await lstat(file).catch(() => undefined);
    if (!st?.isFile()) throw new WhisperError('HISTORY_FAILED', `the audio of dictation ${id} is gone`);
    if (st.size > MAX_WAV_BYTES) throw new WhisperError('HISTORY_FAILED', `the audio of dictation ${id} is larger than ${MAX_WAV_BYTES} bytes`);
    return readFile(file);
  }

  async audio(record: DictationRecord): Promise<Float32Array> {
    if (!record.audio) throw new WhisperError('HISTORY_FAILED', `dictation ${record.id} has no audio kept`);
    return readAudio(join(this.dir, record.audio));
  }

  /** Removes entries beyond `keep` and older than `maxAgeDays`; the newest `protect` ids stay. */
  async prune(protect: string[] = []): Promise<number> {
    await this.ready;
    return this.pruneNow(protect);
  }

  private async pruneNow(protect: string[] = []): Promise<number> {
    let names: string[];
    try {
      names = (await readdir(this.dir))
        .filter((n) => n.endsWith('.json'))
        .sort()
        .reverse();
    } catch {
      return 0;
    }
    const oldest = Date.now() - this.o.maxAgeDays * 86_400_000;
    let removed = 0;
    for (const [i, n] of names.entries()) {
      const id = n.slice(0, -'.json'.length);
      if (protect.includes(id)) continue;
      let at = Number.POSITIVE_INFINITY;
      try {
        at = Date.parse((JSON.parse(await readFile(join(this.dir, n), 'utf8')) as DictationRecord).at);
      } catch {
        // unreadable: judged by count only
      }
      if (i < this.o.keep && !(this.o.maxAgeDays > 0 && at < oldest)) continue;
      await rm(join(this.dir, n), { force: true });
      await rm(join(this.dir, `${id}.wav`), { force: true });
      removed++;
    }
    return removed;
  }
}
