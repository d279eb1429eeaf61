import type { AppRuntime, ReleaseRuntime } from '../domain/ports.js';
import type { DeployScripts } from '../domain/types.js';
import { DeployError } from '../domain/errors.js';
import type { DeployOutput } from './output.js';
import { shellCommand } from './start.js';

/** A command a deploy runs in a one-off container of the new release. */
export interface ReleaseTask {
  /** For the pusher: `release command`, `app.json predeploy script`. */
  readonly label: string;
  /** Names its container apart from the release's other tasks. */
  readonly phase: 'release' | 'predeploy' | 'postdeploy' | 'first-deploy';
  readonly command: string;
}

/**
 * What runs before the new release's processes start, in Dokku's order: app.json
 * `scripts.dokku.predeploy`, then the Procfile's `release:` command. Failing either rejects the release.
 */
export function tasksBeforeStart(release: { readonly scripts: DeployScripts; readonly releaseCommand: string | null }): ReleaseTask[] {
  return [
    ...(release.scripts.predeploy ? [{ label: 'app.json predeploy script', phase: 'predeploy' as const, command: release.scripts.predeploy }] : []),
    ...(release.releaseCommand ? [{ label: 'release command', phase: 'release' as const, command: release.releaseCommand }] : []),
  ];
}

/**
 * What runs once the new release serves: app.json `scripts.dokku.postdeploy`, and on the app's
 * first live release Heroku's `scripts.postdeploy` (Dokku runs that one once per app, too).
 * Their failure is reported; the release stays live, as it already serves.
 */
export function tasksAfterSwitch(release: { readonly scripts: DeployScripts }, firstLiveRelease: boolean): ReleaseTask[] {
  return [
    ...(release.scripts.postdeploy ? [{ label: 'app.json postdeploy script', phase: 'postdeploy' as const, command: release.scripts.postdeploy }] : []),
    ...(firstLiveRelease && release.scripts.firstDeploy
      ? [{ label: 'app.json first-deploy script (scripts.postdeploy)', phase: 'first-deploy' as const, command: release.scripts.firstDeploy }]
      : []),
  ];
}

/**
 * Runs a task once in a one-off container of the release (its image, config and volumes):
 * the place for migrations. Its output goes to the pusher; a non-zero exit rejects with a
 * DeployError. Changes to the container's files are not kept: every process starts from the image.
 */
export async function runReleaseTask(
  apps: AppRuntime,
  runtime: ReleaseRuntime,
  task: ReleaseTask,
  output: DeployOutput,
  timeoutSeconds: number,
): Promise<void> {
  output.step(`Running ${task.label}: ${task.command}`);
  const suffix = task.phase === 'release' ? `v${runtime.version}` : `v${runtime.version}-${task.phase}`;
  const pending = { stdout: '', stderr: '' };
  const run = { kind: 'release' as const, suffix, command: shellCommand(task.command), input: 'none' as const };
  const process = await apps.runOneOff(runtime, run, (stream, chunk) => {
    const lines = (pending[stream] + chunk.toString('utf8')).split('\n');
    pending[stream] = lines.pop() ?? '';
    for (const line of lines) output.detail(line.trimEnd());
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void process.kill();
      reject(new DeployError('PILOT_RELEASE_COMMAND_FAILED', `${task.label} took longer than ${timeoutSeconds} s and was stopped`));
    }, timeoutSeconds * 1000);
  });
  try {
    const exitCode = await Promise.race([process.exitCode, timeout]);
    for (const rest of [pending.stdout, pending.stderr]) if (rest.trim() !== '') output.detail(rest.trimEnd());
    if (exitCode !== 0) throw new DeployError('PILOT_RELEASE_COMMAND_FAILED', `${task.label} failed with exit code ${exitCode}: ${task.command}`);
  } finally {
    clearTimeout(timer);
  }
}
