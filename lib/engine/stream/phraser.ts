/**
 * Phrase cutting for a stream: 16 kHz audio in, phrases out. The WebRTC VAD judges each frame, the
 * Endpointer says when speech has started (minSpeechMs voiced) and when a pause of hangoverMs has
 * ended it; a phrase is also cut at maxPhraseMs, as the daemon cuts at vad.maxUtteranceMs. A phrase
 * starts preRollMs before its first voiced frame (never before the previous phrase's end) and ends
 * where it was cut (a pause: a hangover after its last voiced frame). Only the audio a phrase may
 * still need is kept.
 */
import { Endpointer } from '../../audio/endpoint.js';
import { WHISPER_RATE } from '../../audio/resample.js';
import type { Vad } from '../../audio/vad.js';

const samplesOf = (ms: number): number => Math.round((ms * WHISPER_RATE) / 1000);

export type CutReason = 'pause' | 'max-length' | 'end';

export interface PhraserOptions {
  hangoverMs: number;
  minSpeechMs: number;
  maxPhraseMs: number;
  preRollMs: number;
}

/** What one push() found: a phrase began (speech started), and phrases that were cut. */
export type PhraseChange = { kind: 'start'; startSample: number } | { kind: 'cut'; startSample: number; endSample: number; reason: CutReason; audio: Float32Array };

export class Phraser {
  private readonly endpointer: Endpointer;
  private readonly frame: number;
  private readonly hangoverFrames: number;
  /** kept audio: samples [keptFrom, total) of the stream, in blocks */
  private blocks: Float32Array[] = [];
  private keptFrom = 0;
  private total = 0;
  /** the next sample the VAD judges */
  private cursor = 0;
  /** where the current phrase may start at the earliest (the last cut) */
  private floor = 0;
  /** first voiced frame of the voiced run that may start a phrase, and the end of the last voiced frame */
  private firstVoice: number | undefined;
  private lastVoice = 0;
  /** the current phrase's start, once speech has started */
  private phraseStart: number | undefined;

  constructor(
    private readonly vad: Vad,
    private readonly o: PhraserOptions,
  ) {
    this.frame = vad.frameSamples;
    this.endpointer = new Endpointer({ frameMs: vad.frameMs, hangoverMs: o.hangoverMs, minSpeechMs: o.minSpeechMs });
    this.hangoverFrames = Math.max(1, Math.ceil(o.hangoverMs / vad.frameMs - 1e-9));
    vad.reset();
  }

  /** samples written so far */
  get samples(): number {
    return this.total;
  }

  /** the open phrase's start, when speech has started and it is not cut yet */
  get openStart(): number | undefined {
    return this.phraseStart;
  }

  /** The open phrase's audio so far (undefined when none is open). */
  openAudio(): Float32Array | undefined {
    return this.phraseStart === undefined ? undefined : this.read(this.phraseStart, this.total);
  }

  push(pcm: Float32Array): PhraseChange[] {
    if (pcm.length) {
      this.blocks.push(pcm.slice());
      this.total += pcm.length;
    }
    const changes: PhraseChange[] = [];
    while (this.total - this.cursor >= this.frame) {
      const at = this.cursor;
      const speech = this.vad.isSpeech(this.read(at, at + this.frame));
      this.cursor += this.frame;
      if (speech) {
        this.firstVoice ??= at;
        this.lastVoice = this.cursor;
      } else if (this.phraseStart === undefined && this.firstVoice !== undefined && this.cursor - this.lastVoice >= this.hangoverFrames * this.frame) {
        this.firstVoice = undefined; // a click, forgotten as the Endpointer forgets it
      }
      const state = this.endpointer.push(speech);
      if (state === 'speech' && this.phraseStart === undefined) {
        this.phraseStart = Math.max(this.floor, (this.firstVoice ?? at) - samplesOf(this.o.preRollMs));
        changes.push({ kind: 'start', startSample: this.phraseStart });
      }
      if (state === 'end') changes.push(this.cut(this.cursor, 'pause'));
      else if (this.phraseStart !== undefined && this.cursor - this.phraseStart >= samplesOf(this.o.maxPhraseMs)) changes.push(this.cut(this.cursor, 'max-length'));
    }
    this.trim();
    return changes;
  }

  /** The end of the stream: the open phrase (if any) is cut at the last sample. */
  finish(): PhraseChange | undefined {
    return this.phraseStart === undefined ? undefined : this.cut(this.total, 'end');
  }

  private cut(endSample: number, reason: CutReason): PhraseChange {
    const startSample = this.phraseStart as number;
    const audio = this.read(startSample, endSample);
    this.phraseStart = undefined;
    this.firstVoice = undefined;
    this.floor = endSample;
    this.endpointer.reset();
    return { kind: 'cut', startSample, endSample, reason, audio };
  }

  /** Drops the blocks no phrase can reach any more. */
  private trim(): void {
    const keep =
      this.phraseStart ??
      (this.firstVoice !== undefined ? Math.max(this.floor, this.firstVoice - samplesOf(this.o.preRollMs)) : Math.max(this.floor, this.cursor - samplesOf(this.o.preRollMs)));
    while (this.blocks.length > 1 && this.keptFrom + (this.blocks[0] as Float32Array).length <= keep) {
      this.keptFrom += (this.blocks.shift() as Float32Array).length;
    }
  }

  /** A copy of samples [from, to), which must be kept; walks the blocks from the newest (VAD frames are near the end). */
  private read(from: number, to: number): Float32Array {
    const out = new Float32Array(to - from);
    let end = this.total;
    for (let i = this.blocks.length - 1; i >= 0 && end > from; i--) {
      const b = this.blocks[i] as Float32Array;
      const start = end - b.length;
      const lo = Math.max(from, start);
      const hi = Math.min(to, end);
      if (hi > lo) out.set(b.subarray(lo - start, hi - start), lo - from);
      end = start;
    }
    return out;
  }
}
