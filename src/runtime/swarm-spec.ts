/**
 * The Swarm service of one process type of a release, as a value (Docker Engine API ServiceSpec):
 * what SwarmRuntime creates or updates. Pure: every choice of issue 13 is here and tested alone.
 */
import type { HealthCheck } from '../domain/types.js';
import type { ReleaseRuntime } from '../domain/ports.js';
import { serviceLabels, serviceName, volumeNodeLabel } from '../domain/process-identity.js';
import { networkName } from '../pipeline/start.js';

const NS_PER_SECOND = 1_000_000_000;

/** The part of Docker's ServiceSpec Pilot writes. */
export interface SwarmServiceSpec {
  readonly Name: string;
  readonly Labels: Record<string, string>;
  readonly TaskTemplate: {
    readonly ContainerSpec: {
      readonly Image: string;
      readonly Labels: Record<string, string>;
      readonly Command: string[];
      readonly Env: string[];
      readonly StopGracePeriod: number;
      readonly Healthcheck?: { Test: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number };
      readonly CapabilityDrop: string[];
      readonly CapabilityAdd: string[];
      readonly Mounts: { readonly Type: 'volume'; readonly Source: string; readonly Target: string }[];
    };
    /** An app with volumes runs only on the node that holds them (volumeNodeLabel). */
    readonly Placement: { readonly Constraints: string[] };
    readonly Resources: { readonly Limits: { readonly NanoCPUs: number; readonly MemoryBytes: number; readonly Pids: number } };
    readonly RestartPolicy: { readonly Condition: 'any'; readonly Delay: number };
    readonly Networks: { readonly Target: string; readonly Aliases: string[] }[];
    readonly LogDriver: { readonly Name: 'json-file'; readonly Options: Record<string, string> };
    readonly ForceUpdate: number;
  };
  readonly Mode: { readonly Replicated: { readonly Replicas: number } };
  readonly UpdateConfig: RollingConfig;
  readonly RollbackConfig: RollingConfig;
  /** dnsrr: no virtual IP, which keeps sending to tasks that are shutting down (Caddy routes to task addresses). */
  readonly EndpointSpec: { readonly Mode: 'dnsrr' };
}

interface RollingConfig {
  readonly Parallelism: 1;
  readonly Order: 'start-first' | 'stop-first';
  readonly FailureAction: 'rollback' | 'pause';
  readonly Monitor: number;
  readonly MaxFailureRatio: 0;
}

export interface ServiceSettings {
  /** The reference every node pulls (ImageRegistry.publish). */
  readonly image: string;
  /** The image's own entrypoint and command, run when the process type has no command. */
  readonly imageCommand: readonly string[];
  readonly type: string;
  readonly command: string | null;
  readonly replicas: number;
  readonly slot: 'blue' | 'green';
  readonly port: number;
  readonly healthChecks: readonly HealthCheck[];
  readonly healthTimeoutSeconds: number;
  readonly drainSeconds: number;
  readonly stopTimeoutSeconds: number;
  /** Bumped to replace every task though nothing else changed (a restart). */
  readonly forceUpdate: number;
}

/**
 * The drain shim every task runs under: on SIGTERM the app keeps serving for PILOT_DRAIN_SECONDS
 * (Pilot sees the task shutting down and takes it out of Caddy's upstreams meanwhile), then gets
 * the SIGTERM itself. Swarm chooses when it stops a replaced task; this makes "out of the routes,
 * then signalled" hold whatever it chooses. Needs /bin/sh in the image, as Procfile commands do.
 */
export const DRAIN_SHIM = [
  '"$@" & child=$!',
  'trap \'sleep "$PILOT_DRAIN_SECONDS"; kill -TERM "$child" 2>/dev/null\' TERM INT',
  'wait "$child"; status=$?',
  'while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done',
  'exit "$status"',
].join('\n');

