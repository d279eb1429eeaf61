#!/usr/bin/env node
/**
 * The composition root: config -> logger -> adapters -> pipeline -> HTTP -> listen; signals.
 * The only module that reads process.env or calls process.exit.
 */
import path from 'node:path';
import { pino } from 'pino';
import { dataPaths, loadConfig } from './config.js';
import { ConfigError } from './domain/errors.js';
import { createServer, type PilotServer } from './server.js';
import { restoreBackup, writeBackup } from './maintenance/backup.js';

const USAGE = `usage: pilot-server                 run Pilot (settings from the environment, see README)
       pilot-server backup FILE     write a backup of the running Pilot's state to FILE (.tar.gz)
       pilot-server restore FILE    restore FILE into a fresh PILOT_DATA_DIR, before starting Pilot
`;

/** backup and restore: one-shot maintenance commands next to a running (or stopped) server. */
async function maintenance(command: string, file: string | undefined): Promise<void> {
  if (!file) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  try {
    const config = loadConfig(process.env);
    const paths = dataPaths(config.dataDir);
    if (command === 'backup') {
      const manifest = await writeBackup(paths, config.instance, path.resolve(file));
      process.stdout.write(`backup written to ${path.resolve(file)}: ${manifest.apps} app(s), ${manifest.releases} release(s)\n`);
    } else {
      const manifest = await restoreBackup(paths, path.resolve(file));
      process.stdout.write(
        `restored the backup of ${manifest.createdAt} into ${path.resolve(config.dataDir)}: ${manifest.apps} app(s), ${manifest.releases} release(s).\n` +
          `Start Pilot with PILOT_INSTANCE=${manifest.instance}${manifest.instance === config.instance ? '' : ` (this environment says ${config.instance})`}.\n`,
      );
    }
  } catch (error) {
    // One line a human can act on (no path, permission or disk problem needs a stack trace).
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`pilot-server ${command}: ${message}\n`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  const [command, file] = process.argv.slice(2);
  if (command === 'backup' || command === 'restore') return maintenance(command, file);
  if (command !== undefined) {
    process.stderr.write(command === '--help' || command === 'help' ? USAGE : `pilot-server: unknown command ${command}\n${USAGE}`);
    process.exit(command === '--help' || command === 'help' ? 0 : 2);
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`pilot: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = pino({ level: config.logLevel });
  let server: PilotServer;
  try {
    server = await createServer(config, logger);
  } catch (error) {
    // What only the engine can tell (PILOT_SCHEDULER=swarm on an engine that is no manager).
    if (error instanceof ConfigError) {
      console.error(`pilot: ${error.message}`);
      process.exit(2);
    }
    logger.fatal({ err: error }, 'Pilot could not start');
    process.exit(1);
  }
  if (server.generatedAdminToken) {
    const file = dataPaths(config.dataDir).adminTokenFile;
    process.stdout.write(
      `\nPilot generated the admin token (shown once; also saved to ${file}):\n\n  ${server.generatedAdminToken}\n\n`,
    );
  }
  logger.info({ address: server.address, domain: config.domain, dataDir: path.resolve(config.dataDir), pid: process.pid }, 'Pilot is listening');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping; apps keep running');
    // Old releases still draining are retired by the next start: a restart (an upgrade) does not wait for them.
    server
      .close({ retirements: 'leave' })
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
