/** One table of error codes, checked at every boundary: the README, the CLI's exit codes, the wire, the native side. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../lib/cli/exit.js';
import { AbortError, ERROR_TABLE, fromNative, isErrorCode, WhisperError } from '../lib/errors.js';
import { errorFromWire } from '../lib/service/client.js';
import { root } from './helpers.js';

describe('the error table', () => {
  it('the README lists every code with its exit code, and nothing else', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `([A-Z_]+)` \| (\d+) \| .+ \|$/gm)].map((m) => [m[1], Number(m[2])]);
    expect(rows).toEqual(Object.entries(ERROR_TABLE).map(([code, v]) => [code, v.exit]));
  });

  it('the CLI exits with the code the table gives', () => {
    for (const [code, v] of Object.entries(ERROR_TABLE)) expect(exitCodeFor(new WhisperError(code as keyof typeof ERROR_TABLE, 'x')), code).toBe(v.exit);
    expect(exitCodeFor(new Error('plain'))).toBe(1);
  });

  it('every code the native addon throws is in the table', () => {
    const dir = join(root, 'native');
    const thrown = new Set<string>();
    // the codes on the lines that throw or reject: Failure(…), Rejected(…), CodedError(…), a worker's own code
    for (const f of readdirSync(dir))
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n'))
        if (/\b(Failure|Rejected|CodedError|PromiseWorker)\(|failure_code = /.test(line)) for (const m of line.matchAll(/"([A-Z][A-Z_]+[A-Z])"/g)) thrown.add(m[1] as string);
    expect(thrown.size).toBeGreaterThan(5);
    for (const c of thrown) expect(isErrorCode(c), `native code ${c}`).toBe(true);
  });

  it('a code from the wire is checked: an unknown one is a PROTOCOL error, ABORTED an AbortError', () => {
    expect(errorFromWire({ code: 'BAD_AUDIO', message: 'short' })).toMatchObject({ code: 'BAD_AUDIO', message: 'short' });
    expect(errorFromWire({ code: 'ABORTED', message: 'stopped' })).toBeInstanceOf(AbortError);
    expect(errorFromWire({ code: 'SOMETHING_NEW', message: 'hm' })).toMatchObject({ code: 'PROTOCOL', message: expect.stringMatching(/unknown error code "SOMETHING_NEW": hm/) });
  });

  it('a code from the native side is checked the same way', () => {
    const coded = (code: string) => Object.assign(new Error('m'), { code });
    expect(fromNative(coded('MODEL_INVALID'))).toMatchObject({ code: 'MODEL_INVALID' });
    expect(fromNative(coded('ABORTED'))).toBeInstanceOf(AbortError);
    expect(fromNative(coded('NOT_OURS'))).toMatchObject({ code: 'TRANSCRIBE_FAILED' });
  });
});
