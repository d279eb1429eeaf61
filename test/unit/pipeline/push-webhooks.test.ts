import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { decideWebhookPush, parseWebhookEvent, verifyWebhook, webhookProvider, type PushEvent, type WebhookHeaders, type WebhookProvider } from '../../../src/pipeline/push-webhooks.js';
import { ValidationError } from '../../../src/domain/errors.js';

const SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const SHA = 'f'.repeat(39) + '1';
const ZERO = '0'.repeat(40);

const hmac = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

/** The headers each host sends with a body signed by `secret`. */
function signed(provider: WebhookProvider, body: string, event: string, secret = SECRET): WebhookHeaders {
  switch (provider) {
    case 'github':
      return { 'x-github-event': event, 'x-hub-signature-256': `sha256=${hmac(body, secret)}` };
    case 'gitlab':
      return { 'x-gitlab-event': event, 'x-gitlab-token': secret };
    case 'gitea':
      // Gitea sends GitHub's headers too (and GitHub's signature since 1.19).
      return { 'x-gitea-event': event, 'x-github-event': event, 'x-gitea-signature': hmac(body, secret), 'x-hub-signature-256': `sha256=${hmac(body, 'not-the-secret')}` };
    case 'forgejo':
      return { 'x-forgejo-event': event, 'x-gitea-event': event, 'x-forgejo-signature': hmac(body, secret), 'x-gitea-signature': hmac(body, secret) };
    case 'pilot':
      return { 'x-pilot-event': event, 'x-pilot-signature-256': `sha256=${hmac(body, secret)}` };
  }
}

const PUSH_EVENT: Record<WebhookProvider, string> = { github: 'push', gitlab: 'Push Hook', gitea: 'push', forgejo: 'push', pilot: 'push' };
const PROVIDERS: WebhookProvider[] = ['github', 'gitlab', 'gitea', 'forgejo', 'pilot'];

