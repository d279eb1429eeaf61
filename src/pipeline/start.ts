import type { ContainerPlan, OneOffRun, ProcessToStart, ReleaseRuntime } from '../domain/ports.js';
import type { App, Slot, Volume } from '../domain/types.js';
import { compareProcesses, oneOffLabels, oneOffName, processLabels, processName } from '../domain/process-identity.js';

/** What every container of this release of this app shares, from the release row, the app's limits, links and volumes. */
export function releaseRuntime(
  app: Pick<App, 'name' | 'memoryBytes' | 'cpus' | 'capAdd' | 'links'>,
  release: { readonly version: number; readonly image: string; readonly config: Readonly<Record<string, string>>; readonly port: number },
  settings: { readonly instance: string; readonly appMemoryBytes: number; readonly appCpus: number; readonly appPids: number },
  volumes: readonly Pick<Volume, 'path' | 'name'>[],
): ReleaseRuntime {
  return {
    instance: settings.instance,
    app: app.name,
    version: release.version,
    image: release.image,
    config: release.config,
    port: release.port,
    ...appLimits(app, settings),
    volumes,
    linkedNetworks: app.links.map((linked) => networkName(settings.instance, linked)),
    capabilities: [...new Set([...BASE_CAPABILITIES, ...app.capAdd])],
    pidsLimit: settings.appPids,
  };
}

/**
 * What an app's containers may do as root: Docker's default set without NET_RAW (raw sockets:
 * ARP and DNS spoofing of neighbours), MKNOD, SETFCAP, SETPCAP, SYS_CHROOT and AUDIT_WRITE.
 * What is left is what images commonly need to start: an entrypoint that chowns its files and
 * drops to its own user (nginx, postgres, gosu), a server on port 80, signals to its children.
 */
export const BASE_CAPABILITIES: readonly string[] = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'NET_BIND_SERVICE'];

/** What an operator may give an app back (`pilot limits:set cap-add=NET_RAW`): Docker's own default set, never more. */
export const ADDABLE_CAPABILITIES: readonly string[] = ['NET_RAW', 'MKNOD', 'SETFCAP', 'SETPCAP', 'SYS_CHROOT', 'AUDIT_WRITE'];

/** The limits of an app's containers: its own, else the defaults (PILOT_APP_MEMORY, PILOT_APP_CPUS). */
export function appLimits(app: Pick<App, 'memoryBytes' | 'cpus'>, defaults: { appMemoryBytes: number; appCpus: number }): { memoryBytes: number; cpus: number } {
  return { memoryBytes: app.memoryBytes ?? defaults.appMemoryBytes, cpus: app.cpus ?? defaults.appCpus };
}

/**
 * Each app has a network of its own: its containers do not see other apps' (Docker isolates
 * bridge networks from each other), Caddy on the host reaches every one by address.
 */
export function networkName(instance: string, app: string): string {
  return `${instance}-${app}-net`;
}

/** A Procfile command runs under a shell (for $VARS), as the process itself (exec: it gets SIGTERM). */
export function shellCommand(command: string): string[] {
  return ['/bin/sh', '-c', `exec ${command}`];
}

/** The container of one process of a release, as a value: config and PORT in its environment, labels, limits, volumes. */
export function containerPlan(runtime: ReleaseRuntime, process: ProcessToStart): ContainerPlan {
  return {
    ...commonPlan(runtime),
    name: processName(runtime.instance, process.identity),
    labels: processLabels(runtime.instance, process.identity),
    ...(process.command !== null ? { command: shellCommand(process.command) } : {}),
    // Linked apps reach its web processes by the app's name.
    aliases: process.identity.type === 'web' ? [runtime.app] : [],
  };
}

/**
 * How many containers of each of a release's process types run. Like Dokku: `web` runs one
 * and every other type none (a `console:` or task entry must not start by itself) unless
 * scaled. app.json `formation` wins: Dokku applies it on every deploy and refuses `ps:scale`
 * while app.json sets the scale, so the file in the repository stays the truth (Pilot
 * refuses `ps:scale` of the types app.json sets). `ps:scale` rows give the other types.
 */
export function processQuantities(
  release: { readonly processes: Readonly<Record<string, string | null>>; readonly formation: Readonly<Record<string, number>> },
  scaled: Readonly<Record<string, number>>,
): Record<string, number> {
  return Object.fromEntries(
    Object.keys(release.processes).map((type) => [type, release.formation[type] ?? scaled[type] ?? (type === 'web' ? 1 : 0)]),
  );
}

/** Every process of a release at its scale (see processQuantities) in a slot, web first. */
export function formationProcesses(
  release: { readonly app: string; readonly version: number; readonly processes: Readonly<Record<string, string | null>> },
  slot: Slot,
  quantities: Readonly<Record<string, number>>,
): ProcessToStart[] {
  return Object.keys(release.processes)
    .flatMap((type) =>
      Array.from({ length: quantities[type] ?? 0 }, (_, offset) => ({
        identity: { app: release.app, release: release.version, slot, type, index: offset + 1 },
        command: release.processes[type] ?? null,
      })),
    )
    .sort((a, b) => compareProcesses(a.identity, b.identity));
}

/**
 * A one-off container (the release phase, `pilot run`, a cron run): the release's image, config
 * and volumes, never restarted; its kind and suffix keep its name apart from the processes'.
 */
export function oneOffPlan(runtime: ReleaseRuntime, run: OneOffRun): ContainerPlan {
  const identity = { app: runtime.app, release: runtime.version, kind: run.kind };
  return {
    ...commonPlan(runtime),
    name: oneOffName(runtime.instance, identity, run.suffix),
    labels: oneOffLabels(runtime.instance, identity),
    command: [...run.command],
    interactive: run.input === 'tty',
    pipedStdin: run.input === 'pipe',
  };
}

function commonPlan(runtime: ReleaseRuntime): Omit<ContainerPlan, 'name' | 'labels'> {
  return {
    image: runtime.image,
    env: { ...runtime.config, PORT: String(runtime.port) },
    network: networkName(runtime.instance, runtime.app),
    extraNetworks: runtime.linkedNetworks,
    aliases: [],
    capAdd: runtime.capabilities,
    pidsLimit: runtime.pidsLimit,
    memoryBytes: runtime.memoryBytes,
    nanoCpus: Math.round(runtime.cpus * 1e9),
    logMaxSize: '10m',
    logMaxFiles: 3,
    restartPolicy: 'no',
    mounts: runtime.volumes.map((volume) => ({ volume: volume.name, path: volume.path })),
  };
}
