import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../../src/adapters/db/database.js';
import { createAppStore, createReleaseStore } from '../../../src/adapters/db/stores.js';
import { RELEASE_TRANSITIONS, ReleaseTransitionError } from '../../../src/domain/release-states.js';
import { RELEASE_STATUSES, type ReleaseStatus } from '../../../src/domain/types.js';
import type { ReleaseStore } from '../../../src/domain/ports.js';
import { goLive } from '../../helpers/releases.js';

/** The release store on SQLite ':memory:' holds every release to RELEASE_TRANSITIONS. */
describe('ReleaseStore transitions', () => {
  function fresh() {
    const db = openDatabase(':memory:');
    const app = createAppStore(db).create('shop');
    const releases = createReleaseStore(db);
    const create = () => releases.create({ appId: app.id, kind: 'deploy', gitSha: null, config: {} });
    /** A new release brought to `status` by legal steps only. */
    const releaseIn = (status: ReleaseStatus): number => {
      const { id } = create();
      const steps: Record<ReleaseStatus, () => void> = {
        building: () => undefined,
        starting: () => releases.transition(id, 'starting'),
        checking: () => {
          releases.transition(id, 'starting');
          releases.transition(id, 'checking');
        },
        live: () => goLive(releases, id),
        failed: () => releases.transition(id, 'failed', { failureReason: 'health check failed' }),
        retired: () => {
          goLive(releases, id);
          goLive(releases, create().id);
        },
      };
      steps[status]();
      assert.equal(releases.get(id)?.status, status);
      return id;
    };
    return { releases, app, releaseIn, create };
  }

  /** A change through the store's own door: going live is promote, every other status transition. */
  function change(releases: ReleaseStore, id: number, to: ReleaseStatus): void {
    if (to === 'live') releases.promote(id);
    else releases.transition(id, to, { failureReason: 'changed' });
  }

  it('makes every allowed change', () => {
    for (const [from, allowed] of Object.entries(RELEASE_TRANSITIONS) as [ReleaseStatus, readonly ReleaseStatus[]][]) {
      for (const to of allowed) {
        const { releases, releaseIn, create } = fresh();
        const id = releaseIn(from);
        // A live release is retired by the promotion of the next one.
        if (from === 'live' && to === 'retired') goLive(releases, create().id);
        else change(releases, id, to);
        assert.equal(releases.get(id)?.status, to, `${from} → ${to}`);
      }
    }
  });

  it('refuses every other change with a ReleaseTransitionError, leaving the row and the live release as they were', () => {
    let refused = 0;
    for (const from of RELEASE_STATUSES) {
      for (const to of RELEASE_STATUSES.filter((status) => !RELEASE_TRANSITIONS[from].includes(status))) {
        const { releases, app, releaseIn } = fresh();
        const id = releaseIn(from);
        const before = releases.get(id);
        const liveBefore = releases.live(app.id)?.id;
        const version = before?.version ?? 0;
        assert.throws(
          () => change(releases, id, to),
          (error: unknown) => error instanceof ReleaseTransitionError && error.message.startsWith(`shop v${version} cannot go from ${from} to ${to}:`),
          `${from} → ${to}`,
        );
        assert.deepEqual(releases.get(id), before, `${from} → ${to} changed nothing`);
        assert.equal(releases.live(app.id)?.id, liveBefore);
        refused += 1;
      }
    }
    assert.equal(refused, RELEASE_STATUSES.length ** 2 - Object.values(RELEASE_TRANSITIONS).flat().length);
  });

  it('moves a release to live only through promote, which retires the one it replaces', () => {
    const { releases, releaseIn } = fresh();
    const id = releaseIn('checking');
    assert.throws(() => releases.transition(id, 'live'), /goes live through promote/);
    assert.equal(releases.get(id)?.status, 'checking');
  });
});
