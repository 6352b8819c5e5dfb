/**
 * Where the config file lives and how the effective config is made: defaults, then the file
 * (--config FILE, else config.json in PRISM_DICTATE_HOME or the platform's config folder), then
 * PRISM_MODEL, then command-line flags — validated once, with every bad setting named.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
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

/** Deep merge of plain objects; undefined values in `over` leave `base` alone. */
export function mergeConfig(base: ConfigInput, over: ConfigInput): ConfigInput {
  const out: ConfigInput = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isObject(v) && isObject(out[k]) ? mergeConfig(out[k] as ConfigInput, v) : v;
  }
  return out;
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
  return parsed;
}

/** Validates a config object; a WhisperError CONFIG_INVALID lists each bad setting by its path. */
export function validateConfig(input: ConfigInput, source = 'the config'): Config {
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
