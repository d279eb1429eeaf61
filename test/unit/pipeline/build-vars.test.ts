import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildArgsFor, declaredArgs, secretMasker } from '../../../src/pipeline/build-vars.js';
import { visibleText } from '../../../src/domain/terminal-text.js';

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

describe('secretMasker on lines with terminal colours', () => {
  const ESC = '\u001b';
  const red = `${ESC}[91m`;
  const bold = `${ESC}[1m`;
  const reset = `${ESC}[0m`;
  const cases: { name: string; secrets: string[]; line: string; masked: string }[] = [
    { name: 'no secret: the line as it was, colours included', secrets: [], line: `${red}npm warn${reset} done`, masked: `${red}npm warn${reset} done` },
    { name: 'no secret in a coloured line', secrets: ['s3cret'], line: `${red}npm warn${reset}`, masked: `${red}npm warn${reset}` },
    { name: 'a plain secret', secrets: ['s3cret'], line: 'token=s3cret.', masked: 'token=****.' },
    { name: 'a secret inside one colour', secrets: ['s3cret'], line: `${red}token=s3cret${reset}`, masked: `${red}token=****${reset}` },
    { name: 'a secret split by a colour change: masked whole, the colour follows the mask', secrets: ['s3cret'], line: `s3c${bold}ret and more${reset}`, masked: `****${bold} and more${reset}` },
    { name: 'a secret split by several escapes', secrets: ['s3cret'], line: `${red}s${reset}3${bold}c${red}ret!`, masked: `${red}****${reset}${bold}${red}!` },
    { name: 'escapes right before and after a secret stay outside its mask', secrets: ['s3cret'], line: `${bold}s3cret${reset}`, masked: `${bold}****${reset}` },
    { name: 'adjacent secrets', secrets: ['abcd', 'wxyz'], line: `abcd${red}wxyz`, masked: `****${red}****` },
    { name: 'a value containing another, longest first', secrets: ['s3cret', 's3cret-token'], line: `s3cret-${red}token s3cret`, masked: `****${red} ****` },
    { name: 'a cursor escape inside a secret is dropped, and masks nothing away', secrets: ['s3cret'], line: `s3${ESC}[Kcret`, masked: '****' },
    { name: 'a link escape is dropped with the URL it carries, its text masked', secrets: ['s3cret'], line: `${ESC}]8;;https://x.test/?t=s3cret${ESC}\u0007see s3cret${ESC}]8;;${ESC}\u0007`.replaceAll(`${ESC}\u0007`, '\u0007'), masked: 'see ****' },
    { name: 'a cut escape at the end of the line', secrets: ['s3cret'], line: `s3cret ${ESC}[`, masked: '**** [' },
    { name: 'a lone ESC inside a secret: dropped, the secret still masked', secrets: ['s3cret'], line: `s3cr${ESC}et`, masked: '****' },
    { name: 'a secret that looks like escape parameters is masked in the text only', secrets: ['1;31'], line: `${ESC}[1;31mcode 1;31${reset}`, masked: `${ESC}[1;31mcode ****${reset}` },
  ];
  for (const { name, secrets, line, masked } of cases) {
    it(name, () => {
      const result = secretMasker(secrets)(line);
      assert.equal(JSON.stringify(result), JSON.stringify(masked));
      for (const secret of secrets) assert.ok(!visibleText(result).includes(secret), `${secret} shows in ${JSON.stringify(result)}`);
    });
  }
});

