/**
 * The README's "Every setting" table is the schema's own account of itself (lib/config/reference.ts):
 * every key, its values, its default and its description, so the README cannot drift from the code.
 * `node bin/prism-dictate.js config keys --markdown` prints the table to paste between the markers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configKeys, configKeysMarkdown } from '../lib/config/reference.js';
import { configSchema } from '../lib/config/schema.js';
import { root } from './helpers.js';

const BEGIN = '<!-- config-keys:begin -->';
const END = '<!-- config-keys:end -->';

describe('the configuration reference', () => {
  it('the README carries the generated table between its markers, unchanged', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const from = readme.indexOf(BEGIN);
    const to = readme.indexOf(END);
    expect(from, 'README: the begin marker').toBeGreaterThan(-1);
    expect(to, 'README: the end marker after it').toBeGreaterThan(from);
    const table = readme.slice(from + BEGIN.length, to).trim();
    // on a mismatch: node bin/prism-dictate.js config keys --markdown, and paste it between the markers
    expect(table).toBe(configKeysMarkdown());
  });

  it('names every leaf of the schema once, each with a description and, where it has one, the default the schema gives', () => {
    const keys = configKeys();
    const names = keys.map((k) => k.key);
    expect(new Set(names).size).toBe(names.length);
    const defaults = configSchema.parse({}) as Record<string, unknown>;
    const at = (path: string): unknown => path.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown> | undefined)?.[p], defaults);
    for (const k of keys) {
      expect(k.description, `${k.key} has no description in lib/config/schema.ts`).not.toBe('');
      expect(k.default, k.key).toBe(at(k.key) === undefined ? '—' : JSON.stringify(at(k.key)));
    }
    // the leaves of the parsed defaults are all listed (an object value such as replacements is one key)
    const leaves = (o: Record<string, unknown>, prefix = ''): string[] =>
      Object.entries(o).flatMap(([k, v]) =>
        v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 ? leaves(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`],
      );
    for (const leaf of leaves(defaults)) expect(names).toContain(leaf);
    // and the ranges are the schema's: a value at the edge passes, one past it is refused
    expect(keys.find((k) => k.key === 'vad.hangoverMs')?.values).toBe('150–2000');
    expect(configSchema.safeParse({ vad: { hangoverMs: 2000 } }).success).toBe(true);
    expect(configSchema.safeParse({ vad: { hangoverMs: 2001 } }).success).toBe(false);
    expect(keys.find((k) => k.key === 'hotkey.mode')?.values).toBe('`hold` \\| `toggle` \\| `hybrid`');
    expect(keys.find((k) => k.key === 'audio.idlePeriodMs')?.values).toBe('`0` \\| 100–1000');
  });
});
