import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { containerOutputLine } from '../../../../src/adapters/caddy/container-output.js';
import type { CertificateOutcome } from '../../../../src/adapters/caddy/certificate-log.js';
import { accessLogTag } from '../../../../src/pipeline/routes.js';

const accessEntry = (appId: number) => JSON.stringify({ level: 'info', logger: 'http.log.access.log0', msg: 'handled request', user_id: accessLogTag(appId), status: 200 });
const issued = JSON.stringify({ level: 'info', logger: 'tls.obtain', msg: 'certificate obtained successfully', identifier: 'shop.example.com' });

function setup(options: { existing?: number[]; failAppend?: boolean } = {}) {
  const appended: [number, string][] = [];
  const observed: CertificateOutcome[] = [];
  const warnings: string[] = [];
  const onLine = containerOutputLine({
    apps: { exists: (id) => (options.existing ?? [7]).includes(id) },
    accessLogs: {
      append: (appId, entry) => {
        if (options.failAppend) throw new Error('ENOSPC: no space left on device');
        appended.push([appId, entry]);
      },
    },
    certificateEvents: { observe: (outcome) => void observed.push(outcome) },
    logger: { warn: (_object: unknown, message: string) => void warnings.push(message) },
  });
  return { onLine, appended, observed, warnings };
}

describe("the swarm Caddy container's output", () => {
  it("keeps an app's tagged access entry in that app's router log, and a certificate line as an event", () => {
    const { onLine, appended, observed } = setup();
    onLine(accessEntry(7));
    onLine(issued);
    assert.deepEqual(appended, [[7, accessEntry(7)]]);
    assert.deepEqual(observed, [{ host: 'shop.example.com', outcome: 'issued' }]);
  });

  it('drops the entry of an app that no longer exists (its id may be given to the next app)', () => {
    const { onLine, appended } = setup({ existing: [] });
    onLine(accessEntry(7));
    assert.deepEqual(appended, []);
  });

  it('never throws when a line cannot be kept (a full disk): it says so and goes on', () => {
    const { onLine, warnings, observed } = setup({ failAppend: true });
    assert.doesNotThrow(() => onLine(accessEntry(7)));
    onLine(issued);
    assert.equal(warnings.length, 1);
    assert.equal(observed.length, 1, 'later lines are still read');
  });
});
