import type { EngineDiskUsage, ProcessStats } from '../../domain/ports.js';

/** The fields of Docker's `GET /containers/{id}/stats` Pilot reads. */
export interface DockerStats {
  readonly read?: string;
  readonly cpu_stats?: { readonly cpu_usage?: { readonly total_usage?: number } };
  readonly memory_stats?: {
    readonly usage?: number;
    readonly limit?: number;
    readonly stats?: Readonly<Record<string, number>>;
  };
  readonly networks?: Readonly<Record<string, { readonly rx_bytes?: number; readonly tx_bytes?: number }>>;
}

/**
 * A container's stats as Pilot keeps them: memory as `docker stats` shows it (the page cache
 * the kernel can take back is not counted: `inactive_file` on cgroup v2, `total_inactive_file`
 * on v1); undefined for a container that does not run (Docker answers with zeros).
 */
export function processStats(stats: DockerStats): ProcessStats | undefined {
  const cpu = stats.cpu_stats?.cpu_usage?.total_usage;
  const memory = stats.memory_stats;
  if (cpu === undefined || memory?.usage === undefined) return undefined;
  const cache = memory.stats?.inactive_file ?? memory.stats?.total_inactive_file ?? 0;
  const networks = Object.values(stats.networks ?? {});
  return {
    cpuSeconds: cpu / 1e9,
    memoryBytes: Math.max(0, memory.usage - (cache < memory.usage ? cache : 0)),
    memoryLimitBytes: memory.limit ?? 0,
    networkInBytes: networks.reduce((sum, network) => sum + (network.rx_bytes ?? 0), 0),
    networkOutBytes: networks.reduce((sum, network) => sum + (network.tx_bytes ?? 0), 0),
  };
}

/** The fields of Docker's `GET /system/df` Pilot reads. */
export interface DockerDiskUsage {
  readonly LayersSize?: number;
  readonly Containers?: readonly { readonly SizeRw?: number }[] | null;
  readonly Volumes?: readonly { readonly UsageData?: { readonly Size?: number } | null }[] | null;
  readonly BuildCache?: readonly { readonly Size?: number }[] | null;
}

/** Docker's disk use by kind (a size Docker does not know, -1, counts as 0). */
export function engineDiskUsage(df: DockerDiskUsage, rootDir: string | undefined): EngineDiskUsage {
  const sum = (sizes: readonly (number | undefined)[]): number => sizes.reduce<number>((total, size) => total + Math.max(0, size ?? 0), 0);
  return {
    rootDir,
    imagesBytes: Math.max(0, df.LayersSize ?? 0),
    containersBytes: sum((df.Containers ?? []).map((container) => container.SizeRw)),
    volumesBytes: sum((df.Volumes ?? []).map((volume) => volume.UsageData?.Size)),
    buildCacheBytes: sum((df.BuildCache ?? []).map((entry) => entry.Size)),
  };
}
