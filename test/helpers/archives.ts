import fs from 'node:fs';
import zlib from 'node:zlib';
import tarStream from 'tar-stream';
import yazl from 'yazl';

/** An entry of a test archive: a file (content), a symlink (link) or any other tar type. */
export interface TestEntry {
  readonly name: string;
  readonly content?: string;
  readonly link?: string;
  readonly executable?: boolean;
  /** A tar type (`character-device`, `fifo`...) or, in a zip, a Unix file type (e.g. 0o020000). */
  readonly type?: 'character-device' | 'block-device' | 'fifo' | 'directory';
}

/** Zip names yazl refuses (`../x`, `/x`) are written as placeholders of the same length, then swapped in the bytes. */
const PLACEHOLDERS: readonly [RegExp, string][] = [
  [/\.\.\//g, 'ZZ/'],
  [/^\//, 'Y'],
];

const ZIP_TYPES = { 'character-device': 0o020000, 'block-device': 0o060000, fifo: 0o010000, directory: 0o040000 } as const;

/** A .zip of the entries (made as on Unix, with file types in the external attributes), even ones no tool would write. */
export async function writeZip(file: string, entries: readonly TestEntry[]): Promise<void> {
  const zip = new yazl.ZipFile();
  const swaps: [string, string][] = [];
  for (const entry of entries) {
    let name = entry.name;
    for (const [pattern, placeholder] of PLACEHOLDERS) {
      if (pattern.test(name)) {
        const stored = name.replace(pattern, placeholder);
        swaps.push([stored, name]);
        name = stored;
      }
    }
    if (entry.link !== undefined) zip.addBuffer(Buffer.from(entry.link), name, { mode: 0o120777 });
    else if (entry.type === 'directory') zip.addEmptyDirectory(name);
    else if (entry.type) zip.addBuffer(Buffer.alloc(0), name, { mode: ZIP_TYPES[entry.type] | 0o644 });
    else zip.addBuffer(Buffer.from(entry.content ?? ''), name, { mode: entry.executable ? 0o100755 : 0o100644 });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  let bytes: Buffer = Buffer.concat(chunks);
  for (const [stored, wanted] of swaps) bytes = swapAll(bytes, Buffer.from(stored), Buffer.from(wanted));
  fs.writeFileSync(file, bytes);
}

function swapAll(bytes: Buffer, from: Buffer, to: Buffer): Buffer {
  for (let at = bytes.indexOf(from); at !== -1; at = bytes.indexOf(from, at + to.length)) to.copy(bytes, at);
  return bytes;
}

/** A .tar.gz of the entries, with any name and type. */
export async function writeTarGz(file: string, entries: readonly TestEntry[]): Promise<void> {
  const pack = tarStream.pack();
  for (const entry of entries) {
    if (entry.link !== undefined) pack.entry({ name: entry.name, type: 'symlink', linkname: entry.link });
    else if (entry.type) pack.entry({ name: entry.name, type: entry.type });
    else pack.entry({ name: entry.name, mode: entry.executable ? 0o755 : 0o644 }, entry.content ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack.pipe(zlib.createGzip())) chunks.push(chunk as Buffer);
  fs.writeFileSync(file, Buffer.concat(chunks));
}
