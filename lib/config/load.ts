/**
 * Where the config file lives and how the effective config is made: defaults, then the file
 * (--config FILE, else config.json in PRISM_DICTATE_HOME or the platform's config folder), then
 * PRISM_MODEL, then command-line flags — validated once, with every bad setting named.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type ParseError, parse as parseJsonc, printParseErrorCode, visit } from 'jsonc-parser';
import { z } from 'zod';
import { WhisperError } from '../errors.js';
import { type Config, configSchema } from './schema.js';

export function defaultConfigPath(): string {
  if (process.env.PRISM_DICTATE_HOME) return join(process.env.PRISM_DICTATE_HOME, 'config.json');
  const home = homedir();
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'prism-dictate', 'config.json');
  if (process.platform === 'win32') return join(process.env.APPDATA || join(home, 'AppData', 'Roaming'), 'prism-dictate', 'config.json');
  return join(process.env.XDG_CONFIG_HOME || join(home, '.config'), 'prism-dictate', 'config.json');
}

export type ConfigInput = { [key: string]: unknown };

export interface EffectiveConfig {
  config: Config;
  /** the file read, or undefined when there was none */
  file: string | undefined;
}

function isObject(v: unknown): v is ConfigInput {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Names that are no setting anywhere and that JavaScript treats specially: `obj["__proto__"] = v`
 * replaces the object's prototype instead of adding a key (so the strict schema never sees it, and
 * the prototype's values read as settings). Refused wherever they appear, as unknown settings —
 * except that a record of the user's own words (replacements: held in a Map) may have a phrase
 * "constructor" or "prototype"; never "__proto__".
 */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const WORD_RECORDS = new Set(['transcription.replacements']);

function reserved(path: readonly (string | number)[], key: string): boolean {
  return key === '__proto__' || (RESERVED_KEYS.has(key) && !WORD_RECORDS.has(path.join('.')));
}

/** Sets an own key, even one named __proto__ (which plain assignment would turn into a prototype). */
function setOwn(o: ConfigInput, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** Deep merge of plain objects; undefined values in `over` leave `base` alone. */
export function mergeConfig(base: ConfigInput, over: ConfigInput): ConfigInput {
  const out: ConfigInput = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const mine = Object.hasOwn(out, k) ? out[k] : undefined;
    setOwn(out, k, isObject(v) && isObject(mine) ? mergeConfig(mine, v) : v);
  }
  return out;
}

/** The paths of reserved keys in a parsed config, and of objects whose prototype is not a plain object's. */
function reservedPaths(v: unknown, path: string[] = [], out: string[] = []): string[] {
  if (Array.isArray(v)) {
    v.forEach((item, i) => {
      reservedPaths(item, [...path, String(i)], out);
    });
  } else if (typeof v === 'object' && v !== null) {
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) out.push([...path, '__proto__'].join('.'));
    for (const k of Object.keys(v)) {
      if (reserved(path, k)) out.push([...path, k].join('.'));
      else reservedPaths((v as ConfigInput)[k], [...path, k], out);
    }
  }
  return out;
}

/** Reserved keys as the file spells them (the parser has already turned a __proto__ key into a prototype). */
function reservedInText(text: string): string[] {
  const found: string[] = [];
  visit(
    text,
    {
      onObjectProperty: (name, _offset, _length, _line, _column, pathSupplier) => {
        const path = pathSupplier();
        if (reserved(path, name)) found.push([...path, name].join('.'));
      },
    },
    { allowTrailingComma: true, disallowComments: false },
  );
  return found;
}

function refuseReserved(paths: string[], source: string): void {
  if (paths.length === 0) return;
  const lines = [...new Set(paths)].map((p) => `  ${p}: Unrecognized key (a reserved name, never a setting)`);
  throw new WhisperError('CONFIG_INVALID', `${source} has ${lines.length === 1 ? 'a bad setting' : `${lines.length} bad settings`}:\n${lines.join('\n')}`);
}

function readConfigFile(path: string, explicit: boolean): ConfigInput | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return undefined;
    throw new WhisperError('CONFIG_INVALID', `cannot read the config file ${path}: ${(e as Error).message}`);
  }
  // JSON with comments and trailing commas, as editors' settings files (config init writes comments)
  const errors: ParseError[] = [];
  const parsed: unknown = parseJsonc(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const first = errors[0] as ParseError;
    const before = text.slice(0, first.offset);
    const line = before.split('\n').length;
    const column = first.offset - before.lastIndexOf('\n');
    throw new WhisperError('CONFIG_INVALID', `${path} is not valid JSON: ${printParseErrorCode(first.error)} at line ${line}, column ${column}`);
  }
  if (!isObject(parsed)) throw new WhisperError('CONFIG_INVALID', `${path} must hold a JSON object`);
  refuseReserved(reservedInText(text), path);
  return parsed;
}

/** Validates a config object; a WhisperError CONFIG_INVALID lists each bad setting by its path. */
export function validateConfig(input: ConfigInput, source = 'the config'): Config {
  refuseReserved(reservedPaths(input), source);
  const r = configSchema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
  throw new WhisperError('CONFIG_INVALID', `${source} has ${lines.length === 1 ? 'a bad setting' : `${lines.length} bad settings`}:\n${lines.join('\n')}`, {
    cause: z.prettifyError(r.error),
  });
}

export function loadConfig(o: { file?: string; overrides?: ConfigInput } = {}): EffectiveConfig {
  const path = o.file ?? defaultConfigPath();
  const fromFile = readConfigFile(path, o.file !== undefined);
  let input: ConfigInput = fromFile ?? {};
  if (process.env.PRISM_MODEL) input = mergeConfig(input, { model: process.env.PRISM_MODEL });
  if (o.overrides) input = mergeConfig(input, o.overrides);
  const source = fromFile ? path : 'the command line';
  return { config: validateConfig(input, source), file: fromFile ? path : undefined };
}
