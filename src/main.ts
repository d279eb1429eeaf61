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

async function main(): Promise<void> {
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
    server
      .close()
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
