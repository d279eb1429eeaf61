import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BuildProgress } from '../../../src/adapters/build-progress.js';
import { secretMasker } from '../../../src/pipeline/build-vars.js';
import { CUT_MARK, MAX_LINE_CHARS, coloursInEffect, terminalPieces, visibleText } from '../../../src/domain/terminal-text.js';

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

  it("keeps the colours the builder wraps a step's stderr in, each line whole by itself, and drops lines of escapes only", () => {
    const { lines } = read(['Step 2/3 : RUN npm ci\n', '\u001b[91mnpm warn deprecated inflight@1.0.6\n\u001b[0m', '\u001b[91mnpm \u001b[1mnotice\u001b[22m\n\u001b[0m', 'added 1 package\n']);
    assert.deepEqual(lines.map(visibleText), ['Step 2/3 : RUN npm ci', 'npm warn deprecated inflight@1.0.6', 'npm notice', 'added 1 package']);
    assert.equal(lines[1], '\u001b[91mnpm warn deprecated inflight@1.0.6\u001b[0m');
    // Red (the line before's reset and its own red at its start: red), its own bold; reset at its end.
    assert.equal(lines[2], '\u001b[91mnpm \u001b[1mnotice\u001b[22m\u001b[0m');
    assert.equal(lines[3], 'added 1 package', 'after the reset, plain');
  });

  it('carries a colour over the lines it spans, and reads step images through colours', () => {
    const { lines, progress } = read(['\u001b[32mfirst\nsecond\u001b[0m\nthird\n', 'Step 1/2 : FROM node:20\n ---> 0000000000aa\n', 'Step 2/2 : RUN x\n', '\u001b[1m ---> 1111111111aa\u001b[0m\n']);
    assert.deepEqual(lines.slice(0, 3), ['\u001b[32mfirst\u001b[0m', '\u001b[32msecond\u001b[0m', 'third']);
    assert.equal(progress.lastStepImage, '1111111111aa');
  });

  it('carries a bounded set of colours: lines of a build that never resets do not grow', () => {
    const { lines } = read(Array.from({ length: 200 }, (_, index) => `\u001b[1mline ${index}\u001b[22m \u001b[3${index % 8}m.\n`));
    assert.equal(visibleText(lines.at(-1) ?? ''), 'line 199 .');
    assert.ok(lines.at(-1)?.endsWith('\u001b[37m.\u001b[0m'));
    // Each escape carried once: the 8 colours, bold and its end, then the line's own.
    assert.ok(Math.max(...lines.map((line) => line.length)) < 120, 'bounded');
  });

  it('joins an escape and a secret the engine split across events before they are masked', () => {
    const mask = secretMasker(['s3cret-value']);
    const masked: string[] = [];
    const progress = new BuildProgress((line) => masked.push(mask(line)));
    for (const chunk of ['token=s3cr', 'et\u001b', '[1m-va', 'lue\u001b[0', 'm done\n']) progress.push(chunk);
    progress.end();
    assert.deepEqual(masked, ['token=****\u001b[1m\u001b[0m done']);
  });

  it('cuts a line longer than MAX_LINE_CHARS, says so, drops the rest up to its newline and reads the next line whole', () => {
    const long = 'a'.repeat(MAX_LINE_CHARS + 10_000);
    const { lines } = read([long.slice(0, 30_000), long.slice(30_000), ' tail of the long line\nnext line\n']);
    assert.equal(lines.length, 2);
    assert.equal(lines[0], 'a'.repeat(MAX_LINE_CHARS) + CUT_MARK);
    assert.equal(lines[1], 'next line');
  });

  it('never shows the start of a secret that a cut leaves at the end of a line, nor its rest', () => {
    const secret = 'very-secret-value';
    const mask = secretMasker([secret]);
    const masked: string[] = [];
    const progress = new BuildProgress((line) => masked.push(mask(line)));
    // The secret begins 5 characters before the cut.
    progress.push(`${'b'.repeat(MAX_LINE_CHARS - 5)}${secret} and more\nok\n`);
    progress.end();
    assert.equal(masked[0], `${'b'.repeat(MAX_LINE_CHARS - 5)}****${CUT_MARK}`);
    assert.ok(!masked.join('\n').includes('very-'), 'no part of the secret');
    assert.equal(masked[1], 'ok');
  });

  it('reads a line of many escapes piece by piece, and carries only the last colours of many distinct ones', () => {
    const raw = 'x\u001b[0m'.repeat(50_000);
    const pieces = terminalPieces(raw);
    assert.equal(pieces.length, 100_000);
    assert.equal(visibleText(raw), 'x'.repeat(50_000));
    const distinct = Array.from({ length: 1000 }, (_, index) => `\u001b[38;5;${index}m`).join('');
    assert.equal(coloursInEffect(distinct), Array.from({ length: 16 }, (_, index) => `\u001b[38;5;${984 + index}m`).join(''));
  });

  it('masks every one of many occurrences of a secret in a line', () => {
    const mask = secretMasker(['abcd']);
    assert.equal(mask('abcd '.repeat(10_000)), '**** '.repeat(10_000));
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
