import type { ContainerEngine, ContainerPlan } from '../domain/ports.js';
import type { HealthCheck } from '../domain/types.js';
import { DeployError } from '../domain/errors.js';
import { DEFAULT_HEALTH_TIMING, waitUntilHealthy, type HealthResult } from './healthcheck.js';
import { INDEX_LABEL, PROCESS_LABEL } from './start.js';

/** A process of a new release, started and not yet checked. */
export interface StartedProcess {
  readonly name: string;
  readonly type: string;
  readonly index: number;
  readonly containerId: string;
}

/** A process that failed its check; the deploy shows this container's last log lines. */
export class ProcessCheckError extends DeployError {
  constructor(
    message: string,
    readonly containerId: string,
  ) {
    super('PILOT_HEALTH_CHECK_FAILED', message);
  }
}

/** Starts every planned container; `started` hears of each at once, so a failure can clean up. */
export async function startProcesses(engine: ContainerEngine, plans: readonly ContainerPlan[], started: (containerId: string) => void): Promise<StartedProcess[]> {
  const processes: StartedProcess[] = [];
  for (const plan of plans) {
    const containerId = await engine.startContainer(plan);
    started(containerId);
    processes.push({ name: plan.name, type: plan.labels[PROCESS_LABEL] ?? 'web', index: Number(plan.labels[INDEX_LABEL] ?? 1), containerId });
  }
  return processes;
}

export interface CheckSettings {
  readonly port: number;
  /** Passed in order by every web process. */
  readonly healthChecks: readonly HealthCheck[];
  /** How long a check without `attempts` keeps trying (PILOT_HEALTH_TIMEOUT). */
  readonly healthTimeoutSeconds: number;
  /** How long a process without HTTP (a worker) must stay up to pass. */
  readonly settleSeconds: number;
}

export interface CheckedProcess extends StartedProcess {
  /** `ip:port` of a web process. */
  readonly upstream: string | undefined;
}

/**
 * Checks every process at once: web processes by HTTP (the release's checks, in order), the others by
 * still running after the settle time, as Dokku's default check does. Resolves with the
 * slowest web check, for the pusher.
 */
export async function checkProcesses(
  engine: ContainerEngine,
  processes: readonly StartedProcess[],
  settings: CheckSettings,
): Promise<{ processes: CheckedProcess[]; health: HealthResult | undefined }> {
  const label = (process: StartedProcess): string => (processes.length > 1 ? `${process.type}.${process.index}: ` : '');
  const status = async (process: StartedProcess) => {
    const state = await engine.inspectContainer(process.containerId);
    return { running: state?.running ?? false, exitCode: state?.exitCode ?? -1 };
  };
  const results = await Promise.all(
    processes.map(async (process): Promise<{ checked: CheckedProcess; health?: HealthResult }> => {
      try {
        if (process.type !== 'web') {
          await new Promise((resolve) => setTimeout(resolve, settings.settleSeconds * 1000));
          const { running, exitCode } = await status(process);
          if (!running) throw new DeployError('PILOT_PROCESS_EXITED', `the process exited with code ${exitCode} within ${settings.settleSeconds} s of starting`);
          return { checked: { ...process, upstream: undefined } };
        }
        const ip = (await engine.inspectContainer(process.containerId))?.ip;
        if (!ip) throw new DeployError('PILOT_START_FAILED', 'the new container got no network address');
        const target = { host: ip, port: settings.port, status: () => status(process) };
        const timing = { ...DEFAULT_HEALTH_TIMING, timeoutMs: settings.healthTimeoutSeconds * 1000 };
        let health: HealthResult = { attempts: 0, elapsedMs: 0 };
        for (const check of settings.healthChecks) {
          const passed = await waitUntilHealthy(target, check, timing);
          health = { attempts: health.attempts + passed.attempts, elapsedMs: health.elapsedMs + passed.elapsedMs };
        }
        return { checked: { ...process, upstream: `${ip}:${settings.port}` }, health };
      } catch (error) {
        if (error instanceof DeployError) throw new ProcessCheckError(`${label(process)}${error.message}`, process.containerId);
        throw error;
      }
    }),
  );
  const healths = results.flatMap((result) => (result.health ? [result.health] : []));
  const slowest = healths.sort((a, b) => b.elapsedMs - a.elapsedMs)[0];
  return { processes: results.map((result) => result.checked), health: slowest };
}
