/**
 * The trigger's state machine, apart from any keyboard library so that it can be tested alone (the
 * caller passes each event's time). It turns hotkey presses and releases, and the socket's commands,
 * into the start and end of a dictation, which is either
 * - held (push-to-talk): only the release (or `end`) ends it; pauses inside are kept, or
 * - latched: it runs until the next press (or `toggle`/`end`), `cancel`, or the host's silence limit.
 * Modes: hold — press begins held, release ends; toggle — press begins latched, the next press ends;
 * hybrid — press begins held, a release within holdMs latches it instead of ending it.
 * A press while a dictation runs always ends it: it never starts a second one. Key repeat (a press
 * while the key is already down) is ignored.
 */
export type TriggerMode = 'hold' | 'toggle' | 'hybrid';
/** begin: a dictation starts; end: it ends; latch: the held dictation becomes latched; none: nothing */
export type TriggerAction = 'begin' | 'end' | 'latch' | 'none';
export type TriggerState = 'idle' | 'held' | 'latched';

export class TriggerMachine {
  private keyDown = false;
  private pressedAt = 0;
  private current: TriggerState = 'idle';
  /** the key down now ended a dictation (or was there when one ended): its release does nothing */
  private swallowRelease = false;

  constructor(
    readonly mode: TriggerMode,
    readonly holdMs = 500,
  ) {}

  get state(): TriggerState {
    return this.current;
  }

  /** whether the key is down (a press seen, its release not yet) */
  get pressed(): boolean {
    return this.keyDown;
  }

  down(atMs: number): TriggerAction {
    if (this.keyDown) return 'none'; // key repeat
    this.keyDown = true;
    this.pressedAt = atMs;
    if (this.current === 'idle') {
      this.current = this.mode === 'toggle' ? 'latched' : 'held';
      return 'begin';
    }
    // A press while a dictation runs (latched, or held open by the socket) ends it.
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
      return 'latch';
    }
    this.current = 'idle';
    return 'end';
  }

  /** A dictation begun elsewhere (socket `begin`: held; `toggle`: latched) keeps the machine in step. */
  began(how: 'held' | 'latched'): void {
    if (this.current === 'idle') this.current = how;
  }

  /** Ended elsewhere (socket, silence limit, cancel, a lost microphone). */
  ended(): void {
    this.current = 'idle';
    // A key still down was the one that started it: its release must not do anything.
    this.swallowRelease = this.keyDown;
  }
}