export function serviceSpec(runtime: ReleaseRuntime, settings: ServiceSettings): SwarmServiceSpec {
  const labels = serviceLabels(runtime.instance, { app: runtime.app, release: runtime.version, slot: settings.slot, type: settings.type });
  const argv = settings.command !== null ? ['/bin/sh', '-c', `exec ${settings.command}`] : [...settings.imageCommand];
  const monitor = Math.max(5, settings.healthTimeoutSeconds) * NS_PER_SECOND;
  // A task that mounts volumes stops before its replacement starts: two releases never write the same data at once.
  const order = runtime.volumes.length > 0 ? 'stop-first' : 'start-first';
  const rolling = (failureAction: RollingConfig['FailureAction']): RollingConfig => ({ Parallelism: 1, Order: order, FailureAction: failureAction, Monitor: monitor, MaxFailureRatio: 0 });
  const web = settings.type === 'web';
  return {
    Name: serviceName(runtime.instance, runtime.app, settings.type),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: settings.image,
        Labels: labels,
        Command: ['/bin/sh', '-c', DRAIN_SHIM, 'pilot-drain', ...argv],
        Env: Object.entries({ ...runtime.config, PORT: String(runtime.port), PILOT_DRAIN_SECONDS: String(settings.drainSeconds) }).map(([key, value]) => `${key}=${value}`),
        // The drain, then the app's own stop timeout, before Swarm kills it.
        StopGracePeriod: (settings.drainSeconds + settings.stopTimeoutSeconds) * NS_PER_SECOND,
        ...(web && settings.healthChecks.length > 0 ? { Healthcheck: healthcheck(settings.healthChecks, settings.port, settings.healthTimeoutSeconds) } : {}),
        CapabilityDrop: ['ALL'],
        CapabilityAdd: [...runtime.capabilities],
        Mounts: runtime.volumes.map((volume) => ({ Type: 'volume', Source: volume.name, Target: volume.path })),
      },
      Placement: { Constraints: runtime.volumes.map((volume) => `node.labels.${volumeNodeLabel(volume.name)}==true`) },
      Resources: { Limits: { NanoCPUs: Math.round(runtime.cpus * 1e9), MemoryBytes: runtime.memoryBytes, Pids: runtime.pidsLimit } },
      RestartPolicy: { Condition: 'any', Delay: NS_PER_SECOND },
      Networks: [
        // Linked apps reach its web processes by the app's name.
        { Target: networkName(runtime.instance, runtime.app), Aliases: web ? [runtime.app] : [] },
        ...runtime.linkedNetworks.map((network) => ({ Target: network, Aliases: [] })),
      ],
      LogDriver: { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } },
      ForceUpdate: settings.forceUpdate,
    },
    Mode: { Replicated: { Replicas: settings.replicas } },
    // One task at a time, the new one healthy before the old one stops (with volumes: after); a failure puts the old spec back.
    UpdateConfig: rolling('rollback'),
    RollbackConfig: rolling('pause'),
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

/**
 * Docker's health check from the app's checks, run inside the task (Pilot cannot reach a task
 * on another node): every check in order, with curl, wget or node, whichever the image has.
 * Failures within the health timeout do not count (a slow start); Swarm marks the task running
 * only once it is healthy, which is what start-first waits for.
 */
export function healthcheck(checks: readonly HealthCheck[], port: number, healthTimeoutSeconds: number): NonNullable<SwarmServiceSpec['TaskTemplate']['ContainerSpec']['Healthcheck']> {
  const first = checks[0];
  const timeoutSeconds = Math.max(1, ...checks.map((check) => check.timeout ?? 3));
  return {
    Test: ['CMD-SHELL', checks.map((check) => probeCommand(check, port)).join(' && ')],
    Interval: Math.max(1, first?.wait ?? 1) * NS_PER_SECOND,
    Timeout: timeoutSeconds * NS_PER_SECOND,
    Retries: Math.max(3, ...checks.map((check) => check.attempts ?? 0)),
    StartPeriod: Math.max(healthTimeoutSeconds, first?.initialDelay ?? 0) * NS_PER_SECOND,
  };
}

function probeCommand(check: HealthCheck, port: number): string {
  const url = shellQuote(`http://127.0.0.1:${check.port ?? port}${check.path}`);
  const content = check.content ?? '';
  const body = content ? ` | grep -qF -- ${shellQuote(content)}` : ' >/dev/null';
  const node = `node -e ${shellQuote('fetch(process.argv[1]).then(async (r) => process.exit(r.ok && (await r.text()).includes(process.argv[2]) ? 0 : 1), () => process.exit(1))')} ${url} ${shellQuote(content)}`;
  return (
    `(if command -v curl >/dev/null 2>&1; then curl -fsS ${url}${body}; ` +
    `elif command -v wget >/dev/null 2>&1; then wget -q -O - ${url}${body}; ` +
    `elif command -v node >/dev/null 2>&1; then ${node}; else exit 1; fi)`
  );
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
