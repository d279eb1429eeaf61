import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { appPath, type ApiClient } from '../client.js';
import { appOption, context } from '../context.js';
import { CliError } from '../errors.js';
import { packDirectory } from '../pack.js';
import { resolveApp } from '../settings.js';
import { forTerminal, wantsColour } from '../output.js';

/** The line that ends a deploy's output (src/http/deploy-socket.ts), never shown. */
const RESULT_MARKER = '\u0000PILOT-RESULT ';

interface DeployOptions {
  readonly app?: string;
  readonly archive?: string;
  readonly image?: string;
  readonly imageArchive?: string;
}

/** `pilot deploy`: a directory, an archive, an image or a `docker save` tarball, built and rolled out as a push. */
export function registerDeployCommand(program: Command): void {
  program
    .command('deploy')
    .description('deploy without git push: a directory, a .tar.gz or .zip, an image, or a `docker save` tarball; streams the output as a push does')
    .argument('[dir]', "the directory to deploy: a git checkout's tracked files, else every file but .gitignore/.pilotignore matches", '.')
    .addOption(appOption())
    .option('--archive <file>', 'upload an existing .tar.gz or .zip of the source instead of packing DIR')
    .option('--image <name[:tag]>', "run an image the server's engine has or can pull (its CMD, its EXPOSEd port, else the app's PORT)")
    .option('--image-archive <file>', 'upload a `docker save` tarball of one image and run it')
    .addHelpText(
      'after',
      '\nExamples:\n  $ pilot deploy ./site -a shop\n  $ pilot deploy --archive build.zip -a shop\n' +
        '  $ pilot deploy --image registry.example.com/shop:1.4 -a shop\n  $ pilot deploy --image-archive shop.tar -a shop   # docker save shop:1.4 -o shop.tar',
    )
    .action(async (dir: string, options: DeployOptions, command: Command) => {
      const chosen = [options.archive, options.image, options.imageArchive].filter((value) => value !== undefined);
      if (chosen.length > 1) throw new CliError('choose one of --archive, --image and --image-archive');
      if (chosen.length === 1 && dir !== '.') throw new CliError(`${dir}: a directory or --archive, --image, --image-archive, not both`);
      const app = resolveApp(options.app, fs.existsSync(dir) ? dir : process.cwd());
      const client = context(command).client();
      const ok = await deploy(client, app, dir, options);
      if (!ok) throw new CliError(`${app} was not deployed (the lines above say why)`);
    });
}

async function deploy(client: ApiClient, app: string, dir: string, options: DeployOptions): Promise<boolean> {
  if (options.image !== undefined) {
    return postDeploy(client, appPath(app, '/deploys/image'), 'application/json', JSON.stringify({ image: options.image }));
  }
  if (options.imageArchive !== undefined) {
    const file = readable(options.imageArchive);
    return postDeploy(client, appPath(app, '/deploys/image-archive'), (await isGzip(file)) ? 'application/gzip' : 'application/x-tar', await fs.openAsBlob(file));
  }
  if (options.archive !== undefined) {
    const file = readable(options.archive);
    const type = /\.zip$/i.test(file) ? 'application/zip' : /\.(tar\.gz|tgz)$/i.test(file) ? 'application/gzip' : undefined;
    if (!type) throw new CliError(`${file}: --archive takes a .tar.gz (.tgz) or a .zip`);
    return postDeploy(client, appPath(app, '/deploys'), type, await fs.openAsBlob(file));
  }
  const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-deploy-'));
  try {
    const file = path.join(temp, 'source.tar.gz');
    const count = await packDirectory(dir, file);
    process.stdout.write(`-----> Packed ${count} file${count === 1 ? '' : 's'} of ${dir} (${megabytes(fs.statSync(file).size)} MB)\n`);
    return await postDeploy(client, appPath(app, '/deploys'), 'application/gzip', await fs.openAsBlob(file));
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}

function readable(file: string): string {
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) throw new CliError(`${file}: no such file`);
  return file;
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await fs.promises.open(file);
  try {
    const { buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Posts the upload (or nothing: `git:sync`) and prints the deploy's output as it streams; resolves whether it went live. */
export async function postDeploy(client: ApiClient, apiPath: string, contentType?: string, body?: Blob | string): Promise<boolean> {
  let response: Response;
  try {
    const headers = { authorization: `Bearer ${client.token}`, ...(contentType ? { 'content-type': contentType } : {}) };
    response = await fetch(`${client.url}/api/v1${apiPath}`, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message;
    throw new CliError(`cannot reach ${client.url}: ${cause}`);
  }
  if (!response.ok || !response.body) {
    const text = await response.text();
    let message = `HTTP ${response.status}`;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // Not Pilot's JSON error: the status says enough.
    }
    throw new CliError(message);
  }
  let result: string | undefined;
  let pending = '';
  const decoder = new TextDecoder();
  // The build's colours, on a terminal only: a file or a CI log gets the text.
  const colour = wantsColour(process.stdout, process.env);
  const printLines = (final: boolean): void => {
    const lines = pending.split('\n');
    pending = final ? '' : (lines.pop() ?? '');
    for (const line of lines) {
      if (line.startsWith(RESULT_MARKER)) result = line.slice(RESULT_MARKER.length).trim();
      else if (line !== '' || !final) process.stdout.write(`${forTerminal(line, colour)}\n`);
    }
  };
  for await (const chunk of response.body) {
    pending += decoder.decode(chunk as Uint8Array, { stream: true });
    printLines(false);
  }
  pending += decoder.decode();
  printLines(true);
  if (result === undefined) throw new CliError('the server ended the deploy output without a result: the deploy may still be running (`pilot releases`)');
  return result === 'ok';
}

function megabytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

/** A release's source in a few characters: `git 3f2a1c9`, `archive 3f2a1c9d0e1f`, `image shop:1.4`. */
export function shortSource(source: string | null): string | undefined {
  if (!source) return undefined;
  const space = source.indexOf(' ');
  const kind = source.slice(0, space);
  const detail = source.slice(space + 1);
  if (kind === 'git') return `git ${detail.slice(0, 7)}`;
  if (kind === 'archive') return `archive ${detail.replace(/^sha256:/, '').slice(0, 12)}`;
  if (kind === 'image') return `image ${detail.replace(/@sha256:[0-9a-f]+$/, '')}`;
  if (kind === 'repo') return `repo ${detail.slice(detail.lastIndexOf(' ') + 1).slice(0, 7)}`;
  return source;
}
