import type { ContainerPlan } from '../domain/ports.js';
import type { Slot } from '../domain/types.js';

export interface ContainerPlanInput {
  readonly instance: string;
  readonly app: string;
  readonly version: number;
  readonly slot: Slot;
  readonly image: string;
  readonly config: Readonly<Record<string, string>>;
  readonly port: number;
  readonly memoryBytes: number;
  readonly cpus: number;
}

export function containerName(instance: string, app: string, slot: Slot): string {
  return `${instance}-${app}-${slot}`;
}

export function networkName(instance: string): string {
  return `${instance}-net`;
}

export function instanceLabels(instance: string, app?: string): Record<string, string> {
  return app ? { 'pilot.instance': instance, 'pilot.app': app } : { 'pilot.instance': instance };
}

/** The container of a release, as a value: config vars and PORT in its environment, labels, limits. */
export function containerPlan(input: ContainerPlanInput): ContainerPlan {
  return {
    name: containerName(input.instance, input.app, input.slot),
    image: input.image,
    env: { ...input.config, PORT: String(input.port) },
    labels: {
      ...instanceLabels(input.instance, input.app),
      'pilot.release': String(input.version),
      'pilot.slot': input.slot,
    },
    network: networkName(input.instance),
    memoryBytes: input.memoryBytes,
    nanoCpus: Math.round(input.cpus * 1e9),
    logMaxSize: '10m',
    logMaxFiles: 3,
    restartPolicy: 'no',
  };
}
