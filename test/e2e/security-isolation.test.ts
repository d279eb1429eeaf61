import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { GitClient, httpsGet, integrationSkipReason, localImages, remoteUrl, tempDir } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();
const docker = new Docker();

/** A node app answering its name and a secret baked into its image. */
function nodeApp(name: string): Record<string, string> {
  return {
    'package.json': JSON.stringify({ name, scripts: { start: 'node server.js' } }),
    'server.js': `require('http').createServer((q, s) => s.end('${name} says ' + require('fs').readFileSync(__dirname + '/secret.txt', 'utf8'))).listen(process.env.PORT);\n`,
    'secret.txt': `${name}-baked-secret`,
  };
}

/**
 * Apps kept apart (issue 18, items 1, 2, 3 and 8), each attack reproduced against a real Pilot:
 * builds reading other apps' images, containers reaching each other, what a container may do,
 * links and mounts out of place, and HTTPS while the Pilot process is down.
 */
describe('security: apps are kept apart, and HTTPS needs no Pilot process', { skip }, () => {
  let pilot: TestPilot;
  let instance: string;
  const hostOnlyRepository = `host-only-${process.pid}/secret`;
  const hostOnlyImage = `${hostOnlyRepository}:1`;

  before(async () => {
    pilot = await startTestPilot({ PILOT_APP_PIDS: '300', PILOT_BUILD_MEMORY: '300m', PILOT_BUILD_CPUS: '0.5', PILOT_BUILD_PIDS: '100' });
    instance = pilot.server.config.instance;
    for (const name of ['victim', 'attacker']) {
      const client = new GitClient(tempDir(name));
      await client.init();
      await client.commit(nodeApp(name));
      const pushed = await pilot.push(client, name);
      assert.equal(pushed.code, 0, `push of ${name} failed:\n${pushed.stderr}`);
    }
    // An image only this host has (built here, never pulled), as an operator's own would be.
    await docker.getImage(localImages().staticImage).tag({ repo: hostOnlyRepository, tag: '1' });
  });
  after(async () => {
    await docker.getImage(hostOnlyImage).remove().catch(() => undefined);
    await pilot?.close();
  });

  function api(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: object) {
    return pilot.server.app.inject({ method, url: `/api/v1${url}`, headers: { authorization: `Bearer ${pilot.token}` }, ...(body ? { payload: body } : {}) });
  }

  async function webContainer(app: string): Promise<Docker.ContainerInspectInfo> {
    const [summary] = await docker.listContainers({ filters: { label: [`pilot.instance=${instance}`, `pilot.app=${app}`, 'pilot.process=web'], status: ['running'] } });
    assert.ok(summary, `${app} has a running web container`);
    return docker.getContainer(summary.Id).inspect();
  }

  /** Runs a command in the app's web container; its output. */
  async function exec(app: string, command: string[]): Promise<string> {
    const container = docker.getContainer((await webContainer(app)).Id);
    const run = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
    const stream = await run.start({});
    const chunks: Buffer[] = [];
    const stdout = { write: (chunk: Buffer) => chunks.push(chunk) } as unknown as NodeJS.WritableStream;
    docker.modem.demuxStream(stream, stdout, stdout);
    await new Promise((resolve) => stream.on('end', resolve));
    return Buffer.concat(chunks).toString('utf8');
  }

  /** What the attacker's container gets from a URL: the body, or the error that stopped it. */
  function fetchFromAttacker(url: string): Promise<string> {
    const script = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(3000) }).then((r) => r.text()).then((t) => console.log('ANSWER ' + t), (e) => console.log('REFUSED ' + (e.cause?.code ?? e.name)))`;
    return exec('attacker', ['node', '-e', script]);
  }

  async function victimUrl(): Promise<string> {
    const info = await webContainer('victim');
    const ip = Object.values(info.NetworkSettings.Networks).map((network) => network.IPAddress).find((address) => address !== '');
    return `http://${ip}:5000/`;
  }

  it("refuses a Dockerfile built from another app's image or one only this host has, before building, saying how to allow it", async () => {
    const thief = new GitClient(tempDir('thief'));
    await thief.init();
    const attempts = [
      [`FROM ${instance}/victim:v1\nCMD ["cat", "/app/secret.txt"]\n`, `FROM on line 1: ${instance}/victim:v1 is another app's image on this Pilot`],
      [`FROM ${localImages().staticImage}\nCOPY --from=${instance}/victim:v1 /app/secret.txt /srv/\n`, `COPY on line 2: ${instance}/victim:v1 is another app's image`],
      [`ARG BASE=${localImages().staticImage}\nFROM \${BASE}\nARG LOOT=docker.io/${instance}/victim:v1\nCOPY --from=$LOOT /app /srv/\n`, `COPY on line 4: docker.io/${instance}/victim:v1 is another app's image`],
      [`FROM ${hostOnlyImage}\n`, `FROM on line 1: ${hostOnlyImage} exists only on this host`],
      // A trigger the app's own next build (FROM its own image) would run.
      [`FROM ${localImages().staticImage}\nONBUILD COPY --from=${instance}/victim:v1 /app /loot\n`, `ONBUILD COPY on line 2: ${instance}/victim:v1 is another app's image`],
    ];
    for (const [dockerfile, refusal] of attempts) {
      await thief.commit({ Dockerfile: dockerfile as string });
      const pushed = await pilot.push(thief, 'thief');
      assert.notEqual(pushed.code, 0, `refused: ${dockerfile}`);
      assert.ok(pushed.stderr.includes(refusal as string), `says what was refused (${refusal}):\n${pushed.stderr}`);
      assert.match(pushed.stderr, /the operator can allow an image with PILOT_BUILD_ALLOWED_IMAGES/);
      assert.doesNotMatch(pushed.stderr, /victim-baked-secret|Step 1\//, 'nothing was built, nothing of the other app was read');
    }
    const releases = pilot.server.db.prepare("SELECT status FROM releases WHERE app_id = (SELECT id FROM apps WHERE name = 'thief')").all() as { status: string }[];
    assert.ok(releases.every((release) => release.status === 'failed'), 'no release of the thief went live');
    assert.match((await pilot.get('victim')).body, /victim says victim-baked-secret/, 'the victim serves on');
  });

  it("caps a build's steps in memory and CPU (PILOT_BUILD_MEMORY, PILOT_BUILD_CPUS), as the kernel reads them", async () => {
    const client = new GitClient(tempDir('capped'));
    await client.init();
    const read = 'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us';
    await client.commit({ Dockerfile: `FROM ${localImages().staticImage}\nRUN (${read}) | sed 's/^/limit: /' && exit 3\n` });
    const pushed = await pilot.push(client, 'capped');
    assert.notEqual(pushed.code, 0);
    assert.match(pushed.stderr, /limit: 314572800/, `300m of memory:\n${pushed.stderr}`);
    assert.match(pushed.stderr, /limit: 50000( 100000)?\b/, 'half a CPU: 50 ms of every 100 ms');
  });

  it("caps a build's processes (PILOT_BUILD_PIDS): a fork bomb in a Dockerfile stops there, and the host is untouched", async () => {
    const client = new GitClient(tempDir('forker'));
    await client.init();
    // 300 background processes against a cap of 100: forks fail inside the build, not on the host.
    await client.commit({ Dockerfile: `FROM ${localImages().staticImage}\nRUN for i in $(seq 1 300); do sleep 5 & done; wait; echo forked-them-all\n` });
    const pushed = await pilot.push(client, 'forker');
    assert.notEqual(pushed.code, 0, 'the build fails');
    assert.match(pushed.stderr, /can't fork|Resource temporarily unavailable|fork failed/i, pushed.stderr);
    assert.doesNotMatch(pushed.stderr, /not capped in processes/);
    assert.match((await pilot.get('victim')).body, /victim says/, 'other apps serve on');
  });

  it('keeps every app on its own network: another app answers only through Caddy, until the two are linked', async () => {
    assert.match(await fetchFromAttacker(await victimUrl()), /^REFUSED /m, "the victim's container is out of the attacker's reach");
    assert.match((await pilot.get('victim')).body, /victim says/, 'Caddy, a host process, reaches it');
    assert.match((await pilot.get('attacker')).body, /attacker says/);

    const linked = await api('POST', '/apps/attacker/links', { app: 'victim' });
    assert.equal(linked.statusCode, 200, linked.body);
    assert.deepEqual(linked.json(), { links: ['victim'], linkedFrom: [] });
    assert.match(await fetchFromAttacker('http://victim:5000/'), /^ANSWER victim says/m, 'a linked app reaches the web processes by name');

    const unlinked = await api('DELETE', '/apps/attacker/links/victim');
    assert.equal(unlinked.statusCode, 200, unlinked.body);
    assert.match(await fetchFromAttacker(await victimUrl()), /^REFUSED /m, 'unlinked, apart again');
    assert.equal((await api('DELETE', '/apps/attacker/links/victim')).statusCode, 404);
  });

  it('runs containers without NET_RAW and the rest of what apps do not need, with no-new-privileges and PILOT_APP_PIDS; NET_RAW only when given back', async () => {
    const info = await webContainer('victim');
    assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);
    assert.equal((info.HostConfig.CapAdd ?? []).includes('NET_RAW'), false);
    assert.ok((info.HostConfig.SecurityOpt ?? []).includes('no-new-privileges:true'));
    assert.equal(info.HostConfig.PidsLimit, 300);
    // What the kernel holds the process to, read inside the container.
    const status = await exec('victim', ['cat', '/proc/1/status']);
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    const netRaw = (bounding: string) => (BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(bounding)?.[1] ?? '0'}`) >> 13n) & 1n;
    assert.equal(netRaw(status), 0n, 'NET_RAW (bit 13) is not in the bounding set');
    assert.match(await exec('victim', ['cat', '/sys/fs/cgroup/pids/pids.max']), /^300$/m);

    const refused = await api('PATCH', '/apps/victim/limits', { capAdd: ['SYS_ADMIN'] });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.json().message, /the capabilities an app may get back are NET_RAW, .* never more/);
    const given = await api('PATCH', '/apps/victim/limits', { capAdd: ['net_raw'] });
    assert.equal(given.statusCode, 200, given.body);
    assert.deepEqual(given.json().limits.capAdd, ['NET_RAW']);
    assert.equal(netRaw(await exec('victim', ['cat', '/proc/1/status'])), 1n, 'the new release has NET_RAW back');
    assert.equal((await api('PATCH', '/apps/victim/limits', { capAdd: null })).statusCode, 200);
  });

  it('refuses a link through nested links that leads out of the tree, resolved as the kernel does', async () => {
    const evil = new GitClient(tempDir('nested'));
    await evil.init();
    await evil.commit(nodeApp('attacker'));
    const nested = path.join(evil.workDir, 'a/b/c/d/e/f/g');
    fs.mkdirSync(nested, { recursive: true });
    fs.symlinkSync('../../../../../../..', path.join(nested, 'h'));
    fs.symlinkSync('a/b/c/d/e/f/g/h/../../../../etc/passwd', path.join(evil.workDir, 'passwd'));
    await evil.commit({});
    // Forced: the attacker's repository has its own history.
    const pushed = await evil.run(['push', '--force', remoteUrl(pilot.server.address, 'attacker', pilot.token), 'HEAD:refs/heads/main']);
    assert.notEqual(pushed.code, 0);
    assert.match(pushed.stderr, /the symlink passwd points outside the repository: nothing was deployed/);
    assert.match((await pilot.get('attacker')).body, /attacker says/, 'the live release serves on');
  });

  it('refuses volumes over system directories, and a mount that fails at start leaves no volume behind', async () => {
    const volumes = async () => ((await docker.listVolumes({ filters: { label: [`pilot.instance=${instance}`, 'pilot.app=victim'] } })).Volumes ?? []).map((volume) => volume.Name);
    for (const mountPath of ['/proc', '/sys/fs', '/etc', '/bin', '/dev', '/usr/lib', '/run/secrets']) {
      const refused = await api('POST', '/apps/victim/storage', { path: mountPath });
      assert.equal(refused.statusCode, 400, `${mountPath}: ${refused.body}`);
      assert.match(refused.json().message, new RegExp(`^cannot mount a volume at ${mountPath}: /\\w+ belongs to the system inside the container`));
    }
    assert.deepEqual(await volumes(), []);
    // A volume over a file of the image: the container cannot start.
    const failed = await api('POST', '/apps/victim/storage', { path: '/app/server.js' });
    assert.ok(failed.statusCode >= 400, failed.body);
    assert.match(failed.json().message, /is still serving/);
    assert.deepEqual(await volumes(), [], 'the volume made for the failed mount is gone');
    assert.deepEqual((await api('GET', '/apps/victim/storage')).json(), []);
    assert.match((await pilot.get('victim')).body, /victim says/);
  });

  // Last: it stops the Pilot process.
  it('serves an app over HTTPS for the first time while Pilot is stopped, and no name that is not Pilot\'s', async () => {
    const client = new GitClient(tempDir('fresh'));
    await client.init();
    await client.commit(nodeApp('fresh'));
    assert.equal((await pilot.push(client, 'fresh')).code, 0);
    assert.equal((await api('POST', '/apps/victim/domains', { domain: 'www.victim.example' })).statusCode, 201);
    await pilot.stop();

    // No HTTPS request has reached these names before: Caddy decides alone whether to issue.
    const ca = pilot.caFile;
    assert.match((await pilot.get('fresh')).body, /fresh says fresh-baked-secret/);
    const custom = await httpsGet({ host: 'www.victim.example', port: pilot.httpsPort, ca });
    assert.match(custom.body, /victim says/);
    await assert.rejects(httpsGet({ host: 'nobody.localhost', port: pilot.httpsPort, ca, timeoutMs: 5000 }), 'no certificate for a name Pilot does not serve');
    await assert.rejects(httpsGet({ host: 'www.other.example', port: pilot.httpsPort, ca, timeoutMs: 5000 }));
  });
});
