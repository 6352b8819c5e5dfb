#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// `prism-dictate … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

main(process.argv).catch((e) => {
  process.stderr.write(`prism-dictate: ${e?.stack ?? e}\n`);
  process.exitCode = 1;
});
