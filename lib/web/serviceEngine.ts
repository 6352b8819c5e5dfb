/**
 * The running service as the API's engine. A ServiceClient is done for once its connection drops;
 * this one reconnects on the next request, so `serve` outlives a `prism-dictate stop && start`.
 */
import type { TranscribeOptions, Transcript } from '../model.js';
import { ServiceClient } from '../service/client.js';
import type { ApiHealth } from './api.js';

export class ServiceEngine {
  private client: Promise<ServiceClient> | undefined;

  constructor(
    private readonly socketPath: string,
    first: ServiceClient,
  ) {
    this.client = Promise.resolve(first);
  }

  private connection(): Promise<ServiceClient> {
    this.client ??= ServiceClient.connect(this.socketPath, 1000);
    const c = this.client;
    c.catch(() => {
      if (this.client === c) this.client = undefined;
    });
    return c;
  }

  /** Forgets a connection that failed, so the next call opens a new one. */
  private async use<T>(call: (c: ServiceClient) => Promise<T>): Promise<T> {
    const pending = this.connection();
    const c = await pending;
    try {
      return await call(c);
    } catch (e) {
      if ((e as { code?: string }).code === 'SERVICE_UNAVAILABLE' && this.client === pending) {
        this.client = undefined;
        c.close();
      }
      throw e;
    }
  }

  transcribe(pcm: Float32Array, options: TranscribeOptions): Promise<Transcript> {
    return this.use((c) => c.transcribe(pcm, options));
  }

  async health(): Promise<ApiHealth> {
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
