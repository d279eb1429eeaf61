import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildReleaseImage, type BuildDeps } from '../../../src/pipeline/build.js';
import { detectBuildpack } from '../../../src/pipeline/detect.js';
import { DeployOutput } from '../../../src/pipeline/output.js';
import { createTemplateRenderer } from '../../../src/adapters/templates.js';
import { DeployError } from '../../../src/domain/errors.js';
import type { BuildRequest, ContainerEngine, Workspaces } from '../../../src/domain/ports.js';

const settings = { nodeImage: 'node:{{major}}-bookworm-slim', staticImage: 'pilot/static' };

/** A build with a fake engine that prints `printed` and a fake build directory holding `dockerfile`. */
async function build(options: { files: Record<string, string>; buildVars: Record<string, string>; printed?: string[]; failure?: Error; localOnly?: string[] }) {
  const requests: BuildRequest[] = [];
  const written = new Map<string, string>();
  const lines: string[] = [];
  const files = new Map(Object.entries(options.files));
  const engine = {
    async buildImage(request: BuildRequest, onOutput: (line: string) => void) {
      requests.push(request);
      for (const line of options.printed ?? []) onOutput(line);
      if (options.failure) throw options.failure;
      return { stageImages: [] };
    },
    async imageOrigin(name: string) {
      return { fromRegistry: !(options.localOnly ?? []).includes(name), onBuild: [] };
    },
  } as unknown as ContainerEngine;
  const workspaces = {
    async facts(_dir: string, readable: (file: string) => boolean) {
      const present = [...files.keys()];
      return { files: new Set(present), contents: new Map(present.filter(readable).map((file) => [file, files.get(file) ?? ''])) };
    },
    async writeFile(_dir: string, name: string, content: string) {
      written.set(name, content);
    },
    async copyIn() {},
  } as unknown as Workspaces;
  const renderer = createTemplateRenderer();
  const deps: BuildDeps = { images: engine, workspaces, renderDockerfile: renderer.renderDockerfile, buildpackDir: renderer.buildpackDir };
  const plan = detectBuildpack({ files: new Set(files.keys()), contents: files }, settings);
  const input = { app: 'shop', buildDir: '/tmp/build-x', plan, tag: 'pt/shop:v3', timeoutSeconds: 60, buildVars: options.buildVars, limits: { cpus: 1, memoryBytes: 1024 ** 3, pids: 4096 }, maxCacheBytes: 1024 ** 2,
    imagePolicy: { instance: 'pt', app: 'shop', baseImages: [settings.nodeImage, settings.staticImage], allowed: [] } };
  const result = buildReleaseImage(deps, input, new DeployOutput((line) => lines.push(line)));
  return { result, requests, written, lines };
}

const nodeApp = { 'package.json': JSON.stringify({ scripts: { build: 'vite build', start: 'node server.js' } }), 'package-lock.json': '{}' };

describe('buildReleaseImage with build vars', () => {
  it('declares every build var as an ARG before the install step of a Node.js app and passes its value', async () => {
    const { result, requests, written } = await build({ files: nodeApp, buildVars: { VITE_API_URL: 'https://api.example.com', NPM_TOKEN: 'npm_abcdef' } });
    await result;
    const dockerfile = written.get('Dockerfile.pilot') ?? '';
    const lines = dockerfile.split('\n');
    const install = lines.findIndex((line) => line.startsWith('RUN npm ci'));
    assert.deepEqual(lines.filter((line) => line.startsWith('ARG ')), ['ARG NPM_TOKEN', 'ARG VITE_API_URL']);
    assert.ok(lines.indexOf('ARG VITE_API_URL') < install && lines.indexOf('ARG VITE_API_URL') > lines.indexOf('WORKDIR /app'), dockerfile);
    assert.ok(!/^ENV .*(VITE_API_URL|NPM_TOKEN)/m.test(dockerfile), 'build vars never become the image environment');
    assert.equal(dockerfile.includes('npm_abcdef'), false, 'values stay out of the Dockerfile');
    assert.deepEqual(requests[0]?.buildArgs, { NPM_TOKEN: 'npm_abcdef', VITE_API_URL: 'https://api.example.com' });
  });

  it('renders no ARG line for an app without build vars', async () => {
    const { result, requests, written } = await build({ files: nodeApp, buildVars: {} });
    await result;
    assert.equal(/^ARG /m.test(written.get('Dockerfile.pilot') ?? ''), false);
    assert.deepEqual(requests[0]?.buildArgs, {});
  });

  it('passes a Dockerfile app only the build vars its Dockerfile declares, and says which it left out', async () => {
    const files = { Dockerfile: 'FROM alpine AS base\nARG GREETING\nFROM base\nARG TITLE=x\nRUN echo "$GREETING $TITLE"\n' };
    const { result, requests, lines } = await build({ files, buildVars: { GREETING: 'hello', TITLE: 'Shop', UNUSED: 'zzzz' } });
    await result;
    assert.deepEqual(requests[0]?.buildArgs, { GREETING: 'hello', TITLE: 'Shop' });
    assert.equal(requests[0]?.dockerfile, 'Dockerfile');
    assert.ok(lines.includes('-----> Build vars: GREETING, TITLE'), lines.join('\n'));
    assert.ok(lines.some((line) => /declares no ARG for them: UNUSED/.test(line)), lines.join('\n'));
  });

  it('masks build var values in every build output line and in the failure', async () => {
    const { result, lines } = await build({
      files: { Dockerfile: 'FROM alpine\nARG API_TOKEN\nRUN echo "$API_TOKEN"\n' },
      buildVars: { API_TOKEN: 'tok-9f8e7d' },
      printed: ['Step 3/3 : RUN echo "$API_TOKEN"', 'tok-9f8e7d', 'using tok-9f8e7d twice: tok-9f8e7d'],
      failure: new DeployError('PILOT_BUILD_FAILED', 'build failed: tok-9f8e7d: not found'),
    });
    await assert.rejects(result, (error: Error) => error instanceof DeployError && error.message === 'build failed: ****: not found');
    assert.deepEqual(lines.slice(-3), ['       Step 3/3 : RUN echo "$API_TOKEN"', '       ****', '       using **** twice: ****']);
    assert.equal(lines.join('\n').includes('tok-9f8e7d'), false);
  });

  it('masks the value of a build var the Dockerfile does not declare, and in any error', async () => {
    const { result, lines } = await build({
      files: { Dockerfile: 'FROM alpine\nRUN echo hardcoded-secret\n' },
      buildVars: { NOT_DECLARED: 'hardcoded-secret' },
      printed: ['hardcoded-secret'],
      failure: new Error('connect failed after hardcoded-secret'),
    });
    await assert.rejects(result, (error: Error) => error.message === 'connect failed after ****');
    assert.equal(lines.at(-1), '       ****');
  });

  it('refuses a Dockerfile app built from another app\'s image or a host-only one, before building, saying how to allow it', async () => {
    const files = { Dockerfile: 'FROM pt/billing:v2\nCOPY --from=corp/secret:1 /x /x\nRUN true\n' };
    const { result, requests } = await build({ files, buildVars: {}, localOnly: ['corp/secret:1'] });
    await assert.rejects(result, (error: Error) => {
      assert.match(error.message, /FROM on line 1: pt\/billing:v2 is another app's image on this Pilot/);
      assert.match(error.message, /COPY on line 2: corp\/secret:1 exists only on this host/);
      assert.match(error.message, /PILOT_BUILD_ALLOWED_IMAGES/);
      return true;
    });
    assert.deepEqual(requests, [], 'nothing was built');
  });
});
