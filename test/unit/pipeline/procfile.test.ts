import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcfile } from '../../../src/pipeline/procfile.js';

describe('parseProcfile', () => {
  it('reads process types, skipping blank lines and comments, with CRLF line ends', () => {
    const processes = parseProcfile('# processes\r\nweb: node server.js\r\n\r\nworker:   node worker.js --queue=a\r\n');
    assert.deepEqual([...processes], [
      ['web', 'node server.js'],
      ['worker', 'node worker.js --queue=a'],
    ]);
  });

  it('names the line of a merge-conflict marker, a line with no command, a garbled line and a repeated type', () => {
    assert.throws(() => parseProcfile('web: a\n<<<<<<< HEAD\n'), /Procfile line 2 holds a merge-conflict marker/);
    assert.throws(() => parseProcfile('web: a\nworker:\n'), /Procfile line 2 has no command for "worker"/);
    assert.throws(() => parseProcfile('\n\nthis is not a process\n'), /Procfile line 3 is not "type: command"/);
    assert.throws(() => parseProcfile('web: a\nweb: b\n'), /Procfile line 2 declares "web" a second time/);
  });
});
