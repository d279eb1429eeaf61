import type { HostMetrics, MetricsView, ProcessMetrics } from '../domain/shapes.js';
import type { Output } from './output.js';

/** Bytes as people read them: 512 B, 48.2 MiB, 3.1 GiB. */
export function bytes(value: number | null): string | null {
  if (value === null) return null;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let scaled = value;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${scaled.toFixed(1)} ${units[unit]}`;
}

export function percent(value: number | null): string | null {
  return value === null ? null : `${value.toFixed(1)}%`;
}

/** `48.2 MiB / 512.0 MiB`: memory used and its limit. */
export function memory(used: number | null, limit: number | null): string | null {
  if (used === null) return null;
  return limit ? `${bytes(used)} / ${bytes(limit)}` : bytes(used);
}

export function processTable(out: Output, processes: readonly ProcessMetrics[], withApp: boolean): string {
  return out.table(
    processes.map((process) => ({
      ...process,
      release: `v${process.release}`,
      cpu: percent(process.cpuPercent),
      memory: memory(process.memoryBytes, process.memoryLimitBytes),
      'net in/out': `${bytes(process.networkInBytes)} / ${bytes(process.networkOutBytes)}`,
      uptime: process.uptimeSeconds === null ? null : `${process.uptimeSeconds}s`,
    })),
    [...(withApp ? ['app'] : []), 'process', 'release', 'cpu', 'memory', 'net in/out', 'restarts', 'uptime'],
  );
}

export function hostSummary(host: HostMetrics): string {
  const disk = (space: HostMetrics['dataDisk']) => (space ? `${bytes(space.freeBytes)} free of ${bytes(space.totalBytes)} (${space.path})` : 'unknown');
  const usage = host.dockerUsage;
  return [
    `CPU:     ${percent(host.cpuPercent) ?? 'measuring'} of ${host.cpus} cores, load ${host.load.join(' ')}`,
    `Memory:  ${bytes(host.memoryTotalBytes - host.memoryAvailableBytes)} used of ${bytes(host.memoryTotalBytes)}`,
    `Data:    ${disk(host.dataDisk)}`,
    `Docker:  ${disk(host.dockerDisk)}`,
    usage
      ? `         images ${bytes(usage.imagesBytes)}, containers ${bytes(usage.containersBytes)}, volumes ${bytes(usage.volumesBytes)}, build cache ${bytes(usage.buildCacheBytes)}`
      : '         disk use not read yet',
  ].join('\n');
}

export function metricsReport(out: Output, view: MetricsView): string {
  return `${view.host ? `${hostSummary(view.host)}\n\n` : ''}${processTable(out, view.processes, true)}`;
}
