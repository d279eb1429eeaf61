import path from 'node:path/posix';

/** Files of the install directory the install reads besides package.json and the lockfile (npm, Yarn, pnpm, bun settings). */
const INSTALL_FILES = ['.npmrc', '.yarnrc', '.yarnrc.yml', '.pnpmfile.cjs', 'pnpm-workspace.yaml', 'bunfig.toml'] as const;
/** Directories the install reads: Yarn's release, plugins and patches; patch-package's and pnpm's patches. */
const INSTALL_DIRS = ['.yarn/releases', '.yarn/plugins', '.yarn/patches', 'patches'] as const;

/** One COPY instruction of the install layer: sources in the build context, the directory they go to in the image. */
export interface CopyStep {
  readonly sources: readonly string[];
  readonly dest: string;
}

export interface InstallInputs {
  /** The repository's directory holding the workspace root or the lockfile ('' for the root). */
  readonly installDir: string;
  readonly lockfile: string | undefined;
  /** Workspace directories, relative to installDir. */
  readonly workspaceDirs: readonly string[];
}

/** The image's path of a repository path: the tree goes to /app. */
export function imagePath(repositoryPath: string): string {
  return repositoryPath === '' ? '/app' : `/app/${repositoryPath}`;
}

/**
 * The COPY steps that bring only what the install reads, each file to its own directory
 * (one COPY per directory: COPY flattens several sources into one destination), so the
 * dependency layer is rebuilt only when one of them changes.
 */
export function installCopies(inputs: InstallInputs, files: ReadonlySet<string>): CopyStep[] {
  const at = (file: string) => (inputs.installDir === '' ? file : `${inputs.installDir}/${file}`);
  const manifests = [
    'package.json',
    ...(inputs.lockfile ? [inputs.lockfile] : []),
    ...INSTALL_FILES,
    ...inputs.workspaceDirs.map((dir) => `${dir}/package.json`),
  ].map(at).filter((file) => files.has(file));
  const byDir = new Map<string, string[]>();
  for (const file of new Set(manifests)) {
    const dir = path.dirname(file) === '.' ? '' : path.dirname(file);
    byDir.set(dir, [...(byDir.get(dir) ?? []), `app/${file}`]);
  }
  const copies = [...byDir].map(([dir, sources]) => ({ sources, dest: `${imagePath(dir)}/` }));
  for (const dir of INSTALL_DIRS.map(at)) {
    if (hasDirectory(files, dir)) copies.push({ sources: [`app/${dir}`], dest: `${imagePath(dir)}/` });
  }
  return copies;
}

/** Whether the listed tree has files under `dir`. */
export function hasDirectory(files: ReadonlySet<string>, dir: string): boolean {
  if (dir === '') return files.size > 0;
  const prefix = `${dir}/`;
  for (const file of files) if (file.startsWith(prefix)) return true;
  return false;
}
