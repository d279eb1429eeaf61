import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installedLaunch } from '../../../bench/launch.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const INSTALL = fs.readFileSync(path.join(ROOT, 'install.sh'), 'utf8');

/** The heredoc install.sh writes to `path` (up to its EOF line). */
function written(file: string): string {
  const start = INSTALL.indexOf(`write_file ${file} `);
  assert.ok(start >= 0, `install.sh writes ${file}`);
  return INSTALL.slice(start, INSTALL.indexOf('\nEOF\n', start));
}

describe('the server runs as the benchmarks measure it', () => {
  const launch = installedLaunch(ROOT);
  const nodeLine = (text: string) => text.split('\n').find((line) => line.includes(`/current/${launch.entry}`)) ?? '';

  it('npm start sets an environment and Node options', () => {
    assert.ok(Object.keys(launch.env).length > 0 && launch.nodeFlags.length > 0, JSON.stringify(launch));
  });

  it("install.sh's pilot-server (the supervisor runs it too) sets the same environment and Node options", () => {
    const wrapper = written('/usr/local/bin/pilot-server');
    for (const [name, value] of Object.entries(launch.env)) assert.match(wrapper, new RegExp(`export ${name}="\\\\\\$\\{${name}:-${value}\\}"`));
    for (const flag of launch.nodeFlags) assert.ok(nodeLine(wrapper).includes(` ${flag} `), nodeLine(wrapper));
  });

  it("install.sh's systemd unit sets the same environment and Node options", () => {
    const unit = written('/etc/systemd/system/pilot.service');
    for (const [name, value] of Object.entries(launch.env)) assert.ok(unit.includes(`\nEnvironment=${name}=${value}\n`), `${name}=${value} in the unit`);
    assert.match(nodeLine(unit), /^ExecStart=/);
    for (const flag of launch.nodeFlags) assert.ok(nodeLine(unit).includes(` ${flag} `), nodeLine(unit));
  });
});
