import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram } from '../../../src/cli/program.js';
import { appOfArgument } from '../../../src/cli/context.js';
import { rollbackSummary } from '../../../src/cli/commands/releases.js';
import { browserCommand } from '../../../src/cli/commands/apps.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'cli', 'main.ts');

/** Parses `pilot ARGS` with `name`'s action replaced: what it was given. */
async function parsed(name: string, args: string[]): Promise<{ operands: unknown[]; command: Command }> {
  const program = buildProgram();
  const target = program.commands.find((command) => command.name() === name);
  assert.ok(target, `${name} is a command`);
  let result: { operands: unknown[]; command: Command } | undefined;
  target.action((...received: unknown[]) => {
    const command = received.at(-1) as Command;
    result = { operands: received.slice(0, -2), command };
  });
  await program.parseAsync(args, { from: 'user' });
  assert.ok(result, `${name} ran`);
  return result;
}

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
      assert.match(help, /^ {2}\$ .*\bpilot /m, `${command.name()} --help shows an example`);
    }
  });

  it("passes the command's own options through to `pilot run`, with or without --", async () => {
    assert.deepEqual((await parsed('run', ['run', 'node', '-v'])).operands, [['node', '-v']]);
    const withApp = await parsed('run', ['run', '-a', 'shop', 'node', '-e', 'console.log(1)', '--inspect']);
    assert.deepEqual(withApp.operands, [['node', '-e', 'console.log(1)', '--inspect']]);
    assert.equal(withApp.command.opts<{ app?: string }>().app, 'shop');
    const afterDashes = await parsed('run', ['run', '-a', 'shop', '--', 'grep', '-a', 'x']);
    assert.deepEqual(afterDashes.operands, [['grep', '-a', 'x']]);
    assert.equal(afterDashes.command.opts<{ app?: string }>().app, 'shop');
  });

  it('follows the log with --tail as with -f, and restarts one process type with ps:restart TYPE', async () => {
    const tail = await parsed('logs', ['logs', '--tail', '-n', '5']);
    assert.deepEqual(tail.command.opts(), { num: 5, tail: true });
    assert.deepEqual((await parsed('ps:restart', ['ps:restart', 'worker', '-a', 'shop'])).operands, ['worker']);
    assert.deepEqual((await parsed('ps:restart', ['ps:restart'])).operands, [undefined]);
  });

  it('opens the URL with the opener of each platform', () => {
    assert.deepEqual(browserCommand('linux', 'https://shop.example.com'), ['xdg-open', ['https://shop.example.com']]);
    assert.deepEqual(browserCommand('darwin', 'https://shop.example.com'), ['open', ['https://shop.example.com']]);
    assert.deepEqual(browserCommand('win32', 'https://shop.example.com'), ['cmd', ['/c', 'start', '""', 'https://shop.example.com']]);
  });

  it('takes the app of apps:info as its argument or -a, and refuses two different ones', async () => {
    const positional = await parsed('apps:info', ['apps:info', 'shop']);
    assert.equal(appOfArgument(positional.operands[0] as string, positional.command), 'shop');
    const option = await parsed('apps:info', ['apps:info', '-a', 'shop']);
    assert.equal(appOfArgument(option.operands[0] as string | undefined, option.command), 'shop');
    const both = await parsed('apps:info', ['apps:info', 'shop', '-a', 'blog']);
    assert.throws(() => appOfArgument(both.operands[0] as string, both.command), /two apps given \(shop and -a blog\)/);
  });

  it('prints its version with --version and -V', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(path.dirname(MAIN), '..', '..', 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const program = buildProgram();
      let printed = '';
      program.configureOutput({ writeOut: (text) => (printed += text) });
      await assert.rejects(program.parseAsync([flag], { from: 'user' }), { code: 'commander.version' });
      assert.equal(printed, `${version}\n`);
    }
  });

  it('stops quietly when its reader goes away (pilot --help | head)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the CLI has even started: its first write meets a closed pipe.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(stderr, '', 'no EPIPE stack');
    assert.equal(code, 0);
  });
});

describe('pilot rollback', () => {
  it('names the version it went back to', () => {
    assert.equal(rollbackSummary({ version: 4, description: 'Rollback to v2' }), 'Rollback to v2 done: v4 serves its image and config');
  });
});