describe('push webhooks: which host, and whether the signature is the secret', () => {
  for (const provider of PROVIDERS) {
    const body = JSON.stringify({ ref: 'refs/heads/main', after: SHA });
    it(`${provider}: takes a body signed with the secret`, () => {
      const headers = signed(provider, body, PUSH_EVENT[provider]);
      assert.equal(webhookProvider(headers), provider);
      assert.deepEqual(verifyWebhook(headers, Buffer.from(body), SECRET), { ok: true, provider });
    });

    it(`${provider}: refuses a body signed with another secret, a body changed after signing, and a missing signature`, () => {
      const headers = signed(provider, body, PUSH_EVENT[provider], 'another secret of the same length as the real one, more or less..');
      const wrong = verifyWebhook(headers, Buffer.from(body), SECRET);
      assert.equal(wrong.ok, false);
      assert.match((wrong as { reason: string }).reason, /does not match the app's webhook secret/);
      if (provider !== 'gitlab') {
        const tampered = verifyWebhook(signed(provider, body, PUSH_EVENT[provider]), Buffer.from(body.replace('main', 'mail')), SECRET);
        assert.equal(tampered.ok, false, 'a body changed after signing');
      }
      const unsigned = Object.fromEntries(Object.entries(signed(provider, body, PUSH_EVENT[provider])).filter(([name]) => /event$/.test(name)));
      const missing = verifyWebhook(unsigned, Buffer.from(body), SECRET);
      assert.equal(missing.ok, false);
      assert.match((missing as { reason: string }).reason, /has no x-[a-z0-9-]+ header/);
    });
  }

  it('refuses malformed signatures and requests that name no host', () => {
    const body = Buffer.from('{}');
    const cases: [WebhookHeaders, RegExp][] = [
      [{}, /not signed: send X-Hub-Signature-256 \(GitHub\), X-Gitlab-Token/],
      [{ 'x-github-event': 'push', 'x-hub-signature-256': hmac('{}') }, /is not sha256=<64 hex digits>/],
      [{ 'x-github-event': 'push', 'x-hub-signature-256': 'sha1=abc' }, /is not sha256=/],
      [{ 'x-gitea-event': 'push', 'x-gitea-signature': 'zz' }, /is not <64 hex digits>/],
      [{ 'x-pilot-signature-256': `sha256=${hmac('{}').slice(0, 62)}` }, /is not sha256=/],
      [{ 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': '' }, /has no x-gitlab-token header/],
      [{ 'x-gitlab-token': SECRET.slice(0, -1) }, /does not match/],
    ];
    for (const [headers, reason] of cases) {
      const verdict = verifyWebhook(headers, body, SECRET);
      assert.equal(verdict.ok, false, JSON.stringify(headers));
      assert.match((verdict as { reason: string }).reason, reason);
    }
  });
});

describe('push webhooks: what the event says', () => {
  const parse = (provider: WebhookProvider, event: string, payload: unknown, contentType = 'application/json') => {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    return parseWebhookEvent(provider, signed(provider, body, event), Buffer.from(body), contentType);
  };

  it('reads a push of each host, and a deletion of the branch', () => {
    for (const provider of PROVIDERS) {
      assert.deepEqual(parse(provider, PUSH_EVENT[provider], { ref: 'refs/heads/main', after: SHA, commits: [] }), { kind: 'push', provider, ref: 'refs/heads/main', sha: SHA, deleted: false });
      const deleted = parse(provider, PUSH_EVENT[provider], { ref: 'refs/heads/old', after: ZERO, ...(provider === 'github' ? { deleted: true } : {}) });
      assert.deepEqual(deleted, { kind: 'push', provider, ref: 'refs/heads/old', sha: null, deleted: true }, provider);
    }
    // GitHub's and Gitea's own delete events name the ref short.
    assert.deepEqual(parse('github', 'delete', { ref: 'feature/x', ref_type: 'branch' }), { kind: 'push', provider: 'github', ref: 'refs/heads/feature/x', sha: null, deleted: true });
    assert.deepEqual(parse('gitea', 'delete', { ref: 'v1', ref_type: 'tag' }), { kind: 'push', provider: 'gitea', ref: 'refs/tags/v1', sha: null, deleted: true });
  });

  it("reads Pilot's own form with a branch and no sha, and GitHub's form-encoded payload", () => {
    assert.deepEqual(parse('pilot', 'push', { branch: 'main' }), { kind: 'push', provider: 'pilot', ref: 'refs/heads/main', sha: null, deleted: false });
    const form = `payload=${encodeURIComponent(JSON.stringify({ ref: 'refs/heads/main', after: SHA }))}`;
    assert.deepEqual(parse('github', 'push', form, 'application/x-www-form-urlencoded'), { kind: 'push', provider: 'github', ref: 'refs/heads/main', sha: SHA, deleted: false });
  });

  it('answers a ping as a ping and other events as what they are', () => {
    assert.deepEqual(parse('github', 'ping', { zen: 'Keep it logically awesome.', hook_id: 1 }), { kind: 'ping', provider: 'github' });
    assert.deepEqual(parse('pilot', 'ping', {}), { kind: 'ping', provider: 'pilot' });
    assert.deepEqual(parse('github', 'issues', { action: 'opened' }), { kind: 'other', provider: 'github', name: 'issues' });
    assert.deepEqual(parse('gitlab', 'Merge Request Hook', { object_kind: 'merge_request' }), { kind: 'other', provider: 'gitlab', name: 'Merge Request Hook' });
  });

  it('refuses bodies of the wrong shape, naming the field', () => {
    const cases: [WebhookProvider, string, unknown, RegExp][] = [
      ['github', 'push', '{not json', /is not JSON/],
      ['github', 'push', [1, 2], /must be a JSON object/],
      ['github', 'push', null, /must be a JSON object/],
      ['github', 'push', { after: SHA }, /"ref" must be a string \(it is missing\)/],
      ['github', 'push', { ref: 42, after: SHA }, /"ref" must be a string, not number/],
      ['github', 'push', { ref: 'refs/heads/main', after: null }, /"after" must be a string, not null/],
      ['github', 'push', { ref: 'refs/heads/main', after: 'HEAD' }, /"after" must be a commit sha/],
      ['github', 'push', { ref: 'refs/heads/main', after: SHA, deleted: 'yes' }, /"deleted" must be a boolean, not string/],
      ['gitlab', 'Push Hook', { ref: ['refs/heads/main'], after: SHA }, /"ref" must be a string, not object/],
      ['gitea', 'delete', { ref: 'x' }, /"ref_type" must be a string/],
      ['pilot', 'push', { branch: 7 }, /"branch" must be a string, not number/],
      ['github', 'push', { ref: 'r'.repeat(2000), after: SHA }, /"ref" is too long/],
    ];
    for (const [provider, event, payload, message] of cases) {
      assert.throws(() => parse(provider, event, payload), (error: unknown) => error instanceof ValidationError && message.test(error.message), `${provider} ${JSON.stringify(payload)?.slice(0, 60)}`);
    }
    assert.throws(() => parse('github', 'push', 'payload-less=1', 'application/x-www-form-urlencoded'), /has no payload field/);
    assert.throws(() => parseWebhookEvent('github', { 'x-hub-signature-256': 'x' }, Buffer.from('{}'), 'application/json'), /names no event \(x-github-event\)/);
  });
});

describe('decideWebhookPush', () => {
  const app = { name: 'shop', branch: 'main' };
  const push = (ref: string, sha: string | null, deleted = false): PushEvent => ({ kind: 'push', provider: 'github', ref, sha, deleted });
  const cases: [string, PushEvent, ReturnType<typeof decideWebhookPush>][] = [
    ['the deploy branch deploys its sha', push('refs/heads/main', SHA), { action: 'deploy', branch: 'main', sha: SHA }],
    ['without a sha, the head', push('refs/heads/main', null), { action: 'deploy', branch: 'main', sha: null }],
    ['another branch is ignored, saying why', push('refs/heads/feature/x', SHA), { action: 'other-branch', branch: 'feature/x', sha: SHA, reason: 'a push to feature/x, not to main (the branch shop deploys): nothing was deployed' }],
    ['a branch named like a prefix of it too', push('refs/heads/main-old', SHA), { action: 'other-branch', branch: 'main-old', sha: SHA, reason: 'a push to main-old, not to main (the branch shop deploys): nothing was deployed' }],
    ['a tag is not a branch', push('refs/tags/v1', SHA), { action: 'ignore', reason: 'refs/tags/v1 is not a branch (shop deploys the branch main): nothing was deployed' }],
    ['a deleted tag neither', push('refs/tags/v1', null, true), { action: 'ignore', reason: 'refs/tags/v1 is not a branch (shop deploys the branch main): nothing was deployed' }],
    ['a deleted branch is its own result', push('refs/heads/feature/x', null, true), { action: 'branch-deleted', branch: 'feature/x' }],
    ['the deploy branch deleted too', push('refs/heads/main', null, true), { action: 'branch-deleted', branch: 'main' }],
  ];
  for (const [name, event, decision] of cases) {
    it(name, () => assert.deepEqual(decideWebhookPush(event, app), decision));
  }
});
