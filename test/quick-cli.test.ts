/**
 * `prism-dictate begin|end|toggle…` is cheap (issue 26, item 4b): a key binding with auto-repeat starts
 * dozens a second, so bin/ takes a path that loads only the socket client, never the CLI, the host or
 * the native addon.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quickAction } from '../lib/cli/quick.js';
import { root } from './helpers.js';

/** every lib file `file` loads, following relative imports (type-only imports cost nothing at run time) */
function loads(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(/^(?:import|export)(?!\s+type\s)[^;]*?from\s*'(\.{1,2}\/[^']+)'/gms)) loads(resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts')), seen);
  return seen;
}

describe('the quick path of the dictation commands', () => {
  it('takes exactly `<action>` and `<action> --json`; anything else goes through the full CLI', () => {
    expect(quickAction(['begin'])).toEqual({ action: 'begin', json: false });
    expect(quickAction(['end', '--json'])).toEqual({ action: 'end', json: true });
    expect(quickAction(['toggle'])).toEqual({ action: 'toggle', json: false });
    expect(quickAction(['begin', '--help'])).toBeUndefined();
    expect(quickAction(['begin', '--json', 'x'])).toBeUndefined();
    expect(quickAction(['history'])).toBeUndefined();
    expect(quickAction([])).toBeUndefined();
  });

  it('bin/ uses it, and it loads neither the CLI, the host, the engine nor the native addon', () => {
    expect(readFileSync(join(root, 'bin/prism-dictate.js'), 'utf8')).toMatch(/quickAction\(process\.argv\.slice\(2\)\)/);
    const files = [...loads(join(root, 'lib/cli/quick.ts'))].map((f) => f.slice(join(root, 'lib').length + 1));
    expect(files).toContain('service/client.ts');
    for (const f of files) expect(f).not.toMatch(/^(cli\/(main|dictate)|host\/(start|dictation)|engine\/|native)\.?/);
  });
});
