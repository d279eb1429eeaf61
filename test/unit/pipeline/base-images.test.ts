import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dockerfileImages, judgeByName, normalizeImage, refusedImages, type ImagePolicy } from '../../../src/pipeline/base-images.js';
import type { ImageOrigin } from '../../../src/domain/ports.js';

const policy: ImagePolicy = { instance: 'pilot', app: 'shop', baseImages: ['node:{{major}}-bookworm-slim', 'caddy:2-alpine'], allowed: ['registry.corp/base/*', 'tools:1'] };
const images = (dockerfile: string, args: Record<string, string> = {}) => dockerfileImages(dockerfile, args).uses.map((use) => use.image);

describe('dockerfileImages', () => {
  it('finds FROM, COPY --from, ADD --from and RUN --mount from, but earlier stages and scratch', () => {
    const dockerfile = [
      'FROM --platform=linux/amd64 node:20 AS build',
      'COPY --chown=1:1 --from=pilot/billing:v3 /app /stolen',
      'from build as second',
      'COPY --from=0 /a /a',
      'COPY --from=BUILD /b /b',
      'ADD --from=corp/tool:1 /t /t',
      'RUN --mount=type=bind,from=corp/secret,target=/s cat /s/key',
      'FROM scratch',
      'COPY --from=7 /x /x',
    ].join('\n');
    assert.deepEqual(images(dockerfile), ['node:20', 'pilot/billing:v3', 'corp/tool:1', 'corp/secret', '7']);
  });

  it('reads the ONBUILD triggers a Dockerfile leaves in its image: they run in the builds FROM it, the app\'s own next ones too', () => {
    const { uses } = dockerfileImages('FROM node:20\nONBUILD COPY --from=pilot/billing:v1 / /loot\n', {});
    assert.deepEqual(uses, [{ where: 'FROM on line 1', image: 'node:20' }, { where: 'ONBUILD COPY on line 2', image: 'pilot/billing:v1' }]);
  });

  it('substitutes ARGs as the builder does: global ones in FROM, a build var over a default, a stage\'s own after its FROM', () => {
    const dockerfile = 'ARG REGISTRY=docker.io\nARG BASE\nFROM ${REGISTRY}/${BASE:-node:20}\nARG SOURCE=pilot/other:v1\nCOPY --from=$SOURCE / /\n';
    assert.deepEqual(images(dockerfile), ['docker.io/node:20', 'pilot/other:v1']);
    assert.deepEqual(images(dockerfile, { BASE: 'pilot/billing:v2', SOURCE: 'x:1' }), ['docker.io/pilot/billing:v2', 'x:1']);
    assert.deepEqual(images('ARG V="pilot/bil"ling:v1\nFROM $V\n'), ['pilot/billing:v1'], 'quotes go as the builder removes them');
    assert.deepEqual(images('FROM alpine\nARG X=pilot/a:v1\nFROM ${X:-node:20}\n'), ['alpine', 'node:20'], 'a stage ARG is not seen by a later FROM');
    assert.deepEqual(images('FROM alp\\\nine:3\n'), ['alpine:3'], 'continued lines are joined as the builder joins them');
    assert.deepEqual(images('FROM a\\\n  lpine:3\n'), ['a'], 'the indent of a continued line stays');
  });

  it('reports what it cannot know before the build instead of guessing', () => {
    for (const dockerfile of ['FROM ${BASE?required}\n', 'ARG B\nFROM $B\n', 'FROM "node:20"\n', '# escape=`\nFROM `\n  pilot/other:v1\n', 'FROM ${A:=x}\n']) {
      assert.equal(dockerfileImages(dockerfile, {}).unresolved.length, 1, dockerfile);
    }
  });
});

describe('judgeByName', () => {
  it('allows the app\'s own images, the base images (any Node major) and the allow-list; refuses other apps\' however spelled', () => {
    for (const image of ['pilot/shop:v3', 'pilot/shop', 'pilot/shop:build-cache', 'node:22-bookworm-slim', 'docker.io/library/caddy:2-alpine', 'registry.corp/base/python:3', 'tools:1']) {
      assert.deepEqual(judgeByName(image, policy), { allowed: true }, image);
    }
    for (const image of ['pilot/billing:v2', 'docker.io/pilot/billing:v2', 'PILOT/shop2:v1']) {
      assert.equal(judgeByName(image, policy)?.allowed, false, image);
    }
    for (const image of ['node:latest-bookworm-slim', 'tools:2', 'registry.corp/other', 'alpine']) {
      assert.equal(judgeByName(image, policy), undefined, `${image}: up to where it came from`);
    }
  });

  it('normalizes names as the engine looks them up', () => {
    assert.equal(normalizeImage('node'), 'node:latest');
    assert.equal(normalizeImage('docker.io/library/node:20'), 'node:20');
    assert.equal(normalizeImage('localhost:5000/app'), 'localhost:5000/app:latest');
    assert.equal(normalizeImage('node@sha256:abc'), 'node@sha256:abc');
  });
});

describe('refusedImages', () => {
  const engine = (origins: Record<string, ImageOrigin>) => ({
    imageOrigin: async (name: string) => origins[name] ?? { fromRegistry: true, onBuild: [] },
  });

  it('refuses images only this host has, and a registry image whose ONBUILD trigger reads one; allows pulled ones', async () => {
    const refused = await refusedImages(
      engine({ 'corp/secret:1': { fromRegistry: false, onBuild: [] }, 'evil/base': { fromRegistry: true, onBuild: ['COPY --from=pilot/billing:v1 / /loot'] } }),
      'FROM alpine:3\nCOPY --from=corp/secret:1 /k /k\nFROM evil/base\n',
      {},
      policy,
    );
    assert.deepEqual(refused.map(({ use, reason }) => [typeof use === 'string' ? use : use.where, reason]), [
      ['COPY on line 2', 'corp/secret:1 exists only on this host (built or imported here, not pulled from a registry)'],
      ['FROM on line 3', "its ONBUILD trigger reads pilot/billing:v1 is another app's image on this Pilot; an app builds only from its own"],
    ]);
  });
});
