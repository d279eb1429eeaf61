import type { ContainerPlan } from '../domain/ports.js';
import type { App, Slot, Volume } from '../domain/types.js';

/** What every container of a release shares: image, config, port, limits, volumes. */
export interface ReleaseRuntime {
  readonly instance: string;
  readonly app: string;
  readonly version: number;
  readonly image: string;
  readonly config: Readonly<Record<string, string>>;
  readonly port: number;
  readonly memoryBytes: number;
  readonly cpus: number;
  readonly volumes: readonly Pick<Volume, 'path' | 'name'>[];
  /** The networks of the apps this one is linked to (`pilot apps:link`). */
  readonly linkedNetworks: readonly string[];
  /** BASE_CAPABILITIES and the app's own additions. */
  readonly capabilities: readonly string[];
  readonly pidsLimit: number;
}

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

/** One process of a release: `web.1`, `worker.2`... */
export interface ProcessSlot {
  readonly slot: Slot;
  readonly type: string;
  readonly index: number;
  /** Procfile command; null runs the image's own. */
  readonly command: string | null;
}

export const PROCESS_LABEL = 'pilot.process';
export const INDEX_LABEL = 'pilot.index';
export const RELEASE_LABEL = 'pilot.release';

/** The kinds of one-off containers: never a process of the formation, never routed. */
export type OneOffKind = 'release' | 'run' | 'cron';
const ONE_OFF_KINDS: readonly string[] = ['release', 'run', 'cron'] satisfies OneOffKind[];

/** Whether a container (by its labels) is a one-off one: the release phase, `pilot run`, a cron run. */
export function isOneOff(labels: Readonly<Record<string, string>>): boolean {
  return ONE_OFF_KINDS.includes(labels[PROCESS_LABEL] ?? 'web');
}

/**
 * `<instance>-<app>-<slot>` for web.1 (the name a single-process app has always had),
 * `<instance>-<app>-<slot>-<type>.<index>` for every other process.
 */
export function containerName(instance: string, app: string, slot: Slot, type = 'web', index = 1): string {
  const base = `${instance}-${app}-${slot}`;
  return type === 'web' && index === 1 ? base : `${base}-${type}.${index}`;
}

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

export function instanceLabels(instance: string, app?: string): Record<string, string> {
  return app ? { 'pilot.instance': instance, 'pilot.app': app } : { 'pilot.instance': instance };
}

/** A Procfile command runs under a shell (for $VARS), as the process itself (exec: it gets SIGTERM). */
export function shellCommand(command: string): string[] {
  return ['/bin/sh', '-c', `exec ${command}`];
}

/** The container of one process of a release, as a value: config and PORT in its environment, labels, limits, volumes. */
export function containerPlan(runtime: ReleaseRuntime, process: ProcessSlot): ContainerPlan {
  return {
    ...commonPlan(runtime),
    name: containerName(runtime.instance, runtime.app, process.slot, process.type, process.index),
    labels: {
      ...instanceLabels(runtime.instance, runtime.app),
      [RELEASE_LABEL]: String(runtime.version),
      'pilot.slot': process.slot,
      [PROCESS_LABEL]: process.type,
      [INDEX_LABEL]: String(process.index),
    },
    ...(process.command !== null ? { command: shellCommand(process.command) } : {}),
    // Linked apps reach its web processes by the app's name.
    aliases: process.type === 'web' ? [runtime.app] : [],
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

/** Every process of a release at its scale (see processQuantities), web first. */
export function formationPlan(
  runtime: ReleaseRuntime,
  slot: Slot,
  processes: Readonly<Record<string, string | null>>,
  quantities: Readonly<Record<string, number>>,
): ContainerPlan[] {
  const types = Object.keys(processes).sort((a, b) => (a === 'web' ? -1 : b === 'web' ? 1 : a.localeCompare(b)));
  return types.flatMap((type) =>
    Array.from({ length: quantities[type] ?? 0 }, (_, offset) =>
      containerPlan(runtime, { slot, type, index: offset + 1, command: processes[type] ?? null }),
    ),
  );
}

/**
 * A one-off container (the release phase, `pilot run`, a cron run): the release's image, config
 * and volumes, never restarted; `kind` and a unique suffix keep its name apart from the processes'.
 */
export function oneOffPlan(runtime: ReleaseRuntime, kind: OneOffKind, suffix: string, command: string[], interactive = false): ContainerPlan {
  return {
    ...commonPlan(runtime),
    name: `${runtime.instance}-${runtime.app}-${kind}-${suffix}`,
    labels: { ...instanceLabels(runtime.instance, runtime.app), [RELEASE_LABEL]: String(runtime.version), [PROCESS_LABEL]: kind },
    command,
    interactive,
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
