/**
 * A remote engine first, the local service when the remote one cannot be reached: the daemon's
 * engine for `start --engine http://host:port` with `remote.fallback` on. A request that fails
 * because the remote server is unreachable, timed out or broke (SERVICE_UNAVAILABLE, QUEUE_FULL) is
 * transcribed locally; then the local engine takes the requests for `retryRemoteMs` before the remote
 * one is tried again. Errors that say the request itself is wrong (a refused token, bad audio) are
 * not hidden behind the fallback: they reach the user.
 */
import { type Clock, systemClock } from '../clock.js';
import { WhisperError } from '../errors.js';
import type { TranscribeOptions, Transcript } from '../model.js';
import type { Engine } from './contract.js';

const FALL_BACK_ON = new Set(['SERVICE_UNAVAILABLE', 'QUEUE_FULL']);

export class FallbackEngine implements Engine {
  private localUntil = 0;

  constructor(
    private readonly remote: Engine,
    private readonly local: Engine,
    private readonly o: { url: string; retryRemoteMs?: number; notify: (message: string) => void; clock?: Pick<Clock, 'now'> },
  ) {}

  /** Which engine the next request goes to. */
  get current(): 'remote' | 'local' {
    return this.now() < this.localUntil ? 'local' : 'remote';
  }

  async transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<Transcript> {
    if (this.current === 'local') return this.local.transcribe(pcm, options);
    const wasLocal = this.localUntil > 0;
    try {
      const t = await this.remote.transcribe(pcm, options);
      if (wasLocal) this.o.notify(`the remote engine ${this.o.url} answers again; dictations go there`);
      this.localUntil = 0;
      return t;
    } catch (e) {
      if (!(e instanceof WhisperError) || !FALL_BACK_ON.has(e.code) || options.signal?.aborted) throw e;
      if (!wasLocal) this.o.notify(`the remote engine failed (${e.message}); transcribing on this machine`);
      this.localUntil = this.now() + (this.o.retryRemoteMs ?? 60_000);
      return this.local.transcribe(pcm, options);
    }
  }

  private now(): number {
    return (this.o.clock ?? systemClock).now();
  }
}
