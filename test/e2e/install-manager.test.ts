import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { integrationSkipReason, localImages, tempDir, testInstanceName, waitFor } from '../helpers/integration.js';
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

interface Node { id: string; hostname: string; role: string; state: string; availability: string }
interface Process { type: string; state: string; node?: string }

describe('install.sh --manager on a fresh Debian bookworm machine: Pilot as the manager of a new swarm, and --join on a second one', { skip }, () => {
  const name = `${testInstanceName()}-fresh-manager`;
  const joinerName = `${testInstanceName()}-fresh-joiner`;
  const images = path.join(tempDir('manager-images'), 'images.tar');
  const { staticImage } = localImages();
  let machine: FreshMachine | undefined;
  let joiner: FreshMachine | undefined;
  let registryImage: string;
  let ca: string;
  const inside = (script: string) => (machine as FreshMachine).inside(script);
  const onJoiner = (script: string) => (joiner as FreshMachine).inside(script);
  const nodes = async () => {
    const listed = await inside('pilot --json nodes');
    assert.equal(listed.code, 0, listed.output);
    return JSON.parse(listed.output) as Node[];
  };

  before(async () => {
    await ensureFreshImage();
    registryImage = await ensureRegistryImage();
    const saved = await runCommand('docker', ['save', '-o', images, staticImage, registryImage]);
    assert.equal(saved.code, 0, saved.output);
    // As a swarm node of test/helpers/swarm-cluster.ts: the overlays' namespaces live under /run.
    machine = await startFreshMachine(name, [`${images}:/images.tar:ro`], ['--tmpfs', '/run:exec']);
    // Both on the engine's default bridge: each reaches the other at its address there.
    joiner = await startFreshMachine(joinerName, [], ['--tmpfs', '/run:exec'], 'joiner');
  });
  after(async () => {
    await Promise.all([machine?.remove(), joiner?.remove()]);
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
      `--static-image ${staticImage} --caddy-image ${staticImage} --registry-image ${registryImage} --advertise-addr ${await (machine as FreshMachine).address()}`;
    console.log(`on the fresh machine: ${command}`);
    const installed = await inside(command);
    assert.equal(installed.code, 0, `install.sh --manager failed:\n${installed.output.slice(-6000)}`);
    console.log(`install.sh --manager:\n${installed.output}`);
    assert.match(installed.output, /==> Docker Swarm: this server is the manager\n(?: {4}.*\n)* {4}swarm created \(docker swarm init\)/);
    assert.match(installed.output, new RegExp(`Caddy: the container pilot-caddy \\(${staticImage}\\), started by Pilot; none on the host`));
    assert.match(installed.output, /HTTPS works \(certificate from Pilot's own CA\)/, "install.sh checks HTTPS through Caddy's container");
    assert.match(installed.output, /pilot nodes:join-command/);
    const printedCa = /Pilot's CA \(--tls internal\): (\S+)/.exec(installed.output)?.[1];
    assert.ok(printedCa, "the CA's path is printed");
    ca = printedCa;
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
    const managers = JSON.parse(listed.output) as { role: string; state: string; leader: boolean }[];
    assert.deepEqual(managers.map(({ role, state, leader }) => ({ role, state, leader })), [{ role: 'manager', state: 'ready', leader: true }]);

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

  it('joins a second fresh server with the install.sh line `pilot nodes:join-command` prints: a wrong CA fingerprint or token changes nothing, the right line makes it a worker, a re-run keeps it', async () => {
    const printed = await inside('pilot nodes:join-command');
    assert.equal(printed.code, 0, printed.output);
    console.log(`pilot nodes:join-command:\n${printed.output}`);
    const line = /^ *(\.\/install\.sh --join .*)$/m.exec(printed.output)?.[1];
    assert.ok(line, `the install.sh line is printed once the registry runs:\n${printed.output}`);
    const managerAddress = await (machine as FreshMachine).address();
    const [, manager, token, registry, fingerprint] = /--join (\S+) --token (\S+) --registry (\S+) --registry-ca-sha256 (\S+)/.exec(line) ?? [];
    assert.equal(manager, `${managerAddress}:2377`, 'the manager is joined at the address it advertises');
    assert.equal(registry, `${managerAddress}:5000`);
    assert.ok(token && fingerprint);
    const caFile = `/etc/docker/certs.d/${registry}/ca.crt`;
    // As a user copies the one file over (/src is the checkout, read-only).
    assert.equal((await onJoiner('install -m 0755 /src/install.sh /root/install.sh')).code, 0);
    const run = (command: string) => onJoiner(`cd /root && ${command}`);

    // A registry whose CA is not the one given: refused before Docker is even installed.
    const otherFingerprint = Array.from({ length: 32 }, () => 'AB').join(':');
    const wrongCa = await run(line.replace(fingerprint, otherFingerprint));
    assert.notEqual(wrongCa.code, 0, wrongCa.output);
    console.log(`install.sh --join with another CA fingerprint:\n${wrongCa.output}`);
    const seen = fingerprint.replaceAll(':', '');
    assert.match(wrongCa.output, new RegExp(`the registry at ${registry} presents a CA with SHA-256 ${seen}, not the ${'AB'.repeat(32)} given: not trusted, not joined, nothing installed`));
    assert.notEqual((await onJoiner('command -v dockerd')).code, 0, 'no Docker installed');
    assert.equal((await onJoiner(`test ! -e ${caFile}`)).code, 0, 'no CA trusted');
    assert.equal((await nodes()).length, 1, 'no node joined');

    // A token the manager refuses (its secret part changed): told so, the CA taken back, no swarm.
    const wrongToken = await run(line.replace(token, token.replace(/-[^-]+$/, `-${'0'.repeat(25)}`)));
    assert.notEqual(wrongToken.code, 0, wrongToken.output);
    console.log(`install.sh --join with a wrong token:\n${wrongToken.output}`);
    assert.match(wrongToken.output, /the manager at \S+ refused the token .*`pilot nodes:join-command` on the manager prints the current line\. Not joined; the CA trusted above is removed again/);
    assert.equal((await onJoiner('docker info --format {{.Swarm.LocalNodeState}}')).output.trim(), 'inactive');
    assert.equal((await onJoiner(`test ! -e ${caFile}`)).code, 0, 'the CA is not left trusted');
    assert.equal((await nodes()).length, 1, 'no node joined');

    const joined = await run(line);
    assert.equal(joined.code, 0, `install.sh --join failed:\n${joined.output.slice(-6000)}`);
    console.log(`install.sh --join:\n${joined.output}`);
    assert.match(joined.output, new RegExp(`trusted Pilot's registry: ${caFile.replaceAll('.', '\\.')}`));
    assert.match(joined.output, /This node joined a swarm as a worker/);
    assert.match(joined.output, /==> this server is a node of the swarm/);
    assert.doesNotMatch(joined.output, /Node\.js|Caddy/, 'no Pilot, Node.js or Caddy on a node');
    assert.doesNotMatch((await onJoiner('cat /etc/docker/daemon.json')).output, /insecure-registries/);
    const node = await waitFor('the joined server ready in `pilot nodes`', async () =>
      (await nodes()).find((candidate) => candidate.hostname === 'joiner' && candidate.state === 'ready'), 60_000, 500);
    assert.deepEqual({ role: node.role, availability: node.availability }, { role: 'worker', availability: 'active' });

    const joinedIds = (await nodes()).map(({ id }) => id).sort();
    const again = await run(line);
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, new RegExp(`==> the engine is in a swarm already \\(node ${node.id}\\): nothing changed`));
    assert.deepEqual((await nodes()).map(({ id }) => id).sort(), joinedIds, 'the re-run joined nothing more');
  });

  it("runs the app's tasks on the joined server, pulled from Pilot's registry over TLS, answering through the Caddy container", async () => {
    const processes = async () => {
      const listed = await inside('pilot --json ps -a site');
      assert.equal(listed.code, 0, listed.output);
      return (JSON.parse(listed.output) as Process[]).filter((process) => process.type === 'web');
    };
    const scaled = await inside('pilot ps:scale web=2 -a site');
    assert.equal(scaled.code, 0, scaled.output);
    // Swarm spreads a service's tasks: the second one goes to the node that has none.
    await waitFor('a web task running on the joined server', async () =>
      (await processes()).find((process) => process.node === 'joiner' && process.state === 'running'), 120_000, 500);
    const pulled = await onJoiner('docker image ls --format {{.Repository}}');
    assert.match(pulled.output, new RegExp(`^${(await (machine as FreshMachine).address()).replaceAll('.', '\\.')}:5000/\\S*site$`, 'm'), 'the image came from Pilot\'s registry');

    // With the manager drained, only the joined server's tasks are left to answer.
    const drained = await inside('pilot nodes:drain fresh');
    assert.equal(drained.code, 0, drained.output);
    await waitFor('every web task on the joined server, none left on the manager', async () => {
      const web = await processes();
      const onManager = await inside("docker ps -q --filter label=com.docker.swarm.service.name=pilot-site-web");
      return web.length === 2 && web.every((process) => process.node === 'joiner' && process.state === 'running') && onManager.output.trim() === '' ? web : undefined;
    }, 180_000, 500);
    const served = await waitFor('an answer through Caddy from the joined server', async () => {
      const answer = await inside(`curl -fsS --resolve site.localhost:443:127.0.0.1 --cacert ${ca} https://site.localhost/`);
      return answer.code === 0 ? answer.output : undefined;
    }, 60_000, 500);
    assert.equal(served.trim(), 'hello from a fresh manager');
    const activated = await inside('pilot nodes:activate fresh');
    assert.equal(activated.code, 0, activated.output);
  });
});
