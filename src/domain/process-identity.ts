/**
 * Who a container is: the one place that writes and reads Pilot's labels and container names.
 * Every other module speaks of processes (`web.1 of v3 of shop, blue slot`), never of labels.
 */
import type { Slot } from './types.js';

/** One process of a release's formation. */
export interface ProcessIdentity {
  readonly app: string;
  readonly release: number;
  readonly slot: Slot;
  readonly type: string;
  readonly index: number;
}

/** The kinds of one-off containers: never a process of the formation, never routed. */
export type OneOffKind = 'release' | 'run' | 'cron';
const ONE_OFF_KINDS: readonly string[] = ['release', 'run', 'cron'] satisfies OneOffKind[];

/** A one-off container of a release: the release phase, `pilot run`, a cron run. */
export interface OneOffIdentity {
  readonly app: string;
  readonly release: number;
  readonly kind: OneOffKind;
}

export type ContainerIdentity =
  | { readonly role: 'process'; readonly process: ProcessIdentity }
  | { readonly role: 'one-off'; readonly oneOff: OneOffIdentity };

const LABEL = {
  instance: 'pilot.instance',
  app: 'pilot.app',
  release: 'pilot.release',
  slot: 'pilot.slot',
  process: 'pilot.process',
  index: 'pilot.index',
} as const;

/** What to list: the instance's containers, narrowed to an app, a release, a slot. */
export interface ProcessFilter {
  readonly app?: string;
  readonly release?: number;
  readonly slot?: Slot;
}

/** The labels that select the instance's containers (and volumes, networks) matching `filter`. */
export function selectorLabels(instance: string, filter: ProcessFilter = {}): Record<string, string> {
  return {
    [LABEL.instance]: instance,
    ...(filter.app !== undefined ? { [LABEL.app]: filter.app } : {}),
    ...(filter.release !== undefined ? { [LABEL.release]: String(filter.release) } : {}),
    ...(filter.slot !== undefined ? { [LABEL.slot]: filter.slot } : {}),
  };
}

export function processLabels(instance: string, process: ProcessIdentity): Record<string, string> {
  return {
    ...selectorLabels(instance, { app: process.app, release: process.release, slot: process.slot }),
    [LABEL.process]: process.type,
    [LABEL.index]: String(process.index),
  };
}

export function oneOffLabels(instance: string, oneOff: OneOffIdentity): Record<string, string> {
  return { ...selectorLabels(instance, { app: oneOff.app, release: oneOff.release }), [LABEL.process]: oneOff.kind };
}

/**
 * `<instance>-<app>-<slot>` for web.1 (the name a single-process app has always had),
 * `<instance>-<app>-<slot>-<type>.<index>` for every other process.
 */
export function processName(instance: string, process: Pick<ProcessIdentity, 'app' | 'slot' | 'type' | 'index'>): string {
  const base = `${instance}-${process.app}-${process.slot}`;
  return process.type === 'web' && process.index === 1 ? base : `${base}-${process.type}.${process.index}`;
}

/** `<instance>-<app>-<kind>-<suffix>`: apart from every process name (no slot word). */
export function oneOffName(instance: string, oneOff: Pick<OneOffIdentity, 'app' | 'kind'>, suffix: string): string {
  return `${instance}-${oneOff.app}-${oneOff.kind}-${suffix}`;
}

/**
 * A container's identity from its labels; undefined for one that is not an app's (no app or
 * release label). Containers from before process types carry no process label: they are web.1.
 */
export function identityOf(labels: Readonly<Record<string, string>>): ContainerIdentity | undefined {
  const app = labels[LABEL.app];
  const release = Number(labels[LABEL.release]);
  if (app === undefined || !Number.isInteger(release)) return undefined;
  const type = labels[LABEL.process] ?? 'web';
  if (ONE_OFF_KINDS.includes(type)) return { role: 'one-off', oneOff: { app, release, kind: type as OneOffKind } };
  const slot = labels[LABEL.slot];
  if (slot !== 'blue' && slot !== 'green') return undefined;
  return { role: 'process', process: { app, release, slot, type, index: Number(labels[LABEL.index] ?? 1) } };
}

