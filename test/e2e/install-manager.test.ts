import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { integrationSkipReason, localImages, tempDir, testInstanceName } from '../helpers/integration.js';
import { ensureFreshImage, startFreshMachine, type FreshMachine } from '../helpers/fresh-machine.js';
import { ensureRegistryImage } from '../helpers/registry-image.js';
import { runCommand } from '../helpers/command.js';
import { README } from '../helpers/readme.js';

const skip = integrationSkipReason();

/** The README's manager line ("Growing from one server to several"), as a user copies it. */
function readmeManagerCommand(): string {
  const line = /^ +(sudo \.\/install\.sh --manager .*)$/m.exec(fs.readFileSync(README, 'utf8'))?.[1];
  assert.ok(line, 'the README shows the command that installs a manager');
  return line;
}

describe('install.sh --manager on a fresh Debian bookworm machine: Pilot as the manager of a new swarm', { skip }, () => {
  const name = `${testInstanceName()}-fresh-manager`;
  const images = path.join(tempDir('manager-images'), 'images.tar');
  const { staticImage } = localImages();
  let machine: FreshMachine | undefined;
  let registryImage: string;
  const inside = (script: string) => (machine as FreshMachine).inside(script);

  before(async () => {
    await ensureFreshImage();
    registryImage = await ensureRegistryImage();
    const saved = await runCommand('docker', ['save', '-o', images, staticImage, registryImage]);
    assert.equal(saved.code, 0, saved.output);
    // As a swarm node of test/helpers/swarm-cluster.ts: the overlays' namespaces live under /run.
    machine = await startFreshMachine(name, [`${images}:/images.tar:ro`], ['--tmpfs', '/run:exec']);
  });
  after(async () => {
    await machine?.remove();
  });

  it("runs the README's manager command: a swarm, Pilot in swarm mode, Caddy in its container only, and a git push goes live through it", async () => {
    // A real manager pulls caddy:2-alpine and registry:2; nothing can be pulled here, so Debian's
    // engine is installed first and given the local images, then stopped: install.sh starts it.
    const engine = await inside(
      'set -e; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null 2>&1; ' +
        'setsid dockerd --host unix:///var/run/docker.sock >/var/log/dockerd-preload.log 2>&1 </dev/null & pid=$!; ' +
        'deadline=$((SECONDS + 60)); until docker version >/dev/null 2>&1; do [ $SECONDS -lt $deadline ] || exit 1; sleep 0.2; done; ' +
        'docker load -i /images.tar; [ "$(docker info --format {{.Swarm.LocalNodeState}})" = inactive ]; ' +
        'kill $pid; wait $pid || true',
    );
    assert.equal(engine.code, 0, engine.output);

    const command = `${readmeManagerCommand().replace('sudo ./install.sh', 'bash /src/install.sh').replace('--domain example.com', '--domain localhost')} ` +
      `--static-image ${staticImage} --caddy-image ${staticImage} --registry-image ${registryImage}`;
    console.log(`on the fresh machine: ${command}`);
    const installed = await inside(command);
    assert.equal(installed.code, 0, `install.sh --manager failed:\n${installed.output.slice(-6000)}`);
    console.log(`install.sh --manager:\n${installed.output}`);
    assert.match(installed.output, /==> Docker Swarm: this server is the manager\n(?: {4}.*\n)* {4}swarm created \(docker swarm init\)/);
    assert.match(installed.output, new RegExp(`Caddy: the container pilot-caddy \\(${staticImage}\\), started by Pilot; none on the host`));
    assert.match(installed.output, /HTTPS works \(certificate from Pilot's own CA\)/, "install.sh checks HTTPS through Caddy's container");
    assert.match(installed.output, /pilot nodes:join-command/);
    const ca = /Pilot's CA \(--tls internal\): (\S+)/.exec(installed.output)?.[1];
    assert.ok(ca, "the CA's path is printed");
    // What the printed trust steps download: the CA, from Caddy's container, through Caddy's container.
    const downloaded = await inside(`curl -fsS --resolve pilot.localhost:443:127.0.0.1 --cacert ${ca} https://pilot.localhost/ca.crt`);
    assert.equal(downloaded.code, 0, downloaded.output);
    assert.equal(downloaded.output, (await inside(`cat ${ca}`)).output, 'GET /ca.crt serves the CA install.sh printed');

    // The engine manages a swarm, and Pilot runs in swarm mode.
    assert.equal((await inside('docker info --format "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}"')).output.trim(), 'active true');
    assert.match((await inside('cat /etc/pilot/pilot.env')).output, /^PILOT_SCHEDULER=swarm$/m);
    const health = await inside('curl -fsS http://127.0.0.1:3000/health');
    assert.equal(health.code, 0, health.output);
    const listed = await inside('pilot --json nodes');
    assert.equal(listed.code, 0, listed.output);
    const nodes = JSON.parse(listed.output) as { role: string; state: string; leader: boolean }[];
    assert.deepEqual(nodes.map(({ role, state, leader }) => ({ role, state, leader })), [{ role: 'manager', state: 'ready', leader: true }]);

    // Caddy is the container alone: no host Caddy, and every caddy process is in another PID namespace (a container's).
    assert.notEqual((await inside('command -v caddy')).code, 0, 'no Caddy installed on the host');
    assert.equal((await inside('test ! -e /lib/systemd/system/caddy.service')).code, 0, 'no caddy.service');
    const hostCaddies = await inside('for dir in /proc/[0-9]*; do [ "$(cat $dir/comm 2>/dev/null)" = caddy ] && [ "$(readlink $dir/ns/pid)" = "$(readlink /proc/1/ns/pid)" ] && echo "${dir#/proc/}"; done; true');
    assert.equal(hostCaddies.output.trim(), '', 'no caddy process in the host PID namespace');
    const caddy = await inside(`docker inspect -f '{{.State.Running}} {{(index (index .HostConfig.PortBindings "80/tcp") 0).HostPort}} {{(index (index .HostConfig.PortBindings "443/tcp") 0).HostPort}}' pilot-caddy`);
    assert.equal(caddy.output.trim(), 'true 80 443', 'the container pilot-caddy runs and holds 80 and 443');
    // The registry starts in the background, after Pilot answers.
    const registry = await inside('deadline=$((SECONDS + 120)); until [ "$(docker inspect -f {{.State.Running}} pilot-registry 2>/dev/null)" = true ]; do [ $SECONDS -lt $deadline ] || exit 1; sleep 0.5; done');
    assert.equal(registry.code, 0, `the registry container does not run:\n${(await inside('docker ps -a; tail -n 20 /var/log/pilot/pilot.log')).output}`);

    // A first deploy, as install.test.ts's: git push of a static site, served through the container.
    const token = (await inside('cat /var/lib/pilot/admin-token')).output.trim();
    const created = await inside('pilot apps:create site');
    assert.equal(created.code, 0, created.output);
    const pushed = await inside(
      'set -e; mkdir -p /tmp/site && cd /tmp/site && git init -q -b main && echo "hello from a fresh manager" > index.html && ' +
        `git add . && git -c user.name=t -c user.email=t@t commit -qm site && git push http://pilot:${token}@127.0.0.1:3000/site.git main 2>&1`,
    );
    assert.equal(pushed.code, 0, `the push failed:\n${pushed.output}`);
    assert.match(pushed.output, /v1 is live on every task/);
    assert.match((await inside('docker service ls --format {{.Name}}')).output, /^pilot-site-web$/m, 'the app runs as a swarm service');
    const served = await inside(`curl -fsS --resolve site.localhost:443:127.0.0.1 --cacert ${ca} https://site.localhost/`);
    assert.equal(served.code, 0, served.output);
    assert.equal(served.output.trim(), 'hello from a fresh manager');
  });
});
