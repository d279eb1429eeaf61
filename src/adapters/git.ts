import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import type { Git } from 'node-git-server';
import { commonJsExports, onFirstUse } from '../lazy.js';

const run = promisify(execFile);

export interface GitRepositoriesOptions {
  readonly root: string;
  /** The hook script kept in the project's hooks/ directory. */
  readonly hookScript: string;
  /** Node binary the hook runs with (the server's own). */
  readonly nodeBinary: string;
  /** Unix socket the hook streams the pushed tree to. */
  readonly deploySocket: string;
}

/** Bare repositories, one per app, served over smart HTTP by node-git-server. */
export class GitRepositories {
  /** node-git-server, loaded at the first git request (an idle server does not hold it). */
  private readonly server: () => Promise<Git>;

  constructor(private readonly options: GitRepositoriesOptions) {
    fs.mkdirSync(options.root, { recursive: true, mode: 0o700 });
    // autoCreate stays off: Pilot creates repositories itself, with its hook installed.
    this.server = onFirstUse(async () => new (commonJsExports(await import('node-git-server'), 'Git').Git)(options.root, { autoCreate: false }));
  }

  pathOf(app: string): string {
    return path.join(this.options.root, `${app}.git`);
  }

  exists(app: string): boolean {
    return fs.existsSync(path.join(this.pathOf(app), 'HEAD'));
  }

  async create(app: string): Promise<void> {
    if (this.exists(app)) return;
    const dir = this.pathOf(app);
    await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', dir]);
    this.installHook(app);
  }

  /** Copies the current hook and settings into a repository; run at start so upgrades apply. */
  installHook(app: string): void {
    const dir = this.pathOf(app);
    // No malformed objects, no `..` paths. (The push size limit is Pilot's, before git reads a byte:
    // git's receive.maxInputSize would exit mid-upload, and node-git-server does not survive that.)
    execFileSync('git', ['-C', dir, 'config', 'receive.fsckObjects', 'true']);
    const hooksDir = path.join(this.pathOf(app), 'hooks');
    fs.mkdirSync(hooksDir, { recursive: true });
    fs.copyFileSync(this.options.hookScript, path.join(hooksDir, 'pilot-pre-receive.mjs'));
    const wrapper = [
      '#!/bin/sh',
      '# Installed by Pilot at every start; edits are overwritten.',
      `PILOT_APP=${shellQuote(app)} PILOT_DEPLOY_SOCKET=${shellQuote(this.options.deploySocket)} \\`,
      `  exec ${shellQuote(this.options.nodeBinary)} "$(dirname "$0")/pilot-pre-receive.mjs"`,
      '',
    ].join('\n');
    fs.writeFileSync(path.join(hooksDir, 'pre-receive'), wrapper, { mode: 0o755 });
  }

  installAllHooks(): string[] {
    const apps = fs
      .readdirSync(this.options.root)
      .filter((entry) => entry.endsWith('.git'))
      .map((entry) => entry.slice(0, -'.git'.length))
      .filter((app) => this.exists(app));
    for (const app of apps) this.installHook(app);
    return apps;
  }

  /** The commit a branch points at, or undefined when the branch does not exist. */
  async branchHead(app: string, branch: string): Promise<string | undefined> {
    try {
      const { stdout } = await run('git', ['-C', this.pathOf(app), 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]);
      return stdout.trim() || undefined;
    } catch {
      return undefined;
    }
  }

  /** Moves the app's repository to its new name, with the hook that names it. */
  rename(from: string, to: string): void {
    // An app made by the API and never pushed to may have none yet: its first push makes it.
    if (!this.exists(from)) return;
    fs.renameSync(this.pathOf(from), this.pathOf(to));
    this.installHook(to);
  }

  remove(app: string): void {
    fs.rmSync(this.pathOf(app), { recursive: true, force: true });
  }

  /** Serves one smart-HTTP request; authentication happened before. The request's body waits, paused, until git reads it. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let server: Git;
    try {
      server = await this.server();
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(`git over HTTP is unavailable: node-git-server did not load (${error instanceof Error ? error.message : String(error)}); reinstall Pilot\n`);
      return;
    }
    server.handle(request, response);
  }
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
