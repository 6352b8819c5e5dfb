/**
 * The running service as the API's engine. A ServiceClient is done for once its connection drops;
 * this one opens a new connection for the next request (a connection known to be gone is never
 * used), and a request whose connection fails under it is sent once more on a new one, so `serve`
 * outlives a `prism-dictate stop && start` without a single 503.
 */
import { realpathSync } from 'node:fs';
import type { Engine } from '../engine/contract.js';
import type { TranscribeOptions, Transcript } from '../model.js';
import { resolveModel } from '../models/pull.js';
import { ServiceClient } from './client.js';
import { servicePaths } from './home.js';
import type { Welcome } from './messages.js';

/** What the running service says about itself, in short (the HTTP API's /health). */
export interface ServiceHealth {
  state: string;
  backend: string;
  model: string;
}

export interface FindOptions {
  /** the model asked for (a path or a name, as --model takes it): a service that runs another is not used */
  model?: string;
  /** how long to wait for the socket to accept (default 300 ms; the handshake gets at least 2 s) */
  timeoutMs?: number;
  socketPath?: string;
}

/** The running service when it serves the model asked for; else, when one runs another model, what it said about itself. */
export type Found = { engine: ServiceEngine; other?: undefined } | { engine?: undefined; other?: Welcome };

/** The file a --model value names, followed through links; undefined when there is none (not downloaded, no such file). */
function modelFile(nameOrPath: string): string | undefined {
  try {
    return realpathSync(resolveModel(nameOrPath));
  } catch {
    return undefined;
  }
}

/**
 * Whether `asked` (a path or model name) is the model a service runs (`served`: the file its engine
 * loaded, or the name it was started with while it still loads): the same text, or the same file.
 */
export function sameModel(asked: string, served: string): boolean {
  if (asked === served) return true;
  const file = modelFile(asked);
  return file !== undefined && file === modelFile(served);
}

export class ServiceEngine implements Engine {
  private client: Promise<ServiceClient> | undefined;

  /** what the service said when this engine first connected: its pid, backend, model */
  readonly welcome: Welcome;

  constructor(
    private readonly socketPath: string,
    first: ServiceClient,
  ) {
    this.client = Promise.resolve(first);
    this.welcome = first.welcome;
  }

  /**
   * The running service when one answers within `timeoutMs` and runs the model asked for (any model
   * when none is asked for), else undefined: then callers load a model of their own.
   */
  static async running(o: FindOptions = {}): Promise<ServiceEngine | undefined> {
    return (await ServiceEngine.find(o)).engine;
  }

  /** As running(), and when the service runs another model than the one asked for, its welcome (pid, backend, model) in `other`. */
  static async find(o: FindOptions = {}): Promise<Found> {
    const socketPath = o.socketPath ?? servicePaths().socket;
    const first = await ServiceClient.connect(socketPath, o.timeoutMs ?? 300).catch(() => undefined);
    if (!first) return {};
    if (o.model !== undefined && !sameModel(o.model, first.welcome.model)) {
      first.close();
      return { other: first.welcome };
    }
    return { engine: new ServiceEngine(socketPath, first) };
  }

  private connection(): Promise<ServiceClient> {
    this.client ??= ServiceClient.connect(this.socketPath, 1000);
    const c = this.client;
    c.catch(() => {
      if (this.client === c) this.client = undefined;
    });
    return c;
  }

  /** Forgets a connection that failed, so the next call opens a new one; a call that failed on one is tried once more. */
  private async use<T>(call: (c: ServiceClient) => Promise<T>, signal?: AbortSignal): Promise<T> {
    let failures = 0;
    for (let opened = 0; ; opened++) {
      const pending = this.connection();
      const c = await pending;
      if (!c.connected && opened === 0) {
        // dropped while idle (the service stopped or restarted): never send on it
        this.forget(pending, c);
        continue;
      }
      try {
        return await call(c);
      } catch (e) {
        if ((e as { code?: string }).code !== 'SERVICE_UNAVAILABLE') throw e;
        this.forget(pending, c);
        if (++failures > 1 || signal?.aborted) throw e;
      }
    }
  }

  private forget(pending: Promise<ServiceClient>, c: ServiceClient): void {
    if (this.client === pending) this.client = undefined;
    c.close();
  }

  transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<Transcript> {
    return this.use((c) => c.transcribe(pcm, options), options.signal);
  }

  async health(): Promise<ServiceHealth> {
    const s = await this.use((c) => c.status());
    return { state: String(s.state ?? 'ready'), backend: String(s.backend), model: String((s.model as { path?: string } | undefined)?.path ?? '') };
  }

  close(): void {
    void this.client?.then(
      (c) => c.close(),
      () => undefined,
    );
    this.client = undefined;
  }
}
