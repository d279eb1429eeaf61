import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { peekFetchWants, parseCommandList, refusalReport } from '../../../src/http/routes/git-commands.js';

function pkt(text: string): string {
  return (Buffer.byteLength(text) + 4).toString(16).padStart(4, '0') + text;
}

describe('git push command lists', () => {
  const zero = '0'.repeat(40);
  const sha = 'a'.repeat(40);
  const list = pkt(`${zero} ${sha} refs/heads/main\0report-status side-band-64k agent=git/2.39\n`) + pkt(`${zero} ${sha} refs/pilot/odd\n`) + '0000';

  it('reads the refs, their updates and the capabilities, and waits for the flush packet', () => {
    assert.deepEqual(parseCommandList(Buffer.from(list + 'PACK...')), {
      refs: ['refs/heads/main', 'refs/pilot/odd'],
      updates: [{ oldSha: zero, newSha: sha, ref: 'refs/heads/main' }, { oldSha: zero, newSha: sha, ref: 'refs/pilot/odd' }],
      capabilities: ['report-status', 'side-band-64k', 'agent=git/2.39'],
    });
    assert.equal(parseCommandList(Buffer.from(list.slice(0, 60))), undefined);
  });

  it('refuses every ref in a report git prints as "remote rejected", on the side band when asked', () => {
    const commands = { refs: ['refs/pilot/odd'], capabilities: ['report-status', 'side-band-64k'] };
    const text = refusalReport(commands, 'only branches and tags can be pushed', 'only branches and tags').toString('latin1');
    assert.ok(text.includes('\u0002only branches and tags can be pushed\n'));
    assert.ok(text.includes('ng refs/pilot/odd only branches and tags\n'));
    assert.ok(text.endsWith('0000'));
    const plain = refusalReport({ refs: ['refs/x'], capabilities: ['report-status'] }, 'm', 'r').toString();
    assert.equal(plain, `${pkt('unpack ok\n')}${pkt('ng refs/x r\n')}0000`);
  });
});

describe('git fetch requests', () => {
  const sha = 'b'.repeat(40);

  async function peek(...chunks: string[]): Promise<{ wants: boolean; rest: string }> {
    const stream = new PassThrough();
    const peeked = peekFetchWants(stream);
    for (const chunk of chunks) stream.write(chunk);
    stream.end();
    const wants = await peeked;
    // A refused request is answered without reading on; an accepted one is read by git.
    if (!wants) return { wants, rest: '' };
    const rest: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => rest.push(chunk));
    // Paused by the peek; git's handler pipes it, which resumes it.
    stream.resume();
    await new Promise((resolve) => stream.once('end', resolve));
    return { wants, rest: Buffer.concat(rest).toString() };
  }

  it('accepts a request that starts with a want line, even split across chunks, and leaves it whole for git', async () => {
    const body = `${pkt(`want ${sha} multi_ack side-band-64k\n`)}00000009done\n`;
    assert.deepEqual(await peek(body.slice(0, 7), body.slice(7)), { wants: true, rest: body });
  });

  it('refuses one without a want line: a flush, other lines, garbage, or a client that hung up early', async () => {
    for (const body of [['0000'], [pkt('have ' + sha + '\n')], ['zzzzwant'], ['0032want '], []]) {
      assert.equal((await peek(...body)).wants, false, JSON.stringify(body));
    }
  });
});
