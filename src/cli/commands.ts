import type { Command } from 'commander';
import { registerAppCommands } from './commands/apps.js';
import { registerCertificateCommands } from './commands/certs.js';
import { registerConfigCommands } from './commands/config.js';
import { registerCronCommands } from './commands/cron.js';
import { registerDeployCommand } from './commands/deploy.js';
import { registerDomainCommands } from './commands/domains.js';
import { registerEventCommands, registerWebhookCommands } from './commands/events.js';
import { registerGitCommands } from './commands/git.js';
import { registerLimitCommands } from './commands/limits.js';
import { registerLinkCommands } from './commands/links.js';
import { registerLoginCommands } from './commands/login.js';
import { registerLogCommands } from './commands/logs.js';
import { registerMaintenanceCommands } from './commands/maintenance.js';
import { registerMetricsCommands } from './commands/metrics.js';
import { registerProcessCommands } from './commands/ps.js';
import { registerReleaseCommands } from './commands/releases.js';
import { registerRepoCommands } from './commands/repo.js';
import { registerRunCommands } from './commands/run.js';
import { registerStorageCommands } from './commands/storage.js';
import { registerTokenCommands } from './commands/tokens.js';

/** Adds every command to the program, in the order `pilot help` lists them. */
export function registerCommands(program: Command): void {
  registerLoginCommands(program);
  registerAppCommands(program);
  registerLinkCommands(program);
  registerConfigCommands(program);
  registerDomainCommands(program);
  registerCertificateCommands(program);
  registerDeployCommand(program);
  registerReleaseCommands(program);
  registerProcessCommands(program);
  registerMaintenanceCommands(program);
  registerRunCommands(program);
  registerLogCommands(program);
  registerMetricsCommands(program);
  registerEventCommands(program);
  registerWebhookCommands(program);
  registerGitCommands(program);
  registerRepoCommands(program);
  registerTokenCommands(program);
  registerStorageCommands(program);
  registerLimitCommands(program);
  registerCronCommands(program);
}
