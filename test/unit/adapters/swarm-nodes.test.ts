import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { managerProblem } from '../../../src/adapters/docker/swarm-nodes.js';

describe('which engine can run swarm mode', () => {
  it('a manager of an active swarm can', () => {
    assert.equal(managerProblem('active', true), undefined);
  });

  it('says what to do with any other', () => {
    assert.match(managerProblem('inactive', false) ?? '', /is not part of a swarm: run `docker swarm init --advertise-addr ADDRESS`/);
    assert.match(managerProblem('active', false) ?? '', /is a worker of its swarm: run Pilot on a manager/);
    assert.match(managerProblem('locked', false) ?? '', /docker swarm unlock/);
    assert.match(managerProblem('pending', false) ?? '', /swarm state "pending"/);
  });
});
