import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tarStream from 'tar-stream';
import yauzl from 'yauzl';
import { ValidationError } from '../domain/errors.js';
import { ArchiveCheck, type ArchiveEntry, type ArchiveLimits } from '../pipeline/archive-entries.js';
import { ByteLimit } from './byte-limit.js';

/** What an uploaded source archive is. */
export type ArchiveFormat = 'tar.gz' | 'zip';

/** Called for each entry with its content (files only); the content must be read or resumed. */
type EntryVisitor = (entry: ArchiveEntry, content: Readable | undefined) => Promise<void>;

/** Bytes a tar spends per entry beyond its content (header, a PAX header, padding): bounds the gunzipped stream. */
const TAR_OVERHEAD_PER_ENTRY = 3 * 512;
/** A zip symlink's content is its target: longer than a path can be is not one. */
const MAX_LINK_TARGET_BYTES = 4096;

/**
 * Reads the whole archive file and checks every entry (ArchiveCheck): throws a ValidationError
 * naming the first entry refused. Nothing is written anywhere.
 */
export async function checkArchive(file: string, format: ArchiveFormat, limits: ArchiveLimits): Promise<void> {
  const check = new ArchiveCheck(limits);
  await readEntries(file, format, limits, async (entry, content) => {
    check.admit(entry);
    content?.resume();
  });
  check.finish();
}

/**
 * The archive as a plain tar of its entries (what Workspaces.unpack reads), each entry checked
 * again on the way: a file changed since checkArchive cannot slip anything through.
 */
export function archiveAsTar(file: string, format: ArchiveFormat, limits: ArchiveLimits): NodeJS.ReadableStream {
  const check = new ArchiveCheck(limits);
  const pack = tarStream.pack();
  // Read from the archive only once the tar is read: a refusal must reach its reader's error listener.
  let started = false;
  const out = new Readable({
    read() {
      if (started) return void pack.resume();
      started = true;
      start();
    },
  });
  pack.on('data', (chunk: unknown) => {
    if (!out.push(chunk)) pack.pause();
  });
  pack.on('end', () => out.push(null));
  const start = () => readEntries(file, format, limits, async (entry, content) => {
    const name = check.admit(entry);
    if (name === '') return void content?.resume();
    const header: Partial<tarStream.Header> & { name: string } = {
      name,
      type: entry.type === 'hardlink' ? 'link' : (entry.type as 'file' | 'directory' | 'symlink'),
      // Owners and other mode bits are the archive's to forget: only whether a file runs is kept.
      mode: entry.type === 'directory' || entry.executable ? 0o755 : 0o644,
      ...(entry.type === 'file' ? { size: entry.size } : {}),
      ...(entry.linkname === undefined ? {} : { linkname: entry.linkname }),
    };
    if (entry.type === 'file' && content) return pipeline(content, pack.entry(header));
    content?.resume();
    await new Promise<void>((resolve, reject) => pack.entry(header, (error) => (error ? reject(error) : resolve())));
  })
    .then(() => {
      check.finish();
      pack.finalize();
    })
    .catch((error: unknown) => out.destroy(error as Error));
  return out;
}

function readEntries(file: string, format: ArchiveFormat, limits: ArchiveLimits, visit: EntryVisitor): Promise<void> {
  return format === 'zip' ? readZipEntries(file, visit) : readTarEntries(file, limits, visit);
}

async function readTarEntries(file: string, limits: ArchiveLimits, visit: EntryVisitor): Promise<void> {
  const extract = tarStream.extract();
  const bound = limits.maxBytes + limits.maxEntries * TAR_OVERHEAD_PER_ENTRY;
  const tooLarge = () => new ValidationError(`the archive unpacks to more than ${Math.round(limits.maxBytes / 1024 / 1024)} MB (PILOT_MAX_PUSH_MB): nothing was deployed`);
  const reading = pipeline(fs.createReadStream(file), zlib.createGunzip(), new ByteLimit(bound, tooLarge), extract).catch((error: unknown) => {
    throw unreadable(error, '.tar.gz');
  });
  try {
    for await (const entry of extract) {
      const { header } = entry;
      const described: ArchiveEntry = {
        name: header.name,
        type: tarType(header.type),
        size: header.size ?? 0,
        executable: ((header.mode ?? 0) & 0o111) !== 0,
        ...(header.linkname ? { linkname: header.linkname } : {}),
      };
      await visit(described, entry as unknown as Readable);
      entry.resume();
    }
  } catch (error) {
    extract.destroy();
    await reading.catch(() => undefined);
    throw unreadable(error, '.tar.gz');
  }
  await reading;
}

function tarType(type: tarStream.Header['type']): ArchiveEntry['type'] {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
    case 'symlink':
    case 'character-device':
    case 'block-device':
    case 'fifo':
      return type;
    case 'link':
      return 'hardlink';
    default:
      return 'other';
  }
}

async function readZipEntries(file: string, visit: EntryVisitor): Promise<void> {
  // Names undecoded: yauzl's own check would refuse `../x` without saying it is an archive entry.
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false }, (error, opened) =>
      error ? reject(unreadable(error, '.zip')) : resolve(opened),
    ),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (error: Error) => reject(unreadable(error, '.zip')));
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        visitZipEntry(zip, entry, visit).then(() => zip.readEntry(), reject);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

async function visitZipEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, visit: EntryVisitor): Promise<void> {
  const rawName = entry.fileName as unknown as Buffer;
  // Windows tools write `\`; a zip's names are `/`-separated.
  const name = rawName.toString('utf8').replaceAll('\\', '/');
  const type = zipType(entry, name);
  if (type === 'file' || type === 'symlink') {
    const content = await new Promise<Readable>((resolve, reject) =>
      zip.openReadStream(entry, (error, stream) => (error ? reject(new ValidationError(`the entry "${name}" of the .zip cannot be read: ${error.message}`)) : resolve(stream))),
    );
    if (type === 'symlink') {
      const target = await readSmall(content, MAX_LINK_TARGET_BYTES, name);
      return visit({ name, type, size: 0, linkname: target }, undefined);
    }
    const executable = entry.versionMadeBy >> 8 === 3 && ((entry.externalFileAttributes >>> 16) & 0o111) !== 0;
    return visit({ name, type, size: entry.uncompressedSize, executable }, content);
  }
  return visit({ name, type, size: 0 }, undefined);
}

/** The type a zip entry's Unix mode says (zips made on Unix keep it in the external attributes). */
function zipType(entry: yauzl.Entry, name: string): ArchiveEntry['type'] {
  const madeOnUnix = entry.versionMadeBy >> 8 === 3;
  const mode = madeOnUnix ? (entry.externalFileAttributes >>> 16) & 0o170000 : 0;
  if (name.endsWith('/') || mode === 0o040000) return 'directory';
  switch (mode) {
    case 0o120000:
      return 'symlink';
    case 0o020000:
      return 'character-device';
    case 0o060000:
      return 'block-device';
    case 0o010000:
      return 'fifo';
    case 0o140000:
      return 'socket';
    default:
      return 'file';
  }
}

async function readSmall(stream: Readable, maxBytes: number, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      stream.destroy();
      throw new ValidationError(`the symlink "${name}" has a target longer than ${maxBytes} bytes: nothing was deployed`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A corrupt or mislabeled archive: what the library says, as a refusal of the upload. */
function unreadable(error: unknown, kind: string): Error {
  if (error instanceof ValidationError) return error;
  return new ValidationError(`the upload is not a readable ${kind}: ${(error as Error).message}: nothing was deployed`);
}
