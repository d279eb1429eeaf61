import type { ContainerEngine } from '../domain/ports.js';
import { DeployError } from '../domain/errors.js';
import type { DeployOutput } from './output.js';
import { oneOffPlan, shellCommand, type ReleaseRuntime } from './start.js';

/**
 * The Procfile's `release:` command, once, in a one-off container of the new release (its
 * image, config and volumes) before any of its processes start: the place for migrations.
 * Its output goes to the pusher; a non-zero exit fails the deploy.
 */
export async function runReleaseCommand(
  engine: ContainerEngine,
  runtime: ReleaseRuntime,
  command: string,
  output: DeployOutput,
  timeoutSeconds: number,
): Promise<void> {
  output.step(`Running release command: ${command}`);
  const plan = oneOffPlan(runtime, 'release', `v${runtime.version}`, shellCommand(command));
  await engine.removeContainer(plan.name);
  const pending = { stdout: '', stderr: '' };
  const process = await engine.runAttached(plan, (stream, chunk) => {
    const lines = (pending[stream] + chunk.toString('utf8')).split('\n');
    pending[stream] = lines.pop() ?? '';
    for (const line of lines) output.detail(line.trimEnd());
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void process.kill();
      reject(new DeployError('PILOT_RELEASE_COMMAND_FAILED', `release command took longer than ${timeoutSeconds} s and was stopped`));
    }, timeoutSeconds * 1000);
  });
  try {
    const exitCode = await Promise.race([process.exitCode, timeout]);
    for (const rest of [pending.stdout, pending.stderr]) if (rest.trim() !== '') output.detail(rest.trimEnd());
    if (exitCode !== 0) throw new DeployError('PILOT_RELEASE_COMMAND_FAILED', `release command failed with exit code ${exitCode}: ${command}`);
  } finally {
    clearTimeout(timer);
  }
}
