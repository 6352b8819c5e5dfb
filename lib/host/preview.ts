/**
 * The daemon's live preview: while a dictation's current phrase is open, its audio so far is decoded
 * again on the stream module's adaptive cadence (lib/engine/stream/cadence.ts: no sooner than
 * max(minIntervalMs, 2 × the last decode's time) after the previous decode ended, and only once the
 * phrase has grown by 200 ms) and its words are settled by LocalAgreement-2 (agreement.ts): committed
 * words and an unstable tail, for the indicator. Greedy, no timestamps, the prompt the phrase's final
 * will get, priority 'interactive'. One preview at a time, none while a final is pending (finals go
 * first), and a preview that runs when its phrase is cut is aborted through the engine's signal before
 * the final is sent: the release costs nothing. Preview text is only ever shown, never delivered.
 */
import { WHISPER_RATE } from '../audio/resample.js';
import type { Clock } from '../clock.js';
import type { Engine } from '../engine/contract.js';
import { LocalAgreement } from '../engine/stream/agreement.js';
import { Cadence } from '../engine/stream/cadence.js';
import { AbortError } from '../errors.js';

/** The cadence's other knobs, as the stream's defaults (docs/streaming.md). */
export const PREVIEW_CADENCE = { backoff: 2, minPreviewMs: 500, minGrowthMs: 200 } as const;

/** The live text of the open phrase: words two previews agreed on, then the rest of the newest one. */
export interface LiveText {
  committed: string;
  tail: string;
}

export interface PreviewStats {
  /** previews that gave text; aborted (their phrase was cut, or the dictation ended); failed */
  previews: number;
  aborted: number;
  failed: number;
  /** time spent in previews that finished */
  ms: number;
}

export interface PreviewDeps {
  engine: Engine;
  clock: Clock;
  minIntervalMs: number;
  language: string;
  /** the open phrase's length so far (ms), or undefined while it holds no speech yet */
  phraseMs(): number | undefined;
  /** the open phrase's audio so far */
  audio(): Float32Array;
  /** the prompt its final will get (vocabulary + the previous phrase's final) */
  prompt(): string | undefined;
  /** whether a final is pending: a preview then waits (finals go first) */
  finalsPending(): boolean;
  onText(text: LiveText): void;
  /** counts shared by every dictation's preview */
  stats: PreviewStats;
  log?: (line: string) => void;
}

export class PhrasePreview {
  private readonly cadence: Cadence;
  private agreement = new LocalAgreement();
  private running: AbortController | undefined;
  private phrase = 0;
  private stopped = false;

  constructor(private readonly d: PreviewDeps) {
    this.cadence = new Cadence({ minIntervalMs: d.minIntervalMs, ...PREVIEW_CADENCE });
  }

  /** Audio arrived (or a final ended): starts a preview when the cadence allows one now. */
  poke(): void {
    if (this.stopped || this.running || this.d.finalsPending()) return;
    const ms = this.d.phraseMs();
    if (ms === undefined) return;
    const now = this.d.clock.now();
    if (this.cadence.nextPreviewAt(now, ms) > now) return;
    void this.run(ms);
  }

  /** The open phrase is cut: a preview of it that runs is aborted now, before its final is sent. */
  cut(): void {
    this.abort('its phrase was cut');
    this.cadence.newPhrase();
    this.agreement = new LocalAgreement();
    this.phrase++;
  }

  /** A final decode took `ms`: the cadence keeps its gap after it too. */
  decoded(ms: number): void {
    this.cadence.decoded(this.d.clock.now(), ms);
  }

  /** The dictation ended (or was cancelled): no preview runs or starts any more. */
  stop(): void {
    this.stopped = true;
    this.abort('the dictation ended');
  }

  private abort(why: string): void {
    const r = this.running;
    if (!r) return;
    this.running = undefined;
    r.abort(new AbortError(why));
  }

  private async run(phraseMs: number): Promise<void> {
    const controller = new AbortController();
    this.running = controller;
    const phrase = this.phrase;
    this.cadence.previewed(phraseMs);
    const pcm = this.d.audio();
    const clock = this.d.clock;
    const t0 = clock.now();
    try {
      const prompt = this.d.prompt();
      const t = await this.d.engine.transcribe(pcm, {
        language: this.d.language,
        ...(prompt !== undefined ? { prompt } : {}),
        audioCtx: 'auto',
        priority: 'interactive',
        greedy: true,
        noTimestamps: true,
        temperatureFallback: false,
        signal: controller.signal,
      });
      const t1 = clock.now();
      if (controller.signal.aborted || this.stopped || phrase !== this.phrase) {
        this.d.stats.aborted++;
        return;
      }
      this.cadence.decoded(t1, t1 - t0);
      this.d.stats.previews++;
      this.d.stats.ms += t1 - t0;
      const a = this.agreement.update(t.text);
      this.d.onText({ committed: a.committed.join(' '), tail: a.tail.join(' ') });
    } catch (e) {
      if (controller.signal.aborted) this.d.stats.aborted++;
      else {
        // a preview is a hint: its failure costs the live text, never the final
        this.d.stats.failed++;
        this.cadence.decoded(clock.now(), clock.now() - t0);
        if (this.d.stats.failed === 1) this.d.log?.(`preview: ${(e as Error).message} (the final text is not affected)`);
      }
    } finally {
      if (this.running === controller) this.running = undefined;
    }
  }
}

export const samplesToMs = (n: number): number => (n / WHISPER_RATE) * 1000;
