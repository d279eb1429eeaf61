import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import tarFs from 'tar-fs';
import type { DataPaths } from '../config.js';
import { ConflictError, ValidationError } from '../domain/errors.js';

/** What a backup holds, under these names in the archive. */
const ARCHIVE = {
  manifest: 'manifest.json',
  database: 'pilot.db',
  repositories: 'repos',
  caddyData: 'caddy-data',
  adminToken: 'admin-token',
  registry: 'registry',
} as const;

const FORMAT = 1;

export interface BackupManifest {
  readonly format: number;
  readonly createdAt: string;
  readonly instance: string;
  readonly apps: number;
  readonly releases: number;
}

/**
 * Writes a backup of a running Pilot to `file` (.tar.gz, mode 0600: it holds keys and tokens):
 * an online SQLite backup (consistent while Pilot writes), the git repositories, the managed
 * Caddy's storage (CA, certificates, keys), the admin token file and, in swarm mode, the
 * registry's CA and password (the nodes trust that CA). Images and volumes stay
 * in Docker (see docs/backup.md).
 */
export async function writeBackup(paths: DataPaths, instance: string, file: string): Promise<BackupManifest> {
  if (!fs.existsSync(paths.database)) throw new ValidationError(`no Pilot database at ${paths.database}: is PILOT_DATA_DIR right?`);
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-backup-'));
  try {
    // Repositories before the database: a push the copy holds is then one the database knows.
    // The other order could restore a branch ahead of every release, which the next
    // `git push` would call up to date and never deploy.
    copyRepositories(paths.repositories, path.join(staging, ARCHIVE.repositories));
    const database = new Database(paths.database, { readonly: true, fileMustExist: true });
    try {
      await database.backup(path.join(staging, ARCHIVE.database));
    } finally {
      database.close();
    }
    const copied = new Database(path.join(staging, ARCHIVE.database), { readonly: true });
    const count = (table: string) => (copied.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const manifest: BackupManifest = { format: FORMAT, createdAt: new Date().toISOString(), instance, apps: count('apps'), releases: count('releases') };
    copied.close();
    copyIfExists(paths.caddyData, path.join(staging, ARCHIVE.caddyData));
    copyIfExists(paths.adminTokenFile, path.join(staging, ARCHIVE.adminToken));
    copyIfExists(paths.registryDir, path.join(staging, ARCHIVE.registry));
    fs.writeFileSync(path.join(staging, ARCHIVE.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
    const partial = `${file}.partial`;
    try {
      await pipeline(tarFs.pack(staging), zlib.createGzip(), fs.createWriteStream(partial, { mode: 0o600 }));
    } catch (error) {
      fs.rmSync(partial, { force: true });
      throw error;
    }
    fs.renameSync(partial, file);
    return manifest;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Restores a backup into a data directory that holds no Pilot database yet (a fresh one):
 * never over a live installation. Start Pilot afterwards with the same PILOT_INSTANCE.
 */
export async function restoreBackup(paths: DataPaths, file: string): Promise<BackupManifest> {
  if (!fs.existsSync(file)) throw new ValidationError(`no backup at ${file}`);
  if (fs.existsSync(paths.database)) {
    throw new ConflictError(`${paths.database} exists: restore only into a fresh PILOT_DATA_DIR (move the old one away first)`);
  }
  const dataDir = path.dirname(paths.database);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // As Pilot makes it: an existing directory restored into keeps no wider mode.
  fs.chmodSync(dataDir, 0o700);
  const staging = fs.mkdtempSync(path.join(dataDir, '.restore-'));
  try {
    try {
      await pipeline(fs.createReadStream(file), zlib.createGunzip(), tarFs.extract(staging));
    } catch (error) {
      throw new ValidationError(`this file is not a Pilot backup (${error instanceof Error ? error.message : String(error)})`);
    }
    const manifest = readManifest(path.join(staging, ARCHIVE.manifest));
    copyIfExists(path.join(staging, ARCHIVE.repositories), paths.repositories);
    copyIfExists(path.join(staging, ARCHIVE.caddyData), paths.caddyData);
    copyIfExists(path.join(staging, ARCHIVE.adminToken), paths.adminTokenFile);
    copyIfExists(path.join(staging, ARCHIVE.registry), paths.registryDir);
    // The database last: until it exists, the directory does not look like an installation.
    fs.copyFileSync(path.join(staging, ARCHIVE.database), paths.database);
    fs.chmodSync(paths.database, 0o600);
    if (fs.existsSync(paths.repositories)) fs.chmodSync(paths.repositories, 0o700);
    return manifest;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function readManifest(file: string): BackupManifest {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as BackupManifest;
  } catch {
    throw new ValidationError('this file is not a Pilot backup (no manifest.json inside)');
  }
  if (manifest.format !== FORMAT) throw new ValidationError(`backup format ${manifest.format} is not one this Pilot reads (${FORMAT})`);
  return manifest;
}

/**
 * Each repository's refs before its objects: git writes objects before it moves a ref, and
 * never drops reachable ones, so every copied ref finds its commits in the copy.
 */
function copyRepositories(from: string, to: string): void {
  if (!fs.existsSync(from)) return;
  const refsFirst = ['HEAD', 'packed-refs', 'refs'];
  for (const repository of fs.readdirSync(from, { withFileTypes: true }).filter((entry) => entry.isDirectory())) {
    const source = path.join(from, repository.name);
    const target = path.join(to, repository.name);
    for (const entry of refsFirst) copyIfExists(path.join(source, entry), path.join(target, entry));
    // An app destroyed meanwhile leaves nothing more to copy.
    const rest = fs.existsSync(source) ? fs.readdirSync(source).filter((name) => !refsFirst.includes(name)) : [];
    for (const entry of rest) copyIfExists(path.join(source, entry), path.join(target, entry));
  }
}

function copyIfExists(from: string, to: string): void {
  if (!fs.existsSync(from)) return;
  fs.mkdirSync(path.dirname(to), { recursive: true });
  // Sockets (Caddy's admin socket, the deploy socket) are not copied: they belong to a process.
  // A push may remove its quarantine or lock files while we copy: what is gone is skipped.
  fs.cpSync(from, to, { recursive: true, preserveTimestamps: true, filter: (source) => isCopyable(source) });
}

function isCopyable(source: string): boolean {
  try {
    return !fs.lstatSync(source).isSocket();
  } catch {
    return false;
  }
}
