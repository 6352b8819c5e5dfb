/**
 * The part of `ws` (8.x, which ships no types) that the realtime server uses, and the client options
 * the `openai/realtime/ws` client's declarations name.
 */
declare module 'ws' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage } from 'node:http';
  import type { Duplex } from 'node:stream';
  import type { SecureContextOptions } from 'node:tls';

  type RawData = Buffer | ArrayBuffer | Buffer[];

  class WebSocket extends EventEmitter {
    static readonly OPEN: 1;
    readonly readyState: 0 | 1 | 2 | 3;
    readonly protocol: string;
    readonly bufferedAmount: number;
    constructor(address: string | URL, options?: ClientOptions);
    constructor(address: string | URL, protocols?: string | string[], options?: ClientOptions);
    send(data: string | Buffer, cb?: (err?: Error) => void): void;
    close(code?: number, reason?: string): void;
    terminate(): void;
    on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): this;
    on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
    on(event: 'error', listener: (err: Error) => void): this;
    on(event: 'open', listener: () => void): this;
    on(event: 'unexpected-response', listener: (req: unknown, res: IncomingMessage) => void): this;
    on(event: string, listener: (...args: never[]) => void): this;
  }

  interface ClientOptions extends SecureContextOptions {
    headers?: Record<string, string>;
    maxPayload?: number;
    rejectUnauthorized?: boolean;
    [key: string]: unknown;
  }

  interface ServerOptions {
    noServer?: boolean;
    maxPayload?: number;
    perMessageDeflate?: boolean;
    handleProtocols?: (protocols: Set<string>, req: IncomingMessage) => string | false;
  }

  class WebSocketServer extends EventEmitter {
    constructor(options: ServerOptions);
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocket, req: IncomingMessage) => void): void;
    close(cb?: (err?: Error) => void): void;
  }

  export { type ClientOptions, type RawData, type ServerOptions, WebSocket, WebSocketServer };
  export default WebSocket;
}
