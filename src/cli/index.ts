#!/usr/bin/env node
// The `agent-governor` command (package.json `bin`). The program lives in program.ts so tests run it in-process.
import { run } from './program.js';

void run(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  tty: process.stderr.isTTY === true,
}).then((code) => {
  process.exitCode = code;
});
