// The keep-alive load of bench/lib.ts, in a worker thread of its own: the load generator must
// not share an event loop with the Pilot under test, or every moment Pilot's loop is busy
// (unpacking a push, rendering routes) would be counted as the app's latency.
// Plain JavaScript: a worker starts without the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';

const { url, servername, host, connections, rate, durationSeconds } = workerData;
const instance = autocannon(
  { url, servername, headers: { host }, connections, overallRate: rate, duration: durationSeconds, timeout: 10 },
  (error, stats) => {
    if (error) {
      parentPort.postMessage({ error: String(error) });
      return;
    }
    parentPort.postMessage({
      result: {
        requests: stats.requests.total,
        non2xx: stats.non2xx,
        errors: stats.errors,
        p50: stats.latency.p50,
        p99: stats.latency.p99,
        max: stats.latency.max,
      },
    });
  },
);
parentPort.on('message', (message) => {
  if (message === 'stop') instance.stop();
});
