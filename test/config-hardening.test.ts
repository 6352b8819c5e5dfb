/** The config loader against hostile files: reserved keys (__proto__ & co.) and absurd durations. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigInput, loadConfig, mergeConfig, validateConfig } from '../lib/config/load.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prism-config-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function load(text: string): Promise<unknown> {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, text);
  try {
    return loadConfig({ file });
  } catch (e) {
    return e;
  }
}

describe('reserved keys are unknown settings', () => {
  it('a top-level "__proto__" in the file (which the parser turns into a prototype) is refused, naming it', async () => {
    const e = await load('{ "__proto__": { "model": "evil.bin" } }');
    expect(e).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/\n\s+__proto__: Unrecognized key/) });
    // even an empty one, which would change nothing visible
    expect(await load('// comment\n{ "__proto__": {}, }')).toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('nested ones too, inside sections and records, with their path', async () => {
    const e = await load('{ "transcription": { "replacements": { "__proto__": { "a": "b" } } }, "hotkey": { "constructor": 1 }, "vad": { "prototype": {} } }');
    expect(e).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/has 3 bad settings/) });
    const message = (e as Error).message;
    expect(message).toMatch(/transcription\.replacements\.__proto__: Unrecognized key/);
    expect(message).toMatch(/hotkey\.constructor: Unrecognized key/);
    expect(message).toMatch(/vad\.prototype: Unrecognized key/);
  });

  it('an object from JSON.parse (own __proto__ key) or with a foreign prototype is refused by validateConfig', () => {
    const parsed = JSON.parse('{ "transcription": { "replacements": { "__proto__": { "x": "y" } } } }') as ConfigInput;
    expect(() => validateConfig(parsed)).toThrow(/transcription\.replacements\.__proto__: Unrecognized key/);
    const inherited = Object.create({ model: 'evil.bin' }) as ConfigInput;
    expect(() => validateConfig(inherited)).toThrow(/__proto__: Unrecognized key/);
  });

  it('mergeConfig keeps a __proto__ key a key (never a prototype), so validation sees it', () => {
    const merged = mergeConfig({}, JSON.parse('{ "__proto__": { "model": "evil.bin" } }') as ConfigInput);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(merged.model).toBeUndefined();
    expect(() => validateConfig(merged)).toThrow(/__proto__: Unrecognized key/);
  });

  it('a plain file still loads, and "constructor" is a phrase like any other among the replacements', async () => {
    expect(await load('{ "model": "tiny.en", "transcription": { "replacements": { "new line": "\\n", "constructor": "ctor" } } }')).toMatchObject({
      config: { model: 'tiny.en', transcription: { replacements: { 'new line': '\n', constructor: 'ctor' } } },
    });
  });
});

describe('durations are bounded', () => {
  /** every key of the defaults whose name ends in Ms, with its path, plus the optional slowMs */
  function durationKeys(o: Record<string, unknown>, path: string[] = []): string[][] {
    return Object.entries(o).flatMap(([k, v]) =>
      typeof v === 'object' && v !== null && !Array.isArray(v) ? durationKeys(v as Record<string, unknown>, [...path, k]) : k.endsWith('Ms') ? [[...path, k]] : [],
    );
  }
  const at = (path: string[], value: number): ConfigInput => path.reduceRight<unknown>((v, k) => ({ [k]: v }), value) as ConfigInput;

  it('probePrimaryMs: 1e12 (which a timer would clamp to 1 ms) is refused; 0 (never) and an hour are fine', () => {
    expect(() => validateConfig({ probePrimaryMs: 1e12 })).toThrow(/probePrimaryMs/);
    expect(validateConfig({ probePrimaryMs: 0 }).probePrimaryMs).toBe(0);
    expect(validateConfig({ probePrimaryMs: 3_600_000 }).probePrimaryMs).toBe(3_600_000);
    expect(() => validateConfig({ slowMs: 1e12 })).toThrow(/slowMs/);
    expect(validateConfig({ slowMs: 800 }).slowMs).toBe(800);
  });

  it('every duration setting refuses 2^31 ms and more (Node timers clamp those to 1 ms)', () => {
    const keys = [...durationKeys(validateConfig({}) as unknown as Record<string, unknown>), ['slowMs']];
    expect(keys.length).toBeGreaterThan(10);
    for (const path of keys) {
      expect(() => validateConfig(at(path, 2 ** 31)), path.join('.')).toThrow(new RegExp(path.join('\\.')));
      expect(() => validateConfig(at(path, 1e12)), path.join('.')).toThrow(/CONFIG|bad setting/);
    }
  });
});

describe('tokens', () => {
  it('a dashboard or remote token outside printable ASCII (which an Authorization header cannot carry) is refused; + & # % are fine', () => {
    expect(() => validateConfig({ dashboard: { token: 'ünïcødé-token-0123456789' } })).toThrow(/dashboard\.token: printable ASCII/);
    expect(() => validateConfig({ dashboard: { token: 'with a space 0123456789' } })).toThrow(/dashboard\.token: printable ASCII/);
    expect(() => validateConfig({ remote: { url: 'http://127.0.0.1:1', token: 'tab\there' } })).toThrow(/remote\.token: printable ASCII/);
    expect(() => validateConfig({ dashboard: { token: 'a+b&c#d%e-0123456789' } })).not.toThrow();
  });
});
