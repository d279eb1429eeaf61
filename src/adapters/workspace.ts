import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { ByteLimit } from './byte-limit.js';
import { pipeline } from 'node:stream/promises';
import tarFs from 'tar-fs';
import type { Workspaces } from '../domain/ports.js';
import { ValidationError } from '../domain/errors.js';

const MAX_READ_BYTES = 256 * 1024;
/** Bound of the files a tree may list, so a push cannot make detection walk without end. */
export const MAX_TREE_FILES = 50_000;
/** Directories never part of what is built: git's own, and installs committed by mistake. */
const UNLISTED_DIRS = new Set(['.git', 'node_modules']);

/** Build directories under the data directory, filled from the pushed tar with tar-fs. */
export function createWorkspaces(root: string, buildCacheRoot: string, maxTreeFiles: number = MAX_TREE_FILES): Workspaces {
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  fs.mkdirSync(buildCacheRoot, { recursive: true, mode: 0o700 });
  const cacheOf = (app: string) => path.join(buildCacheRoot, app);
  return {
    async unpack(source, maxBytes) {
      const buildDir = await fsp.mkdtemp(path.join(root, 'build-'));
      const appDir = path.join(buildDir, 'app');
      await fsp.mkdir(appDir);
      try {
        // Through a stream of our own: pipeline destroys what it reads from on failure, and the
        // source is the deploy request whose connection must carry the error back to the pusher.
        const input = new PassThrough();
        // pipe() does not carry errors: an archive refused while it is repacked must fail the unpack.
        source.on('error', (error: Error) => input.destroy(error));
        source.pipe(input);
        try {
          await pipeline(input, new ByteLimit(maxBytes, () => new ValidationError(`the push is larger than ${Math.round(maxBytes / 1024 / 1024)} MB (PILOT_MAX_PUSH_MB): nothing was deployed`)), tarFs.extract(appDir, { readable: true, writable: true }) as unknown as NodeJS.WritableStream);
        } catch (error) {
          source.unpipe(input);
          source.resume();
          throw error;
        }
        await refuseEscapingLinks(appDir);
      } catch (error) {
        await fsp.rm(buildDir, { recursive: true, force: true });
        if (error instanceof ValidationError) throw error;
        // tar-fs refuses a link that leaves the directory itself; say it as the check below does, without server paths.
        const invalidLink = /^(.*) is not a valid symlink$/.exec((error as Error).message)?.[1];
        if (invalidLink) throw new ValidationError(`the symlink ${path.relative(appDir, invalidLink)} points outside the repository: nothing was deployed`);
        throw new ValidationError(`the pushed tree could not be unpacked: ${(error as Error).message.replaceAll(buildDir, '<build>')}`);
      }
      return buildDir;
    },

    async facts(buildDir, readable) {
      const appDir = path.join(buildDir, 'app');
      const files = await listTree(appDir, maxTreeFiles);
      const contents = new Map<string, string>();
      for (const file of files) {
        if (!readable(file)) continue;
        const full = path.join(appDir, file);
        const stat = await fsp.lstat(full);
        if (stat.isFile() && stat.size <= MAX_READ_BYTES) contents.set(file, await fsp.readFile(full, 'utf8'));
      }
      return { files, contents };
    },

    async writeFile(buildDir, name, content) {
      await fsp.writeFile(path.join(buildDir, name), content);
    },

    async copyIn(buildDir, from, name) {
      await fsp.cp(from, path.join(buildDir, name), { recursive: true });
    },

    async restoreBuildCache(buildDir, app, name) {
      const target = path.join(buildDir, name);
      await fsp.mkdir(target, { recursive: true });
      await fsp.cp(cacheOf(app), target, { recursive: true, verbatimSymlinks: true }).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    },

    async keepBuildCache(buildDir, app, name) {
      // Build directories and caches share the data directory's filesystem: moved, not copied.
      await fsp.rm(cacheOf(app), { recursive: true, force: true });
      await fsp.rename(path.join(buildDir, name), cacheOf(app));
    },

    async removeBuildCache(app) {
      await fsp.rm(cacheOf(app), { recursive: true, force: true });
    },

    async remove(buildDir) {
      await fsp.rm(buildDir, { recursive: true, force: true });
    },
  };
}

/**
 * A symlink in the tree may point anywhere inside it, never outside (the build must not read the
 * host). Resolved as the kernel does, link by link: a lexical resolve would take `h/../..` as a
 * step back from `h` even where `h` itself is a link to the root, and let `a/b/.../h/../../..` out.
 */
async function refuseEscapingLinks(appDir: string): Promise<void> {
  const root = await fsp.realpath(appDir);
  for (const entry of await fsp.readdir(appDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isSymbolicLink()) continue;
    const link = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    const pointsAt = await fsp.readlink(link);
    // Joined, not resolved: the target's `..` must be taken after the links before it.
    const joined = path.isAbsolute(pointsAt) ? pointsAt : `${await fsp.realpath(path.dirname(link))}/${pointsAt}`;
    const target = await realTarget(joined);
    if (target !== root && !target.startsWith(root + path.sep)) {
      throw new ValidationError(`the symlink ${path.relative(appDir, link)} points outside the repository: nothing was deployed`);
    }
  }
}

/**
 * Where a path leads with every link followed (realpath), also when its end does not exist (a
 * dangling link): the missing components cannot be links, so they are joined lexically.
 */
async function realTarget(target: string): Promise<string> {
  try {
    return await fsp.realpath(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
  const parent = path.dirname(target);
  if (parent === target) return target;
  return path.join(await realTarget(parent), path.basename(target));
}

/** Paths (with `/`) of the files and symlinks of the tree, but the UNLISTED_DIRS; refuses more than maxFiles. */
async function listTree(appDir: string, maxFiles: number): Promise<Set<string>> {
  const files = new Set<string>();
  const pending = [''];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    for (const entry of await fsp.readdir(path.join(appDir, dir), { withFileTypes: true })) {
      const relative = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!UNLISTED_DIRS.has(entry.name)) pending.push(relative);
        continue;
      }
      files.add(relative);
      if (files.size > maxFiles) {
        throw new ValidationError(
          `the pushed tree holds more than ${maxFiles.toLocaleString('en')} files (node_modules and .git not counted): ` +
            'nothing was deployed; leave generated files out of the repository (.gitignore)',
        );
      }
    }
  }
  return files;
}
