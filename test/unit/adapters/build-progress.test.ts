import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BuildProgress } from '../../../src/adapters/build-progress.js';

function read(chunks: readonly string[]): { lines: string[]; progress: BuildProgress } {
  const lines: string[] = [];
  const progress = new BuildProgress((line) => lines.push(line));
  for (const chunk of chunks) progress.push(chunk);
  progress.end();
  return { lines, progress };
}

describe('BuildProgress', () => {
  it('joins a line the engine split across two events before anyone sees it', () => {
    const { lines } = read(['Step 3/5 : RUN echo to', 'ken-9f8e7d\n', ' ---> Running in abc\nlast line without newline']);
    assert.deepEqual(lines, ['Step 3/5 : RUN echo token-9f8e7d', ' ---> Running in abc', 'last line without newline']);
  });

  it("drops the terminal escapes the builder wraps a step's stderr in, and the empty lines they leave", () => {
    const { lines } = read(['Step 2/3 : RUN npm ci\n', '\u001b[91mnpm warn deprecated inflight@1.0.6\n\u001b[0m', '\u001b[91mnpm \u001b[1mnotice\u001b[22m\n\u001b[0m', 'added 1 package\n']);
    assert.deepEqual(lines, ['Step 2/3 : RUN npm ci', 'npm warn deprecated inflight@1.0.6', 'npm notice', 'added 1 package']);
  });

  it('tells the images of the earlier stages of a multi-stage build apart from the base images', () => {
    const { progress } = read([
      'Step 1/6 : FROM node:20 AS build\n', ' ---> 1111111111aa\n',
      'Step 2/6 : RUN npm ci\n', ' ---> Running in 9999\n', ' ---> 2222222222bb\n',
      'Step 3/6 : RUN npm run build\n', ' ---> 3333333333cc\n',
      'Step 4/6 : FROM caddy AS plain\n', ' ---> 4444444444dd\n',
      'Step 5/6 : FROM caddy\n', ' ---> 4444444444dd\n',
      'Step 6/6 : COPY --from=build /app/dist /srv\n', ' ---> 5555555555ee\n',
    ]);
    // The second stage made nothing of its own: only its base, which is not the build's to keep.
    assert.deepEqual(progress.earlierStageImages, ['3333333333cc', undefined]);
    assert.equal(progress.lastStepImage, '5555555555ee');
  });

  it('has no image of its own to keep when the build failed at its first step', () => {
    const { progress } = read(['Step 1/2 : FROM node:20\n', ' ---> 1111111111aa\n', 'Step 2/2 : RUN exit 3\n']);
    assert.equal(progress.lastStepImage, undefined);
    assert.deepEqual(progress.earlierStageImages, []);
  });
});
