import path from 'node:path/posix';
import { DeployError } from '../../domain/errors.js';

/** How one package manager installs, drops dev dependencies and runs scripts. */
export interface PackageManager {
  /** For the pusher: `npm`, `pnpm 9.12.0`, `Yarn 4`. */
  readonly label: string;
  /** Makes the tool available (corepack, a check that the image has it); run once, before the install files arrive. */
  readonly setup: string | undefined;
  readonly install: string;
  /** Install without dev dependencies: for apps with nothing to build. */
  readonly installProduction: string;
  /** Drops dev dependencies after the build; undefined: the tool cannot, and `note` says so. */
  readonly prune: string | undefined;
  readonly note: string | undefined;
  /** The lockfile in the install directory, if any. */
  readonly lockfile: string | undefined;
  /** Runs the `start` script when nothing else says how to start. */
  readonly start: readonly string[];
  run(script: string): string;
}

export const LOCKFILES = ['pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb', 'package-lock.json', 'npm-shrinkwrap.json'] as const;

export interface ManagerFacts {
  /** Paths of the install directory's files that exist, relative to it. */
  has(file: string): boolean;
  read(file: string): string | undefined;
  /** package.json `packageManager`, e.g. `pnpm@9.12.0+sha512...`. */
  readonly packageManagerField: unknown;
}

/** The tool picked the way corepack and Heroku do: the `packageManager` field, else the lockfile, else npm. */
export function packageManagerOf(facts: ManagerFacts): PackageManager {
  const declared = parsePackageManagerField(facts.packageManagerField);
  const lockfile = LOCKFILES.find((file) => facts.has(file));
  const name = declared?.name ?? (lockfile === undefined ? 'npm' : toolOfLockfile(lockfile));
  const ownLockfile = lockfile !== undefined && toolOfLockfile(lockfile) === name ? lockfile : undefined;
  switch (name) {
    case 'pnpm':
      return pnpm(declared?.version, ownLockfile);
    case 'yarn': {
      const major = yarnMajor(facts, declared?.version, ownLockfile);
      return major === 1 ? yarnClassic(declared?.version, ownLockfile) : yarnBerry(facts, major, declared?.version, ownLockfile);
    }
    case 'bun':
      return bun(ownLockfile);
    default:
      return npm(ownLockfile);
  }
}

function toolOfLockfile(lockfile: string): string {
  if (lockfile === 'pnpm-lock.yaml') return 'pnpm';
  if (lockfile === 'yarn.lock') return 'yarn';
  if (lockfile.startsWith('bun.')) return 'bun';
  return 'npm';
}

const PACKAGE_MANAGER_FIELD = /^(npm|pnpm|yarn|bun)@(\d+\.\d+\.\d+[^+\s]*)(\+[\w.]+)?$/;

function parsePackageManagerField(field: unknown): { name: string; version: string } | undefined {
  if (field === undefined) return undefined;
  const match = typeof field === 'string' ? PACKAGE_MANAGER_FIELD.exec(field.trim()) : null;
  if (!match) {
    throw new DeployError(
      'PILOT_PACKAGE_JSON_INVALID',
      `package.json "packageManager" must be a tool and an exact version, such as "pnpm@9.12.0" or "yarn@4.5.0", got ${JSON.stringify(field)}`,
    );
  }
  return { name: match[1] as string, version: match[2] as string };
}

/** Corepack puts pnpm and yarn on the PATH, in the version `packageManager` names. */
const COREPACK = 'corepack enable';
/** npm runs a `start` script of any project without a tool of its own to fetch at run time. */
const NPM_START = ['npm', 'start'] as const;

function npm(lockfile: string | undefined): PackageManager {
  const install = lockfile ? 'npm ci' : 'npm install';
  return {
    label: 'npm',
    setup: undefined,
    install,
    installProduction: `${install} --omit=dev`,
    prune: 'npm prune --omit=dev',
    note: undefined,
    lockfile,
    start: NPM_START,
    run: (script) => `npm run ${script}`,
  };
}

