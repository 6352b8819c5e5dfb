/** lib/web/origin.ts: which Host and Origin headers a token-less local server accepts. */
import { describe, expect, it } from 'vitest';
import { isLocalHost, isLocalOrigin, isLoopback, isLoopbackPeer } from '../lib/web/origin.js';

describe('loopback names', () => {
  it('localhost, 127/8 and ::1 are loopback; other names and addresses are not', () => {
    for (const h of ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '[::1]']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '192.168.1.2', 'evil.example', 'localhost.evil.example', '127.0.0.1.evil.example', '::', '']) expect(isLoopback(h), h).toBe(false);
  });

  it('peers: IPv4-mapped loopback is loopback', () => {
    expect(isLoopbackPeer('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackPeer('::ffff:10.0.0.1')).toBe(false);
    expect(isLoopbackPeer(undefined)).toBe(false);
  });
});

describe('Host', () => {
  it('a loopback name with the port the server was reached on', () => {
    for (const h of ['127.0.0.1:8178', 'localhost:8178', '[::1]:8178', 'LocalHost:8178']) expect(isLocalHost(h, 8178), h).toBe(true);
  });

  it('refuses what a DNS-rebinding page sends, another port, and malformed values', () => {
    for (const h of ['evil.example:8178', 'evil.example', '127.0.0.1:9999', '127.0.0.1', 'localhost:8178@evil', 'user@localhost:8178', '::1:8178', '', undefined])
      expect(isLocalHost(h, 8178), String(h)).toBe(false);
  });

  it('no port means 80', () => {
    expect(isLocalHost('localhost', 80)).toBe(true);
    expect(isLocalHost('localhost:80', 80)).toBe(true);
  });
});

describe('Origin', () => {
  it('absent, or a page on a loopback name', () => {
    expect(isLocalOrigin(undefined, 8178)).toBe(true);
    for (const o of ['http://127.0.0.1:8178', 'http://localhost:3000', 'https://localhost', 'http://[::1]:8178']) expect(isLocalOrigin(o, 8178), o).toBe(true);
  });

  it('refuses foreign sites, "null" and other schemes', () => {
    for (const o of ['http://evil.example:8178', 'https://evil.example', 'null', 'file://', 'chrome-extension://abc', 'http://127.0.0.1:8178/path', ''])
      expect(isLocalOrigin(o, 8178), o).toBe(false);
  });

  it("samePort: only this server's own pages", () => {
    expect(isLocalOrigin('http://127.0.0.1:8178', 8178, true)).toBe(true);
    expect(isLocalOrigin('http://localhost:3000', 8178, true)).toBe(false);
    expect(isLocalOrigin('https://localhost:8178', 8178, true)).toBe(false);
    expect(isLocalOrigin('http://localhost', 80, true)).toBe(true);
  });
});
