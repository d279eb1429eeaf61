import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import tarFs from 'tar-fs';
import { integrationSkipReason, localImages, tempDir, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';
import { runPilot, type CliResult } from '../helpers/cli.js';
import { writeZip } from '../helpers/archives.js';
import type { ReleaseView } from '../../src/domain/shapes.js';

const skip = integrationSkipReason();

/** A Node.js server answering `text` on $PORT. */
function serverJs(text: string): string {
  return `require('http').createServer((request, response) => response.end(${JSON.stringify(text)})).listen(process.env.PORT || 8080);\n`;
}

function writeFiles(dir: string, files: Record<string, string>): string {
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

describe('deploys without git push: a directory, a ZIP, an image, a docker save tarball (real Docker, Caddy)', { skip }, () => {
  let pilot: TestPilot;
  let home: string;
  const docker = new Docker();

  before(async () => {
    pilot = await startTestPilot();
    home = tempDir('sources-home');
  });
  after(async () => {
    await pilot?.close();
  });

  function pilotCli(args: string[], cwd = home): Promise<CliResult> {
    return runPilot(args, cwd, { HOME: home, PILOT_URL: pilot.server.address, PILOT_TOKEN: pilot.token });
  }

  async function ok(args: string[], cwd = home): Promise<string> {
    const result = await pilotCli(args, cwd);
    assert.equal(result.code, 0, `pilot ${args.join(' ')} failed:\n${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  async function releases(app: string): Promise<ReleaseView[]> {
    return JSON.parse(await ok(['releases', '-a', app, '--json'])) as ReleaseView[];
  }

  /** Builds a local image FROM the node base image (labelled with the instance, so the Pilot's cleanup removes it). */
  async function buildLocalImage(name: string, text: string): Promise<void> {
    const context = writeFiles(tempDir('image'), {
      Dockerfile: `FROM ${localImages().nodeImage}\nWORKDIR /srv\nCOPY server.js .\nEXPOSE 8080\nCMD ["node", "server.js"]\n`,
      'server.js': serverJs(text),
    });
    const stream = await docker.buildImage(tarFs.pack(context) as unknown as NodeJS.ReadableStream, {
      t: name, labels: { 'pilot.instance': pilot.server.config.instance }, version: '1',
    });
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null, events: { error?: string }[]) => {
        const failed = error ?? events.find((event) => event.error);
        if (failed) reject(failed instanceof Error ? failed : new Error(failed.error));
        else resolve();
      }),
    );
  }

  it('deploys a directory (minus its .pilotignore) and serves it over HTTPS through Caddy', async () => {
    const dir = writeFiles(tempDir('site'), {
      'index.html': '<h1>from a directory</h1>',
      'private/notes.txt': 'not for the server',
      '.pilotignore': 'private/\n',
    });
    await ok(['apps:create', 'site']);
    const output = await ok(['deploy', dir, '-a', 'site']);
    assert.match(output, /-----> Packed 2 files of /);
    assert.match(output, /-----> Receiving archive sha256:[0-9a-f]{12} \(tar\.gz\) for site/);
    assert.match(output, /Detected static site/i);
    const answer = await pilot.get('site');
    assert.equal(answer.status, 200);
    assert.match(answer.body, /from a directory/);
    assert.equal((await pilot.get('site', '/private/notes.txt')).status, 404, 'the ignored file was not sent');
    const [release] = await releases('site');
    assert.match(release?.source ?? '', /^archive sha256:[0-9a-f]{64}$/);
  });

  it('deploys a ZIP made by zip(1) and serves it over HTTPS', async () => {
    const dir = writeFiles(tempDir('zipped'), {
      'package.json': JSON.stringify({ name: 'zipped', version: '1.0.0', scripts: { start: 'node server.js' } }),
      'server.js': serverJs('hello from a zip'),
    });
    const zip = path.join(tempDir('zip-file'), 'app.zip');
    execFileSync('zip', ['-q', '-r', zip, '.'], { cwd: dir });
    await ok(['apps:create', 'zipped']);
    const output = await ok(['deploy', '--archive', zip, '-a', 'zipped']);
    assert.match(output, /Receiving archive sha256:[0-9a-f]{12} \(zip\) for zipped/);
    assert.equal((await pilot.get('zipped')).body, 'hello from a zip');
  });

  it('refuses a zip-slip archive naming the entry, writes nothing, and the live release serves on', async () => {
    const before = await releases('site');
    const escapeName = `pilot-zip-slip-${pilot.server.config.instance}`;
    const zip = path.join(tempDir('evil'), 'evil.zip');
    await writeZip(zip, [{ name: 'index.html', content: '<h1>replaced</h1>' }, { name: `../../../../../../../../tmp/${escapeName}`, content: 'escaped' }]);
    const result = await pilotCli(['deploy', '--archive', zip, '-a', 'site']);
    assert.notEqual(result.code, 0, result.stdout);
    assert.match(result.stderr, new RegExp(`the entry "(\\.\\./)+tmp/${escapeName}" has "\\.\\." in its path: nothing was deployed`));
    assert.equal(fs.existsSync(`/tmp/${escapeName}`), false);
    const written = (fs.readdirSync(pilot.server.config.dataDir, { recursive: true }) as string[]).filter((file) => file.includes(escapeName) || file.endsWith('evil.zip'));
    assert.deepEqual(written, [], 'nothing of the upload is left in the data directory');
    assert.deepEqual((await releases('site')).map((release) => release.version), before.map((release) => release.version), 'no release was made');
    assert.match((await pilot.get('site')).body, /from a directory/);
  });

  it('runs a docker save tarball and a local image (EXPOSE, CMD) through Caddy, and rolls back from the image', async () => {
    const instance = pilot.server.config.instance;
    const [first, second] = [`${instance}-prebuilt/web:1`, `${instance}-prebuilt/web:2`];
    await buildLocalImage(first, 'image one');
    await buildLocalImage(second, 'image two');
    await ok(['apps:create', 'imaged']);

    const saved = path.join(tempDir('saved'), 'web.tar');
    execFileSync('docker', ['save', first, '-o', saved]);
    const loaded = await ok(['deploy', '--image-archive', saved, '-a', 'imaged']);
    assert.match(loaded, new RegExp(`Loaded image: ${first.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    assert.equal((await pilot.get('imaged')).body, 'image one');

    const output = await ok(['deploy', '--image', second, '-a', 'imaged']);
    assert.match(output, new RegExp(`Running image ${second.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(sha256:[0-9a-f]{12}\\) as ${instance}/imaged:v2`));
    assert.equal((await pilot.get('imaged')).body, 'image two');
    const [image, archived] = await releases('imaged');
    assert.match(image?.source ?? '', new RegExp(`^image ${second.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}@sha256:[0-9a-f]{64}$`));
    assert.equal(image?.image, `${instance}/imaged:v2`);
    assert.equal(image?.buildpack, null);
    assert.match(archived?.source ?? '', /^image .+@sha256:[0-9a-f]{64}$/);

    await ok(['rollback', '-a', 'imaged']);
    await waitFor('the rollback to serve', async () => ((await pilot.get('imaged')).body === 'image one' ? true : undefined));
    const [rolledBack] = await releases('imaged');
    assert.equal(rolledBack?.kind, 'rollback');
    assert.equal(rolledBack?.source, archived?.source, 'a rollback keeps the source of the image it runs');
  });

  it('fails an image the engine has not and cannot pull, and the live release serves on', async () => {
    const result = await pilotCli(['deploy', '--image', `${pilot.server.config.instance}-missing/none:1`, '-a', 'imaged']);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout, /cannot pull it/);
    assert.match(result.stdout, /v3 is still serving/);
    assert.equal((await pilot.get('imaged')).body, 'image one');
  });
});
