/** The API's answers as the CLI reads them. */

export interface AppStatus {
  name: string;
  url: string;
  domains: string[];
  deploying: boolean;
  release: { version: number; kind: string; gitSha: string | null; createdAt: string } | null;
  state: string | null;
  createdAt: string;
  buildDir: string | null;
}

export interface ReleaseView {
  version: number;
  kind: string;
  status: string;
  gitSha: string | null;
  buildpack: string | null;
  image: string | null;
  configKeys: string[];
  buildKeys: string[];
  failureReason: string | null;
  /** "Deploy abc1234", "Set GREETING", "Rollback to v2"; null for releases made before Pilot recorded it. */
  description: string | null;
  createdAt: string;
  log?: string;
}

export interface ProcessView {
  type: string;
  /** null: a type scaled to 0, without a container. */
  index: number | null;
  release: number;
  container: string | null;
  state: string;
  uptimeSeconds: number | null;
  restarts: number;
}

export interface LimitsView {
  memoryBytes: number;
  cpus: number;
  custom: { memory: boolean; cpus: boolean };
}

// A type, not an interface: `out.table` takes it as a record.
export type VolumeView = {
  path: string;
  name: string;
  createdAt: string;
};
