import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GitClient, integrationSkipReason, tempDir, waitFor } from '../helpers/integration.js';
import { startTestPilot, type TestPilot } from '../helpers/pilot.js';

const skip = integrationSkipReason();

describe('certificate events from a real Caddy (tls internal, on-demand)', { skip }, () => {
  let pilot: TestPilot;

  before(async () => {
    pilot = await startTestPilot();
  });
  after(async () => {
    await pilot?.close();
  });

  it("records certificate.issued in the app's timeline when Caddy issues its host's certificate at the first visit", async () => {
    const client = new GitClient(tempDir('certificate-events'));
    await client.init();
    await client.commit({ 'index.html': '<h1>certificates</h1>\n' });
    await pilot.push(client, 'certs');
    const host = `certs.${pilot.domain}`;
    await waitFor('the site through Caddy', async () => ((await pilot.get('certs').catch(() => undefined))?.status === 200 ? true : undefined));
    const issued = async () => {
      const answer = await pilot.server.app.inject({ url: '/api/v1/apps/certs/events', headers: { authorization: `Bearer ${pilot.token}` } });
      return (answer.json() as { kind: string; message: string }[]).filter((event) => event.kind === 'certificate.issued');
    };
    const [event] = await waitFor('certificate.issued', async () => ((await issued()).length > 0 ? await issued() : undefined));
    assert.equal(event!.message, `the certificate of ${host} was issued`);
  });
});
