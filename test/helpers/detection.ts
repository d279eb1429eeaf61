import assert from 'node:assert/strict';
import { DeployError } from '../../src/domain/errors.js';
import type { SourceFacts } from '../../src/pipeline/detect.js';

/** A pushed tree as detection sees it: these files, all of them readable. */
export function facts(files: Record<string, string>): SourceFacts {
  return { files: new Set(Object.keys(files)), contents: new Map(Object.entries(files)) };
}

/** The DeployError `run` throws; fails the test when it throws nothing or something else. */
export function failure(run: () => unknown): DeployError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof DeployError, `expected a DeployError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected detection to fail');
}
