/**
 * What the stats agent runs on every node (`node -e AGENT_SCRIPT`, swarm-agent.ts): an HTTP
 * server that answers `GET /stats/<container id>` with its engine's one-shot stats of that
 * container, only with the bearer secret and only for a container of this Pilot's instance.
 * Plain CommonJS for any Node the node image has; read from the environment:
 * PILOT_AGENT_SECRET, PILOT_AGENT_INSTANCE, PILOT_AGENT_PORT, and PILOT_AGENT_DOCKER_SOCKET
 * (default /var/run/docker.sock).
 */
export const AGENT_SCRIPT = String.raw`
const http = require('node:http');
const { createHash, timingSafeEqual } = require('node:crypto');
const env = process.env;
const socketPath = env.PILOT_AGENT_DOCKER_SOCKET || '/var/run/docker.sock';
// Hashed, so that the comparison takes the same time whatever the length sent.
const digest = (text) => createHash('sha256').update(String(text)).digest();
const expected = digest('Bearer ' + env.PILOT_AGENT_SECRET);
const authorized = (header) => Boolean(env.PILOT_AGENT_SECRET) && timingSafeEqual(digest(header || ''), expected);

function engine(path) {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath, path, timeout: 10000 }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('the engine did not answer')));
    request.on('error', reject);
  });
}

async function answer(request) {
  if (!authorized(request.headers.authorization)) return [401, 'unauthorized\n'];
  const match = /^\/stats\/([0-9a-f]{12,64})$/.exec(request.url);
  if (request.method !== 'GET' || !match) return [404, 'not found\n'];
  // Only a container of this instance: inspected first.
  const inspected = await engine('/containers/' + match[1] + '/json');
  const labels = inspected.status === 200 ? (JSON.parse(inspected.body).Config || {}).Labels || {} : {};
  if (labels['pilot.instance'] !== env.PILOT_AGENT_INSTANCE) return [404, 'no such container\n'];
  const stats = await engine('/containers/' + match[1] + '/stats?stream=false&one-shot=true');
  return stats.status === 200 ? [200, stats.body, 'application/json'] : [502, 'the engine answered ' + stats.status + '\n'];
}

const server = http.createServer((request, response) => {
  answer(request).then(
    ([status, body, type]) => response.writeHead(status, { 'content-type': type || 'text/plain' }).end(body),
    (error) => response.writeHead(502, { 'content-type': 'text/plain' }).end(String(error.message) + '\n'),
  );
});
server.listen(Number(env.PILOT_AGENT_PORT), () => console.log('pilot stats agent on port ' + server.address().port));
// PID 1 gets no default SIGTERM handler: without this, every stop would wait out the grace period.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
