/**
 * Every configuration key, read from the schema itself: its path, what values it takes, its default and
 * what it does (the schema's descriptions). `prism-dictate config keys` prints it, and the README's
 * table is this text (test/config-reference.test.ts keeps them equal), so neither can drift from the code.
 */
import type { z } from 'zod';
import { configSchema } from './schema.js';

export interface ConfigKey {
  /** dotted path, e.g. `vad.hangoverMs` */
  key: string;
  /** the values it takes, in words: `150–2000`, `hold | toggle | hybrid`, `true | false`, … */
  values: string;
  /** the default as JSON, or `—` when the key has none (left out: off, or chosen at run time) */
  default: string;
  description: string;
}

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;

/** The schema under defaults, optionals, prefaults and preprocessing: the one that names the values. */
function inner(s: z.ZodType): z.ZodType {
  let t = s;
  for (;;) {
    const d = defOf(t);
    if (d.type === 'default' || d.type === 'prefault' || d.type === 'optional') t = d.innerType as z.ZodType;
    else if (d.type === 'pipe') t = d.out as z.ZodType;
    else return t;
  }
}

const num = (n: number): string => (Number.isInteger(n) && Math.abs(n) >= 10_000 ? n.toLocaleString('en-US') : String(n));

/** The values a leaf takes, in the README's words. */
function values(s: z.ZodType): string {
  const t = inner(s);
  const d = defOf(t);
  switch (d.type) {
    case 'boolean':
      return '`true` \\| `false`';
    case 'enum':
      return Object.values(d.entries as Record<string, string>)
        .map((v) => `\`${v}\``)
        .join(' \\| ');
    case 'literal':
      return (d.values as unknown[]).map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
    case 'union':
      return (d.options as z.ZodType[]).map(values).join(' \\| ');
    case 'number': {
      const n = t as z.ZodNumber;
      const int = n.isInt ? 'integer' : 'number';
      const lo = n.minValue !== null && Number.isFinite(n.minValue) && Math.abs(n.minValue) < Number.MAX_SAFE_INTEGER ? num(n.minValue) : undefined;
      const hi = n.maxValue !== null && Number.isFinite(n.maxValue) && Math.abs(n.maxValue) < Number.MAX_SAFE_INTEGER ? num(n.maxValue) : undefined;
      if (lo !== undefined && hi !== undefined) return `${lo}–${hi}`;
      if (lo !== undefined) return `${int} ≥ ${lo}`;
      return int;
    }
    case 'string':
      return 'text';
    case 'record':
      return '{ "spoken": "written" }';
    default:
      return d.type;
  }
}

function walk(shape: Record<string, z.ZodType>, prefix: string, defaults: Record<string, unknown>, out: ConfigKey[]): void {
  for (const [name, schema] of Object.entries(shape)) {
    const key = prefix + name;
    const t = inner(schema);
    const value = defaults[name];
    if (defOf(t).type === 'object') {
      walk((t as z.ZodObject).shape as Record<string, z.ZodType>, `${key}.`, (value ?? {}) as Record<string, unknown>, out);
      continue;
    }
    out.push({ key, values: values(schema), default: value === undefined ? '—' : JSON.stringify(value), description: schema.description ?? t.description ?? '' });
  }
}

/** Every key of the configuration, in the schema's order. */
export function configKeys(): ConfigKey[] {
  const out: ConfigKey[] = [];
  walk(configSchema.shape as Record<string, z.ZodType>, '', configSchema.parse({}) as Record<string, unknown>, out);
  return out;
}

/** The keys as a Markdown table (the README's "Every setting" table). */
export function configKeysMarkdown(): string {
  const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const rows = configKeys().map((k) => `| \`${k.key}\` | ${k.values} | ${k.default === '—' ? '—' : `\`${cell(k.default)}\``} | ${cell(k.description)} |`);
  return ['| key | values | default | what it does |', '|---|---|---|---|', ...rows].join('\n');
}
