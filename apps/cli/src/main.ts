#!/usr/bin/env node
// flox-k8s: the command-line entry (the package's bin, bundled as bundle/flox-k8s.mjs).
import { runCli } from './cli.ts';
import { readEnv } from './env.ts';

const abort = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // First signal: stop the work and clean up; a second one ends the process at once.
    abort.abort(new Error(`interrupted (${signal})`));
    process.once(signal, () => process.exit(130));
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  env: readEnv(),
  stdout: process.stdout,
  stderr: process.stderr,
  stderrIsTTY: process.stderr.isTTY === true,
  stdin: () => process.stdin,
  signal: abort.signal,
});