/** `web.1`, as the pusher and `pilot ps` show a process. */
export function processLabel(process: Pick<ProcessIdentity, 'type' | 'index'>): string {
  return `${process.type}.${process.index}`;
}

/** Orders processes web first, then by type, then by index: the order they start and are shown in. */
export function compareProcesses(a: Pick<ProcessIdentity, 'type' | 'index'>, b: Pick<ProcessIdentity, 'type' | 'index'>): number {
  if (a.type !== b.type) return a.type === 'web' ? -1 : b.type === 'web' ? 1 : compareNames(a.type, b.type);
  return a.index - b.index;
}

/**
 * Orders names (app names, process types, ids: ASCII) by code point. Not `localeCompare`: its
 * collation pages about 3 MiB of ICU data into a server that otherwise never touches it.
 */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The registry a swarm manager runs for its nodes (docs/swarm.md): no app's, so never listed as a process. */
export function registryContainerName(instance: string): string {
  return `${instance}-registry`;
}

/** The registry's storage: labelled as the instance's, so `install.sh --purge` removes it. */
export function registryVolumeName(instance: string): string {
  return `${instance}-registry-data`;
}

export function registryLabels(instance: string): Record<string, string> {
  return { 'pilot.registry': instance };
}

/** The global Swarm service that reads container stats on every node (docs/swarm.md): no app's, so never listed as a process. */
export function swarmAgentServiceName(instance: string): string {
  return `${instance}-agent`;
}

/**
 * The local tag of the stats agent's image (the node image, by its id), as the registry publishes
 * it: `<instance>/pilot`, a repository no app has (`pilot` is a reserved app name).
 */
export function swarmAgentImage(instance: string, imageId: string): string {
  return `${instance}/pilot:agent-${imageId.replace(/^sha256:/, '').slice(0, 12)}`;
}

/** The label of the stats agent's containers (not `pilot.instance`: they are no app's). */
export function swarmAgentLabels(instance: string): Record<string, string> {
  return { 'pilot.agent': instance };
}

/**
 * The swarm node label that records which node holds a volume (a local volume lives on one
 * node): set on that node at the volume's first mount; the app's services are constrained to it.
 */
export function volumeNodeLabel(volume: string): string {
  return `pilot.volume.${volume}`;
}

/** `<instance>-<app>-<type>`: the Swarm service that runs every process of one type of an app. */
export function serviceName(instance: string, app: string, type: string): string {
  return `${instance}-${app}-${type}`;
}

/** The labels of a Swarm service and of its tasks' containers: a process's, but for the index (the task's slot is). */
export function serviceLabels(instance: string, service: Omit<ProcessIdentity, 'index'>): Record<string, string> {
  return { ...selectorLabels(instance, { app: service.app, release: service.release, slot: service.slot }), [LABEL.process]: service.type };
}

/** A Swarm task's process identity: its container's labels (serviceLabels), its slot in the service as the index. */
export function taskIdentity(labels: Readonly<Record<string, string>>, slot: number): ProcessIdentity | undefined {
  const identity = identityOf({ ...labels, [LABEL.index]: String(slot) });
  return identity?.role === 'process' ? identity.process : undefined;
}

/** The label the engine puts on every container of a swarm task (never on a container created by name). */
const SWARM_TASK_LABEL = 'com.docker.swarm.task.id';

/** Whether a container is a swarm task's: the manager runs tasks too, and they carry the instance's labels. */
export function isSwarmTask(labels: Readonly<Record<string, string>>): boolean {
  return labels[SWARM_TASK_LABEL] !== undefined;
}

/** Whether the labels are the instance's (a service or a task's container of it). */
export function isInstanceLabelled(instance: string, labels: Readonly<Record<string, string>> | undefined): boolean {
  return labels?.[LABEL.instance] === instance;
}
