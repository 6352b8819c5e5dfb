/**
 * Endpointer: the end-of-speech decision. Fed one VAD decision per frame, it says when an utterance
 * has started (enough voiced time that it was not a click) and when it has ended (the trailing
 * silence has lasted the hangover, counted in whole frames).
 */
import { WhisperError } from '../errors.js';

export type EndpointState = 'silence' | 'speech' | 'end';

export interface EndpointerOptions {
  /** length of one VAD frame */
  frameMs: number;
  /** trailing silence after speech that ends the utterance; rounded up to whole frames */
  hangoverMs: number;
  /** voiced time needed before speech counts as started, so a click does not start an utterance (default 100; rounded up to whole frames) */
  minSpeechMs?: number;
}

/** Whole frames needed to cover `ms` (at least one); the epsilon keeps 0.1 + 0.2-style float error from adding a frame. */
function framesFor(ms: number, frameMs: number): number {
  return Math.max(1, Math.ceil(ms / frameMs - 1e-9));
}

export class Endpointer {
  readonly frameMs: number;
  private readonly hangoverFrames: number;
  private readonly minSpeechFrames: number;
  private frames = 0;
  private voicedFrames = 0;
  /** voiced frames counted towards starting; forgotten after a hangover of silence */
  private pendingFrames = 0;
  private lastVoicedEnd = 0; // frame index just after the last voiced frame
  private started = false;
  private ended = false;
  private lagFrames = 0;

  constructor(o: EndpointerOptions) {
    const minSpeechMs = o.minSpeechMs ?? 100;
    if (!(o.frameMs > 0) || !Number.isFinite(o.frameMs)) throw new WhisperError('BAD_ARGUMENT', `frameMs must be a positive number, got ${o.frameMs}`);
    if (!(o.hangoverMs >= 0) || !Number.isFinite(o.hangoverMs)) throw new WhisperError('BAD_ARGUMENT', `hangoverMs must be ≥ 0, got ${o.hangoverMs}`);
    if (!(minSpeechMs >= 0) || !Number.isFinite(minSpeechMs)) throw new WhisperError('BAD_ARGUMENT', `minSpeechMs must be ≥ 0, got ${minSpeechMs}`);
    this.frameMs = o.frameMs;
    this.hangoverFrames = framesFor(o.hangoverMs, o.frameMs);
    this.minSpeechFrames = framesFor(minSpeechMs, o.frameMs);
  }

  /**
   * One frame's VAD decision. Returns 'speech' while an utterance is under way (its pauses
   * included), 'end' once, on the frame where the trailing silence reaches the hangover, and
   * 'silence' otherwise — before speech has started, and after 'end' until reset().
   */
  push(speech: boolean): EndpointState {
    this.frames++;
    if (this.ended) return 'silence';
    if (speech) {
      this.voicedFrames++;
      this.pendingFrames++;
      this.lastVoicedEnd = this.frames;
      if (!this.started && this.pendingFrames >= this.minSpeechFrames) this.started = true;
      return this.started ? 'speech' : 'silence';
    }
    const silent = this.frames - this.lastVoicedEnd;
    if (silent < this.hangoverFrames) return this.started ? 'speech' : 'silence';
    if (!this.started) {
      this.pendingFrames = 0; // a click followed by a hangover's silence is forgotten
      return 'silence';
    }
    if (silent >= this.hangoverFrames) {
      this.ended = true;
      this.lagFrames = silent;
      return 'end';
    }
    return 'silence';
  }

  /** Start over, as for a new utterance. */
  reset(): void {
    this.frames = 0;
    this.voicedFrames = 0;
    this.pendingFrames = 0;
    this.lastVoicedEnd = 0;
    this.started = false;
    this.ended = false;
    this.lagFrames = 0;
  }

  /** Whether speech has started (enough voiced time) since the last reset. */
  get heardSpeech(): boolean {
    return this.started;
  }

  /** Whether 'end' has been returned since the last reset. */
  get done(): boolean {
    return this.ended;
  }

  /** Voiced time so far (every voiced frame, including ones before speech started). */
  get speechMs(): number {
    return this.voicedFrames * this.frameMs;
  }

  /** Time since the first frame after the last reset. */
  get elapsedMs(): number {
    return this.frames * this.frameMs;
  }

  /** Time offset (from the first frame) of the end of the last voiced frame; 0 when none was voiced. */
  get lastSpeechAtMs(): number {
    return this.lastVoicedEnd * this.frameMs;
  }

  /** The hangover actually waited: on and after the 'end' frame, its elapsedMs − lastSpeechAtMs; 0 before. */
  get decisionLagMs(): number {
    return this.lagFrames * this.frameMs;
  }
}
