import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram } from '../../../src/cli/program.js';

describe('the pilot program', () => {
  it('registers each command once, each with a description and an example', () => {
    const commands = buildProgram().commands;
    const names = commands.map((command) => command.name());
    assert.deepEqual(names, [...new Set(names)], 'no command is registered twice');
    for (const name of ['login', 'apps', 'apps:destroy', 'config:set', 'domains:add', 'releases', 'rollback', 'ps', 'ps:scale', 'run', 'logs', 'git:remote', 'tokens:create', 'storage:mount', 'limits:set', 'cron:runs']) {
      assert.ok(names.includes(name), `${name} is a command`);
    }
    for (const command of commands) {
      assert.notEqual(command.description(), '', `${command.name()} has a description`);
      let help = '';
      command.configureOutput({ writeOut: (text) => (help += text) });
      command.outputHelp();
      assert.match(help, /\$ pilot /, `${command.name()} --help shows an example`);
    }
  });
});
