/** The house rule of the layout (docs/CONTRIBUTING.md): a file imports only from its own floor and lower ones. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './helpers.js';

/** Floors of lib/, lowest first (a folder or a file at the top of lib/), as docs/CONTRIBUTING.md ("Layout") lists them. */
const FLOORS = [
  ['errors.ts'],
  ['clock.ts'],
  ['native.ts'],
  ['audio'],
  ['metrics'],
  ['config'],
  ['models'],
  ['scheduler.ts', 'model.ts'],
  ['engine'],
  ['service'],
  ['host'],
  ['web'],
  ['daemon.ts'],
  ['bench'],
  ['cli'],
  ['index.ts'],
];

const lib = join(root, 'lib');
const floorOf = (file: string): number => {
  const room = relative(lib, file).split('/')[0] as string;
  return FLOORS.findIndex((rooms) => rooms.includes(room));
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Every relative import of a file: `import … from './x.js'`, `export … from`, `import('./x.js')`. */
function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) => resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts')));
}

describe('layout', () => {
  const files = tsFiles(lib);

  it('every file of lib/ is on a floor', () => {
    expect(files.filter((f) => floorOf(f) < 0).map((f) => relative(lib, f))).toEqual([]);
  });

  it('nothing imports upward', () => {
    const upward = files.flatMap((f) =>
      importsOf(f)
        .filter((t) => floorOf(t) > floorOf(f))
        .map((t) => `${relative(lib, f)} → ${relative(lib, t)}`),
    );
    expect(upward).toEqual([]);
    // the check sees imports at all (a broken pattern would pass any tree)
    expect(files.reduce((n, f) => n + importsOf(f).length, 0)).toBeGreaterThan(300);
  });
});
