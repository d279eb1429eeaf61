/** The states a release goes through; changed only by the release store's `transition`. */
export const RELEASE_STATUSES = ['building', 'starting', 'checking', 'live', 'failed', 'retired'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

export type ReleaseKind = 'deploy' | 'config' | 'rollback';
export type Slot = 'blue' | 'green';
export type BuildpackName = 'dockerfile' | 'node' | 'static';

export interface App {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
  /** Memory limit of each container; null: PILOT_APP_MEMORY. */
  readonly memoryBytes: number | null;
  /** CPU limit of each container; null: PILOT_APP_CPUS. */
  readonly cpus: number | null;
  /** The app's directory in its repository (a monorepo's `apps/web`); null: the root. */
  readonly buildDir: string | null;
}

export interface Release {
  readonly id: number;
  readonly appId: number;
  readonly version: number;
  readonly kind: ReleaseKind;
  readonly gitSha: string | null;
  readonly buildpack: BuildpackName | null;
  readonly image: string | null;
  readonly config: Readonly<Record<string, string>>;
  readonly status: ReleaseStatus;
  readonly slot: Slot | null;
  readonly containerId: string | null;
  /** Port the app listens on inside its container. */
  readonly port: number | null;
  readonly healthPath: string;
  /**
   * Process types and their commands (Procfile); null runs the image's own command.
   * No `web` entry: a worker-only app, without a route.
   */
  readonly processes: Readonly<Record<string, string | null>>;
  /** The Procfile's `release:` command, run once before the release's processes start. */
  readonly releaseCommand: string | null;
  readonly failureReason: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function otherSlot(slot: Slot | null): Slot {
  return slot === 'blue' ? 'green' : 'blue';
}

/** A named Docker volume of an app, mounted at `path` in every one of its containers. */
export interface Volume {
  readonly path: string;
  readonly name: string;
  readonly createdAt: string;
}
