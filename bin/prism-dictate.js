#!/usr/bin/env node
import { quickAction, runAction } from '../dist/cli/quick.js';

// `prism-dictate … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

function fail(e) {
  process.stderr.write(`prism-dictate: ${e?.stack ?? e}\n`);
  process.exitCode = 1;
}

// begin/end/toggle… (a key binding may repeat them dozens of times a second): only the socket client loads
const quick = quickAction(process.argv.slice(2));
if (quick) runAction(quick.action, { json: quick.json }).catch(fail);
else import('../dist/cli/main.js').then(({ main }) => main(process.argv)).catch(fail);
