import fs from 'node:fs';

// Set by the bundle's build (scripts/build-cli.mjs); absent when run from src/ or dist/cli/.
declare const PILOT_CLI_VERSION: string | undefined;

/** The version of this CLI: the bundle's, else package.json's beside src/ or dist/. */
export function cliVersion(): string {
  if (typeof PILOT_CLI_VERSION === 'string') return PILOT_CLI_VERSION;
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}