function pnpm(version: string | undefined, lockfile: string | undefined): PackageManager {
  const install = lockfile ? 'pnpm install --frozen-lockfile' : 'pnpm install';
  return {
    label: version ? `pnpm ${version}` : 'pnpm',
    setup: COREPACK,
    install,
    installProduction: `${install} --prod`,
    // `pnpm prune --prod` drops the links of workspace packages too; an offline install without
    // dev dependencies keeps them (and must not ask before it empties node_modules).
    prune: `${install} --prod --offline --config.confirm-modules-purge=false`,
    note: undefined,
    lockfile,
    start: NPM_START,
    run: (script) => `pnpm run ${script}`,
  };
}

function yarnClassic(version: string | undefined, lockfile: string | undefined): PackageManager {
  const frozen = lockfile ? ' --frozen-lockfile' : '';
  return {
    label: version ? `Yarn ${version}` : 'Yarn 1',
    setup: COREPACK,
    install: `yarn install${frozen}`,
    installProduction: `yarn install${frozen} --production`,
    prune: `yarn install${frozen} --production --ignore-scripts --prefer-offline`,
    note: undefined,
    lockfile,
    start: NPM_START,
    run: (script) => `yarn run ${script}`,
  };
}

/**
 * Yarn 2+: `--immutable` installs; dev dependencies go with `workspaces focus --production`,
 * built in from Yarn 4 and a plugin (workspace-tools) before.
 */
function yarnBerry(facts: ManagerFacts, major: number | undefined, version: string | undefined, lockfile: string | undefined): PackageManager {
  const yarnrc = facts.read('.yarnrc.yml') ?? '';
  const pinned = version !== undefined || /^yarnPath:/m.test(yarnrc);
  const canFocus = major === undefined || major >= 4 || /plugin-workspace-tools/.test(yarnrc);
  const install = lockfile ? 'yarn install --immutable' : 'yarn install';
  const focus = 'yarn workspaces focus --all --production';
  return {
    label: version ? `Yarn ${version}` : major ? `Yarn ${major}` : 'Yarn (stable)',
    // Without a version of its own, a Yarn 2+ project gets the latest stable Yarn, not corepack's default Yarn 1.
    setup: pinned ? COREPACK : `${COREPACK} && corepack prepare yarn@stable --activate`,
    install,
    installProduction: canFocus ? focus : install,
    prune: canFocus ? focus : undefined,
    note: canFocus
      ? undefined
      : `dev dependencies are kept: Yarn ${major} drops them only with the workspace-tools plugin (yarn plugin import workspace-tools), built into Yarn 4`,
    lockfile,
    // Plug'n'Play modules resolve only through Yarn's loader.
    start: /^nodeLinker:\s*["']?(node-modules|pnpm)/m.test(yarnrc) ? NPM_START : ['yarn', 'start'],
    run: (script) => `yarn run ${script}`,
  };
}

function bun(lockfile: string | undefined): PackageManager {
  const frozen = lockfile ? ' --frozen-lockfile' : '';
  return {
    label: 'bun',
    setup:
      'command -v bun >/dev/null 2>&1 || { echo "this app uses bun (bun.lock or packageManager), and the build image has no bun:' +
      ' set PILOT_NODE_IMAGE to an image with node and bun, or commit a package-lock.json instead" >&2; exit 1; }',
    install: `bun install${frozen}`,
    installProduction: `bun install${frozen} --production`,
    prune: undefined,
    note: 'dev dependencies are kept: bun has no prune',
    lockfile,
    start: NPM_START,
    run: (script) => `bun run ${script}`,
  };
}

/**
 * Yarn's major: the `packageManager` version, else the release `.yarnrc.yml` points at, else 2+
 * (undefined) when the project has Yarn 2+ files (`.yarnrc.yml`, a lockfile with `__metadata`), else 1.
 */
function yarnMajor(facts: ManagerFacts, version: string | undefined, lockfile: string | undefined): number | undefined {
  if (version !== undefined) return Number(version.split('.')[0]);
  const yarnrc = facts.read('.yarnrc.yml');
  const release = yarnrc === undefined ? undefined : /^yarnPath:\s*["']?([^"'\s]+)/m.exec(yarnrc)?.[1];
  const releaseVersion = release === undefined ? undefined : /yarn-(\d+)\.\d+\.\d+/.exec(path.basename(release))?.[1];
  if (releaseVersion !== undefined) return Number(releaseVersion);
  if (yarnrc !== undefined || facts.has('.yarnrc.yml')) return undefined;
  if (lockfile !== undefined && /^__metadata:/m.test(facts.read(lockfile) ?? '')) return undefined;
  return 1;
}
