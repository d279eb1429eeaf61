// The keep-alive load of bench/lib.ts, in a process of its own: the load generator must not
// share an event loop with the Pilot under test, or every moment Pilot's loop is busy
// (unpacking a push, rendering routes) would be counted as the app's latency. A child process,
// not a worker thread: inside a worker, autocannon reports raw histograms instead of results.
// Plain JavaScript: it starts without the TypeScript loader.
import process from 'node:process';
import autocannon from 'autocannon';

const { url, servername, host, connections, rate, durationSeconds } = JSON.parse(process.argv[2] ?? '{}');
const instance = autocannon(
  { url, servername, headers: { host }, connections, overallRate: rate, duration: durationSeconds, timeout: 10 },
  (error, stats) => {
    const message = error
      ? { error: String(error) }
      : {
          result: {
            requests: stats.requests.total,
            non2xx: stats.non2xx,
            errors: stats.errors,
            p50: stats.latency.p50,
            p99: stats.latency.p99,
            max: stats.latency.max,
          },
        };
    process.send(message, () => process.disconnect());
  },
);
process.on('message', (message) => {
  if (message === 'stop') instance.stop();
});
