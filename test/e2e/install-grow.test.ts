import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { integrationSkipReason, localImages, tempDir, testInstanceName } from '../helpers/integration.js';
import { ensureFreshImage, startFreshMachine, type FreshMachine } from '../helpers/fresh-machine.js';
import { ensureRegistryImage } from '../helpers/registry-image.js';
import { runCommand } from '../helpers/command.js';

const skip = integrationSkipReason();

/**
 * Growing from one server to several, on the server that has run Pilot alone: install.sh
 * --manager re-run on a single-host install. Its own file rather than a case of install.test.ts:
 * that one ends by uninstalling the single-host Pilot, which must stay its last step.
 */
describe('install.sh --manager re-run on a single-host install: its apps move onto the swarm without a push', { skip }, () => {
  const name = `${testInstanceName()}-fresh-grow`;
  const images = path.join(tempDir('grow-images'), 'images.tar');
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

  it('a site pushed on one host serves through the Caddy container after the re-run, as a task, its old container gone', async () => {
    const installed = await inside(`bash /src/install.sh --domain localhost --static-image ${staticImage}`);
    assert.equal(installed.code, 0, `install.sh (one host) failed:\n${installed.output.slice(-6000)}`);
    const loaded = await inside('docker load -i /images.tar');
    assert.equal(loaded.code, 0, loaded.output);
    const token = (await inside('cat /var/lib/pilot/admin-token')).output.trim();
    assert.equal((await inside('pilot apps:create site')).code, 0);
    const pushed = await inside(
      'set -e; mkdir -p /tmp/site && cd /tmp/site && git init -q -b main && echo "hello from one host" > index.html && ' +
        `git add . && git -c user.name=t -c user.email=t@t commit -qm site && git push http://pilot:${token}@127.0.0.1:3000/site.git main 2>&1`,
    );
    assert.equal(pushed.code, 0, `the push failed:\n${pushed.output}`);
    const hostCa = '/var/lib/pilot/caddy/data/caddy/pki/authorities/local/root.crt';
    const onOneHost = await inside(`curl -fsS --resolve site.localhost:443:127.0.0.1 --cacert ${hostCa} https://site.localhost/`);
    assert.equal(onOneHost.output.trim(), 'hello from one host', onOneHost.output);
    const oldContainers = (await inside('docker ps -aq --no-trunc --filter label=pilot.app=site')).output.trim().split('\n').filter(Boolean);
    assert.ok(oldContainers.length > 0, 'the site runs in a container of its own');
    // An app with storage: on the swarm its volume pins it to the manager, and one writer at a time.
    assert.equal((await inside('pilot apps:create notes')).code, 0);
    const notesPushed = await inside(
      'set -e; mkdir -p /tmp/notes && cd /tmp/notes && git init -q -b main && echo "notes kept on a volume" > index.html && ' +
        `git add . && git -c user.name=t -c user.email=t@t commit -qm notes && git push http://pilot:${token}@127.0.0.1:3000/notes.git main 2>&1`,
    );
    assert.equal(notesPushed.code, 0, `the push of notes failed:\n${notesPushed.output}`);
    const mounted = await inside('pilot storage:mount /data -a notes');
    assert.equal(mounted.code, 0, mounted.output);

    const grown = await inside(`bash /src/install.sh --manager --caddy-image ${staticImage} --registry-image ${registryImage}`);
    console.log(`install.sh --manager, re-run:\n${grown.output}`);
    assert.equal(grown.code, 0, `install.sh --manager (re-run) failed:\n${grown.output.slice(-6000)}\n${(await inside('tail -n 40 /var/log/pilot/pilot.log | cut -c1-400')).output}`);
    assert.match(grown.output, /upgrade: apps, releases, tokens and data stay/);
    assert.match(grown.output, /turning it off and restarting Docker/, 'the live-restore the single-host install wrote is taken out');
    assert.match(grown.output, /stopping the Caddy the single-host Pilot ran on the host/);
    assert.match(grown.output, /HTTPS works \(certificate from Pilot's own CA\)/);
    const grownAt = Date.now();
    const ca = /Pilot's CA \(--tls internal\): (\S+)/.exec(grown.output)?.[1];
    assert.ok(ca, "the CA's path is printed");

    // No push: Pilot's start puts the site on the swarm in the background.
    const served = await inside(
      `deadline=$((SECONDS + 300)); until [ "$(curl -fsS --max-time 5 --resolve site.localhost:443:127.0.0.1 --cacert ${ca} https://site.localhost/ 2>/dev/null)" = "hello from one host" ]; ` +
        'do [ $SECONDS -lt $deadline ] || exit 1; sleep 1; done',
    );
    assert.equal(served.code, 0, `the site is not served through the Caddy container:\n${(await inside('docker ps -a; docker service ls; pilot events -a site; tail -n 40 /var/log/pilot/pilot.log | cut -c1-400')).output}`);
    // Reported, not asserted: a duration depends on the machine.
    console.log(`the site served through the Caddy container ${((Date.now() - grownAt) / 1000).toFixed(1)} s after install.sh --manager returned`);
    assert.equal((await inside('docker inspect -f {{.State.Running}} pilot-caddy')).output.trim(), 'true');
    assert.match((await inside('docker service ls --format {{.Name}}')).output, /^pilot-site-web$/m, 'the site runs as a swarm service');

    // Its container from one host goes once the service serves (just after the restore).
    const gone = await inside(`deadline=$((SECONDS + 60)); while docker inspect ${oldContainers.join(' ')} >/dev/null 2>&1; do [ $SECONDS -lt $deadline ] || exit 1; sleep 1; done`);
    assert.equal(gone.code, 0, `the container from one host is still there:\n${(await inside('docker ps -a')).output}`);
    const ps = await inside('pilot --json ps -a site');
    assert.equal(ps.code, 0, ps.output);
    const tasks = JSON.parse(ps.output) as { type: string; index: number | null; release: number; state: string; node?: string }[];
    assert.deepEqual(tasks.map(({ type, index, release, state, node }) => ({ type, index, release, state, node })), [{ type: 'web', index: 1, release: 1, state: 'running', node: 'fresh' }], 'its task, on the manager');
    const events = await inside('pilot events -a site');
    assert.match(events.output, /release\.restored: v1 moved onto the swarm \(v1 has no service on the swarm: it ran on one host before swarm mode\); its containers from one host were removed/);
    const notes = await inside(
      `deadline=$((SECONDS + 300)); until [ "$(curl -fsS --max-time 5 --resolve notes.localhost:443:127.0.0.1 --cacert ${ca} https://notes.localhost/ 2>/dev/null)" = "notes kept on a volume" ]; ` +
        'do [ $SECONDS -lt $deadline ] || exit 1; sleep 1; done',
    );
    assert.equal(notes.code, 0, `the app with storage is not served through the Caddy container:\n${(await inside('docker ps -a; docker service ls; pilot events -a notes; tail -n 40 /var/log/pilot/pilot.log | cut -c1-400')).output}`);
    assert.match((await inside('pilot events -a notes')).output, /release\.restored: v\d+ moved onto the swarm .*its containers from one host were stopped first .*its data is on its volumes/);
    assert.match((await inside('docker node inspect self --format "{{json .Spec.Labels}}"')).output, /pilot\.volume\./, 'the manager holds the volume');
    const releases = await inside(`curl -fsS -H "Authorization: Bearer ${token}" http://127.0.0.1:3000/api/v1/apps/site/releases`);
    assert.equal((JSON.parse(releases.output) as unknown[]).length, 1, 'no new release: the one that served on one host');
  });
});
