#!/usr/bin/env node
/** `pilot`: the command line of a Pilot server, as `heroku` is Heroku's. */
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';
import { CliError } from './errors.js';

// A reader that stopped early (`pilot --help | head`) is no error: stop quietly, as git does.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(0);
  });
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander printed its message (or the help) already.
    process.exitCode = error.exitCode;
  } else if (error instanceof CliError) {
    process.stderr.write(`pilot: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`pilot: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
