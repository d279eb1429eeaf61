import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildArgsFor, declaredArgs, secretMasker } from '../../../src/pipeline/build-vars.js';

describe('declaredArgs', () => {
  it('finds the ARGs of every stage, with or without defaults, several per line, any case', () => {
    const dockerfile = [
      'ARG BASE=node:20',
      'FROM $BASE AS build',
      'arg NPM_TOKEN',
      'ARG VITE_API_URL="https://api.example.com" VITE_TITLE',
      "ARG QUOTED='not ARGS inside' DOUBLE=\"x NOR_THIS y\"",
      'RUN npm ci',
      'FROM nginx',
      '  ARG GREETING="hello world" \\',
      '      SECOND',
      'COPY --from=build /app/dist /usr/share/nginx/html',
    ].join('\n');
    assert.deepEqual([...declaredArgs(dockerfile)].sort(), ['BASE', 'DOUBLE', 'GREETING', 'NPM_TOKEN', 'QUOTED', 'SECOND', 'VITE_API_URL', 'VITE_TITLE']);
  });

  it('joins continued lines, skipping comments inside them, and ignores ARG in other instructions', () => {
    const dockerfile = [
      'FROM alpine',
      'RUN echo ARG NOT_AN_ARG \\',
      '# ARG IN_A_COMMENT',
      '  && true',
      '# ARG COMMENTED_OUT',
      'ENV ARG=1',
      'ARG \\',
      '  CONTINUED',
      'LABEL x="ARG LABELLED"',
    ].join('\r\n');
    assert.deepEqual([...declaredArgs(dockerfile)], ['CONTINUED']);
  });

  it('finds nothing in a Dockerfile without ARG, or in an empty one', () => {
    assert.equal(declaredArgs('FROM alpine\nRUN true\n').size, 0);
    assert.equal(declaredArgs('').size, 0);
  });
});

describe('buildArgsFor', () => {
  it('passes the build vars the Dockerfile declares and names the others', () => {
    const result = buildArgsFor('FROM alpine\nARG GREETING\nRUN echo "$GREETING"\n', { GREETING: 'hi', ZED: 'z', API_KEY: 'k' });
    assert.deepEqual(result, { args: { GREETING: 'hi' }, undeclared: ['API_KEY', 'ZED'] });
  });
});

describe('secretMasker', () => {
  it('masks every occurrence of each value, the longest first', () => {
    const mask = secretMasker(['s3cret-token', 's3cret', 'abcd']);
    assert.equal(mask('token=s3cret-token and s3cret, s3cret; abcdabcd'), 'token=**** and ****, ****; ********');
  });

  it('leaves values shorter than 4 characters, so a log of "1" and "yes" stays readable', () => {
    const mask = secretMasker(['1', 'yes', '']);
    assert.equal(mask('added 1 package: yes'), 'added 1 package: yes');
  });

  it('masks a value of several lines line by line', () => {
    const mask = secretMasker(['-----BEGIN KEY-----\nMIIEvQIBADAN\n-----END KEY-----']);
    assert.equal(mask('key line MIIEvQIBADAN here'), 'key line **** here');
    assert.equal(mask('-----BEGIN KEY-----'), '****');
  });

  it('treats values as text, not patterns', () => {
    const mask = secretMasker(['a.b*c(d)']);
    assert.equal(mask('x a.b*c(d) axbbc(d)'), 'x **** axbbc(d)');
  });
});
