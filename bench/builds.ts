/**
 * Push-to-live for Pilot and its baseline: `docker build` of the very Dockerfile Pilot
 * generates + `docker run` + the first 200 straight from the container.
 */
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTemplateRenderer } from '../src/adapters/templates.js';
import { detectBuildpack, isReadFile } from '../src/pipeline/detect.js';
import { GitClient, localImages, pushToLive, tempDir, until, type TestPilot } from './lib.js';

const run = promisify(execFile);

/** Pilot: a push of `files` to a new app (cold), then of `change` (warm); the app is destroyed after, with its images and build cache. */
export async function pilotPushes(
  pilot: TestPilot,
  app: string,
  files: Record<string, string>,
  change: Record<string, string>,
  expected: { cold: string; warm: string },
): Promise<{ cold: number; warm: number }> {
  const client = new GitClient(tempDir(`bench-${app}`));
  await client.init();
  await client.commit(files);
  try {
    const cold = await pushToLive(pilot, client, app, expected.cold);
    await client.commit(change);
    const warm = await pushToLive(pilot, client, app, expected.warm);
    return { cold, warm };
  } finally {
    await pilot.server.deployer.settle();
    const destroyed = await pilot.server.app.inject({ method: 'DELETE', url: `/api/v1/apps/${app}?confirm=${app}`, headers: { authorization: `Bearer ${pilot.token}` } });
    // Reported, not thrown: a throw here would hide the measurement's own error.
    if (destroyed.statusCode !== 200) console.error(`could not destroy ${app}: ${destroyed.body}`);
  }
}

/** The baseline: the same generated Dockerfile built (without cache when cold), run, and asked until it answers. */
export async function baselinePushes(
  pilot: TestPilot,
  name: string,
  files: Record<string, string>,
  change: Record<string, string>,
  expected: { cold: string; warm: string },
): Promise<{ cold: number; warm: number }> {
  const tag = `${pilot.server.config.instance}/baseline-${name}`;
  try {
    const cold = await buildRunAnswer(pilot, files, `${tag}:cold`, true, expected.cold);
    const warm = await buildRunAnswer(pilot, { ...files, ...change }, `${tag}:warm`, false, expected.warm);
    return { cold, warm };
  } finally {
    // Removing the images removes their layers: the next cold build finds no cache.
    await run('docker', ['rmi', '-f', `${tag}:cold`, `${tag}:warm`]).catch(() => undefined);
  }
}

async function buildRunAnswer(pilot: TestPilot, files: Record<string, string>, tag: string, cold: boolean, expected: string): Promise<number> {
  const context = tempDir('bench-context');
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(context, 'app', file)), { recursive: true });
    fs.writeFileSync(path.join(context, 'app', file), content);
  }
  const facts = {
    files: new Set(Object.keys(files)),
    contents: new Map(Object.entries(files).filter(([file]) => isReadFile(file))),
  };
  const plan = detectBuildpack(facts, localImages());
  const templates = createTemplateRenderer();
  if (!plan.dockerfileContext) throw new Error('the baseline covers buildpack apps');
  fs.cpSync(templates.buildpackDir(plan.buildpack), path.join(context, 'buildpack'), { recursive: true });
  fs.writeFileSync(path.join(context, 'Dockerfile.pilot'), templates.renderDockerfile(plan.buildpack, { ...plan.dockerfileContext, imageTag: tag }));

  const started = performance.now();
  await run('docker', ['build', '--quiet', ...(cold ? ['--no-cache'] : []), '-t', tag, '-f', path.join(context, 'Dockerfile.pilot'), context], { maxBuffer: 64 * 1024 * 1024 });
  const { stdout } = await run('docker', ['run', '-d', '--network', 'bridge', '--label', `pilot.instance=${pilot.server.config.instance}`, tag]);
  const container = stdout.trim();
  try {
    const { stdout: ip } = await run('docker', ['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container]);
    const answered = await until('the baseline container', async () => (await answer(ip.trim(), plan.port ?? 5000)) === expected, 120_000);
    return answered - started;
  } finally {
    await run('docker', ['rm', '-f', container]);
  }
}

/** A GET of `/` straight from a container; its body when it answered 200. */
export function answer(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const request = http.get({ host, port, path: '/', agent: false, timeout: 2000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(response.statusCode === 200 ? body : undefined));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
  });
}
