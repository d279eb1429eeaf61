/**
 * Started detached by swarm-cluster.ts: waits for the test run's process to end, then removes
 * the run's swarm cluster. Usage: swarm-cluster-reaper.ts NAME RUN_PID
 */
import { isAlive, removeSwarmCluster } from './swarm-cluster.js';

const [name, runPid] = process.argv.slice(2);
if (!name || !runPid) throw new Error('usage: swarm-cluster-reaper.ts NAME RUN_PID');
const timer = setInterval(() => {
  if (isAlive(Number(runPid))) return;
  clearInterval(timer);
  void removeSwarmCluster(name);
}, 2000);
