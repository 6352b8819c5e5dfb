/**
 * The trigger's state machine, apart from any keyboard library so that it can be tested alone.
 * It turns hotkey presses and releases into begin/end of an utterance in three modes:
 * - hold: push-to-talk — press begins, release ends (no silence wait);
 * - toggle: press begins, the next press ends (or the end of speech, decided by the host);
 * - hybrid: press begins at once; a release after holdMs ends it (push-to-talk), a quicker release
 *   latches it like toggle.
 * Key repeat (keydown while the key is already down) is ignored.
 */
export type TriggerMode = 'hold' | 'toggle' | 'hybrid';
export type TriggerAction = 'begin' | 'end' | 'none';
/** idle; held: recording while the key is down; latched: recording, toggled on */
export type TriggerState = 'idle' | 'held' | 'latched';

export class TriggerMachine {
  private keyDown = false;
  private pressedAt = 0;
  private current: TriggerState = 'idle';
  /** a press that ended a latched utterance: its release does nothing */
  private swallowRelease = false;

  constructor(
    readonly mode: TriggerMode,
    readonly holdMs = 500,
  ) {}

  get state(): TriggerState {
    return this.current;
  }

  /** The end of speech may end the utterance only when no key is holding it open. */
  get endsOnSilence(): boolean {
    return this.current === 'latched';
  }

  down(atMs: number): TriggerAction {
    if (this.keyDown) return 'none'; // key repeat
    this.keyDown = true;
    this.pressedAt = atMs;
    if (this.current === 'idle') {
      this.current = this.mode === 'toggle' ? 'latched' : 'held';
      return 'begin';
    }
    // A press while latched ends the utterance.
    this.current = 'idle';
    this.swallowRelease = true;
    return 'end';
  }

  up(atMs: number): TriggerAction {
    if (!this.keyDown) return 'none';
    this.keyDown = false;
    if (this.swallowRelease) {
      this.swallowRelease = false;
      return 'none';
    }
    if (this.current !== 'held') return 'none';
    if (this.mode === 'hybrid' && atMs - this.pressedAt < this.holdMs) {
      this.current = 'latched';
      return 'none';
    }
    this.current = 'idle';
    return 'end';
  }

  /** Begin/end from elsewhere (socket commands, the end of speech, cancel) keep the machine in step. */
  began(): void {
    if (this.current === 'idle') this.current = 'latched';
  }

  ended(): void {
    this.current = 'idle';
    // A key still down was the one that started it: its release must not toggle anything.
    this.swallowRelease = this.keyDown;
  }
}
