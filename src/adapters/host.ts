import os from 'node:os';
import fs from 'node:fs/promises';
import type { HostReader, HostReading } from '../domain/ports.js';

/** The host as Node reads it: CPU times of every core, load, memory, and a file system's space. */
export function createHostReader(): HostReader {
  return {
    read(): HostReading {
      let busy = 0;
      let total = 0;
      const cpus = os.cpus();
      for (const { times } of cpus) {
        const all = times.user + times.nice + times.sys + times.idle + times.irq;
        total += all;
        busy += all - times.idle;
      }
      const [one = 0, five = 0, fifteen = 0] = os.loadavg();
      return {
        cpus: cpus.length,
        cpuBusySeconds: busy / 1000,
        cpuTotalSeconds: total / 1000,
        load: [one, five, fifteen],
        memoryTotalBytes: os.totalmem(),
        // libuv reads MemAvailable: what programs can still get, the page cache included.
        memoryAvailableBytes: os.freemem(),
      };
    },

    async diskSpace(path) {
      const stats = await fs.statfs(path);
      // bavail: what an unprivileged process (an app, Pilot) can still write.
      return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
    },
  };
}
