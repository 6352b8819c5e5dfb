/** A sample clip that ships with the package's whisper.cpp source: jfk.wav (11 s, 16 kHz mono, the famous line). */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The path of jfk.wav, for quick starts, tests and benchmarks. */
export function samplePath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('nodejs-whisper/package.json')), 'cpp', 'whisper.cpp', 'bindings', 'go', 'samples', 'jfk.wav');
}
