import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { integrationSkipReason, localImages, tempDir, testInstanceName } from '../helpers/integration.js';
import { startFreshMachine, type FreshMachine } from '../helpers/fresh-machine.js';
import { README, firstDeployScript } from '../helpers/readme.js';

const skip = integrationSkipReason();

describe('install.sh on a fresh Debian bookworm machine (a container with its own Docker engine)', { skip }, () => {
  const name = `${testInstanceName()}-fresh-machine`;
  const images = path.join(tempDir('images'), 'images.tar');
  let machine: FreshMachine | undefined;

  before(async () => {
    execFileSync('docker', ['save', '-o', images, localImages().staticImage]);
    machine = await startFreshMachine(name, [`${images}:/images.tar:ro`]);
  });
  after(async () => {
    await machine?.remove();
  });

  const inside = (script: string) => (machine as FreshMachine).inside(script);

  // A non-default port: the re-run, given no flags at all, must keep it (and the rest).
  const install = `bash /src/install.sh --domain localhost --port 3100 --static-image ${localImages().staticImage}`;
  const fetchSite = 'curl -fsS --resolve site.localhost:443:127.0.0.1 --cacert /var/lib/pilot/caddy/data/caddy/pki/authorities/local/root.crt https://site.localhost/';
  /** A laptop on the same machine: its own HOME, none of the test's CA settings, DNS from /etc/hosts. */
  const onLaptop = (script: string) => inside(`mkdir -p /tmp/laptop && cd /tmp/laptop && env -i HOME=/tmp/laptop PATH=/opt/pilot/runtime/node/bin:/usr/local/bin:/usr/bin:/bin bash -c '${script.replace(/'/g, `'\\''`)}'`);

  /** Polls /health every 0.1 s in the machine until stopped; the longest run without a 200 is the downtime. */
  async function measureDowntime<T>(during: () => Promise<T>): Promise<{ result: T; downtimeSeconds: number; samples: number }> {
    const poller = 'while :; do printf "%s %s\\n" "$(date +%s.%N)" "$(curl -s -o /dev/null -w %{http_code} --max-time 1 http://127.0.0.1:3100/health)"; sleep 0.1; done';
    await inside(`rm -f /tmp/health.log; setsid bash -c '${poller}' >/tmp/health.log 2>&1 & echo $! >/tmp/poller.pid`);
    try {
      return { result: await during(), ...(await readDowntime()) };
    } finally {
      await inside('kill -- -$(cat /tmp/poller.pid)');
    }
  }
  async function readDowntime(): Promise<{ downtimeSeconds: number; samples: number }> {
    const samples = (await inside('cat /tmp/health.log')).output.trim().split('\n').map((line) => line.split(' ')).filter((fields) => fields.length === 2);
    let longest = 0;
    let downSince: number | undefined;
    for (const [time, code] of samples) {
      if (code !== '200') downSince ??= Number(time);
      else if (downSince !== undefined) {
        longest = Math.max(longest, Number(time) - downSince);
        downSince = undefined;
      }
    }
    return { downtimeSeconds: longest, samples: samples.length };
  }

  it('checks DNS before anything is installed: names the records to create and what works without them', async () => {
    await inside('echo "203.0.113.9 pilot.example.test" >> /etc/hosts');
    const dry = await inside('bash /src/install.sh --dry-run --domain example.test');
    assert.equal(dry.code, 0, dry.output);
    const server = /this server: (\S+)/.exec(dry.output)?.[1];
    assert.ok(server, `the server's address is printed:\n${dry.output}`);
    assert.match(dry.output, /DNS: pilot\.example\.test resolves to 203\.0\.113\.9, not to this server/);
    assert.match(dry.output, /DNS: \*\.example\.test \(tried dns-check-\d+\.example\.test\) does not resolve/);
    assert.match(dry.output, new RegExp(`pilot\\.example\\.test\\. +A +${server.replace(/\./g, '\\.')}`));
    assert.match(dry.output, new RegExp(`\\*\\.example\\.test\\. +A +${server.replace(/\./g, '\\.')}`));
    assert.match(dry.output, /--tls internal +HTTPS now/);
    assert.match(dry.output, new RegExp(`--domain ${server.replace(/\./g, '\\.')}\\.sslip\\.io`));

    const refused = await inside('bash /src/install.sh --domain example.test');
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /error: DNS for example\.test does not point at this server/);
    assert.equal((await inside('test ! -e /opt/pilot && test ! -e /etc/pilot')).code, 0, 'nothing was installed');
  });

  it('installs Pilot quietly, prints how to reach and trust it; a client trusts the CA and deploys over HTTPS; upgrades in seconds', async () => {
    const first = await inside(install);
    assert.equal(first.code, 0, `install.sh failed:\n${first.output.slice(-6000)}`);
    console.log(`install.sh, first install:\n${first.output}`);
    assert.match(first.output, /==> checks\n {4}system: debian 12/);
    assert.match(first.output, /first install/);
    assert.match(first.output, /Node\.js v2\d\.\d+\.\d+/, 'a Node.js >= 20 was installed');
    assert.match(first.output, /==> building Pilot.*\n(?: {4}.*\n)* {4}took \d/, 'each step says how long it took');
    assert.match(first.output, /full log: \/var\/log\/pilot\/install\.log/);
    assert.doesNotMatch(first.output, /Setting up |Unpacking |gyp ERR!|npm warn/, 'no dpkg, npm or node-gyp output on the terminal');
    assert.match((await inside('cat /var/log/pilot/install.log')).output, /Setting up git/, 'the log holds every command output');
    assert.match(first.output, /HTTPS works \(certificate from Pilot's own CA\)/);
    assert.match(first.output, /==> Pilot is running \(/);
    assert.match(first.output, /server: +\d+\.\d+\.\d+\.\d+/);
    assert.match(first.output, /admin token \(shown once/);
    assert.match(first.output, /curl -fsSL https:\/\/pilot\.localhost\/cli\/install\.sh \| sh && pilot login https:\/\/pilot\.localhost/);
    assert.match(first.output, /pilot git:remote -a <app> && git push pilot main/);
    const plainGit = /git remote add pilot (https:\/\/pilot\.localhost\/)<app>\.git && git push pilot main/.exec(first.output);
    assert.ok(plainGit, 'the plain git line is printed');
    const token = (await inside('cat /var/lib/pilot/admin-token')).output.trim();
    assert.match(first.output, new RegExp(token), 'the admin token is printed');
    assert.equal((await inside('stat -c %a /etc/pilot/pilot.env')).output.trim(), '600');
    assert.match(first.output, /Pilot's CA \(--tls internal\): \/var\/lib\/pilot\/caddy\/data\/caddy\/pki\/authorities\/local\/root\.crt/);
    const fingerprint = /SHA-256 fingerprint: ([0-9A-F:]{95})/.exec(first.output)?.[1];
    assert.ok(fingerprint, 'the CA fingerprint is printed');
    const trust = ['curl -fsSk ', 'git config --global ', 'curl --cacert ', 'export NODE_EXTRA_CA_CERTS=', 'export CURL_CA_BUNDLE='].map((start) => {
      const line = first.output.split('\n').map((text) => text.trim()).find((text) => text.startsWith(start));
      assert.ok(line, `a trust command starting with "${start}" is printed`);
      return line.replace(/ +#.*$/, '');
    });
    const [, , curlTrust, nodeTrust] = trust as [string, string, string, string, string];

    const loaded = await inside('docker load -i /images.tar');
    assert.equal(loaded.code, 0, loaded.output);
    // The laptop: DNS for the names (a wildcard cannot go into /etc/hosts), openssl to compare the fingerprint.
    const prepared = await inside('apt-get install -y -qq openssl >/dev/null 2>&1; echo "127.0.0.1 pilot.localhost site.localhost" >> /etc/hosts; mkdir -p /tmp/laptop');
    assert.equal(prepared.code, 0, prepared.output);
    const untrusted = await onLaptop('git ls-remote https://pilot.localhost/site.git 2>&1');
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.output, /server certificate verification failed|unable to get local issuer certificate/, 'the error the README explains');
    const untrustedCurl = await onLaptop('curl -sS https://pilot.localhost/health 2>&1');
    assert.match(untrustedCurl.output, /unable to get local issuer certificate/, 'the error the README explains');

    // The README's first-deploy steps as written (CA trust, the CLI, login, remote, push), for this server and an app "site".
    const steps = firstDeployScript(fs.readFileSync(README, 'utf8'), { domain: 'localhost', app: 'site' });
    console.log(`the README's first-deploy steps, as run on the laptop:\n${steps}`);
    const written = await onLaptop(
      `set -e; echo ${Buffer.from(`set -e\n${steps}\n`).toString('base64')} | base64 -d > first-deploy.sh; echo ${token} > token; ` +
        'mkdir -p site && cd site && git init -q -b main && echo "hello from a fresh machine" > index.html && ' +
        'git add . && git -c user.name=t -c user.email=t@t commit -qm site',
    );
    assert.equal(written.code, 0, written.output);
    // "paste the token": pilot login reads it from its standard input.
    const pushed = await onLaptop('cd site && bash ../first-deploy.sh < ../token 2>&1');
    assert.equal(pushed.code, 0, `the README's first-deploy steps failed:\n${pushed.output}`);
    assert.match(pushed.output, new RegExp(`Fingerprint=${fingerprint}`), 'the downloaded CA is the one the installer printed');
    assert.match(pushed.output, /Switched traffic to v1/);
    assert.doesNotMatch((await onLaptop('cat site/.git/config')).output, new RegExp(token), 'the token stays out of .git/config');
    // One way everywhere: what the installer prints is what the README says.
    for (const printed of trust) assert.ok(steps.includes(printed), `the installer's "${printed}" is in the README's steps`);
    // On a terminal curl shows no progress meter; here stderr would carry one.
    const viaCurl = await onLaptop(`${curlTrust.replace('https://pilot.localhost/health', 'https://site.localhost/')} 2>/dev/null`);
    assert.equal(viaCurl.code, 0, viaCurl.output);
    assert.equal(viaCurl.output.trim(), 'hello from a fresh machine');
    const viaNode = await onLaptop(`${nodeTrust} && node -e "fetch('https://site.localhost/').then((r) => r.text()).then((t) => console.log(t.trim()))"`);
    assert.equal(viaNode.code, 0, viaNode.output);
    assert.equal(viaNode.output.trim(), 'hello from a fresh machine');

    const { result: second, downtimeSeconds, samples } = await measureDowntime(() => inside('bash /src/install.sh'));
    assert.equal(second.code, 0, `re-running install.sh failed:\n${second.output.slice(-6000)}`);
    console.log(`install.sh, upgrade:\n${second.output}`);
    // Reported, not asserted: a duration depends on the machine.
    console.log(`upgrade downtime: the control plane's /health did not answer 200 for ${downtimeSeconds.toFixed(1)} s (${samples} samples, every 0.1 s)`);
    assert.ok(samples > 10, 'the health endpoint was polled through the upgrade');
    assert.match(second.output, /upgrade: apps, releases, tokens and data stay/);
    assert.doesNotMatch(second.output, /shown once/, 'the token is not shown again');
    assert.equal((await inside('cat /var/lib/pilot/admin-token')).output.trim(), token);
    assert.equal((await inside(fetchSite)).output.trim(), 'hello from a fresh machine', 'the app is still served after the upgrade');
    const releases = await inside(`curl -fsS -H "Authorization: Bearer ${token}" http://127.0.0.1:3100/api/v1/apps/site/releases`);
    assert.equal((JSON.parse(releases.output) as unknown[]).length, 1, 'the release history is kept');
    // The settings of the first run were kept: the base image setting builds the next push.
    const again = await inside(
      `set -e; cd /tmp/laptop/site && echo "after the upgrade" > index.html && git -c user.name=t -c user.email=t@t commit -qam v2 && git push http://pilot:${token}@127.0.0.1:3100/site.git main 2>&1`,
    );
    assert.equal(again.code, 0, `push after the upgrade failed:\n${again.output}`);
    assert.equal((await inside(fetchSite)).output.trim(), 'after the upgrade');

    // Right after a deploy, while the old release drains: Pilot's stop does not wait for it.
    const uninstallStarted = Date.now();
    const kept = await inside('bash /src/install.sh --uninstall --keep-apps');
    assert.equal(kept.code, 0, kept.output);
    console.log(`install.sh --uninstall --keep-apps (${((Date.now() - uninstallStarted) / 1000).toFixed(1)} s, reported, not asserted):\n${kept.output}`);
    // Where a slow stop spent its time: Pilot's last log lines (their times) and the supervisor's.
    console.log((await inside('tail -n 6 /var/log/pilot/pilot.log | cut -c1-240; tail -n 3 /var/log/pilot/supervisor.log')).output);
    assert.match(kept.output, /==> left on this machine/);
    assert.match(kept.output, /running app containers: \S*site\S*/);
    assert.match(kept.output, /data: \/var\/lib\/pilot/);
    assert.equal((await inside('test ! -e /opt/pilot && test ! -e /etc/pilot && test -e /var/lib/pilot/pilot.db')).code, 0, 'files gone, data kept');
    assert.equal((await inside(fetchSite)).output.trim(), 'after the upgrade', 'a kept app keeps serving');

    const removed = await inside('bash /src/install.sh --uninstall --remove-apps');
    assert.equal(removed.code, 0, removed.output);
    assert.match(removed.output, /removed \d+ container\(s\) of the apps/);
    assert.doesNotMatch(removed.output, /running app containers/);
    assert.equal((await inside('docker ps -aq --filter label=pilot.instance=pilot')).output.trim(), '', 'no app container is left');
  });
});
