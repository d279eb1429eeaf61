import semver from 'semver';
import type { BuildpackName, CronEntry, DeployScripts, HealthCheck } from '../domain/types.js';
import { DeployError } from '../domain/errors.js';
import { parseProcfile } from './procfile.js';
import { parseAppJson, type AppJson } from './app-json.js';
import { LOCKFILES, packageManagerOf } from './node/package-manager.js';
import { hasDirectory, imagePath, installCopies } from './node/install.js';
import { matchWorkspaces, packageJsonWorkspaceGlobs, pnpmWorkspaceGlobs } from './node/workspaces.js';
import {
  FRAMEWORK_CONFIG_FILES, describeFramework, detectFramework, frameworkCacheDirs, frameworkDockerfileContext, frameworkInputOf,
} from './frameworks.js';

/** The port apps listen on ($PORT) when nothing else says, as Dokku and Heroku do. */
export const DEFAULT_APP_PORT = 5000;
/** Node major used when the app does not ask for one: an LTS line. */
export const DEFAULT_NODE_MAJOR = 24;
/** The Node.js lines Pilot builds with, through PILOT_NODE_IMAGE's `{{major}}`: the LTS lines that have Debian bookworm images. */
export const SUPPORTED_NODE_MAJORS = [26, 24, 22, 20, 18, 16] as const;

/** What detection needs to know of a pushed tree: every file path, and small text files' contents. */
export interface SourceFacts {
  readonly files: ReadonlySet<string>;
  readonly contents: ReadonlyMap<string, string>;
}

/**
 * Names of the files (anywhere in the tree) whose contents detection reads, when they are
 * small text files: package managers' and Heroku's files. Frameworks' config files (frameworks.ts) too.
 */
export const READ_FILE_NAMES: readonly RegExp[] = [
  /^package\.json$/, /^pnpm-workspace\.yaml$/, /^\.yarnrc\.yml$/, /^yarn\.lock$/, /^\.nvmrc$/, /^\.node-version$/, /^Procfile$/, /^app\.json$/,
];

/** Whether detection reads this file of the tree. */
export function isReadFile(file: string): boolean {
  const name = file.slice(file.lastIndexOf('/') + 1);
  return READ_FILE_NAMES.some((pattern) => pattern.test(name)) || (FRAMEWORK_CONFIG_FILES as readonly string[]).includes(name);
}

export interface BuildPlan {
  readonly buildpack: BuildpackName;
  /** For the pusher: `Node.js app (node 20, npm ci)`. */
  readonly description: string;
  /** What the pusher should know of how the app is built (dev dependencies kept...). */
  readonly notes: readonly string[];
  /** Template context of buildpacks/<buildpack>/Dockerfile.hbs; undefined: the app's own Dockerfile. */
  readonly dockerfileContext: Readonly<Record<string, unknown>> | undefined;
  /** A Dockerfile app in a build-dir: its directory is the build context. */
  readonly contextDir?: string;
  /** Port inside the container; undefined: read the image's EXPOSE after the build. */
  readonly port: number | undefined;
  /** app.json `healthchecks.web` startup checks (`GET /` when none). */
  readonly healthChecks: readonly HealthCheck[];
  /** Process types (Procfile), command null = the image's own; no `web`: no route. */
  readonly processes: Readonly<Record<string, string | null>>;
  /** app.json `formation` quantities. */
  readonly formation: Readonly<Record<string, number>>;
  /** The Procfile's `release:` command. */
  readonly releaseCommand: string | null;
  /** app.json deploy scripts. */
  readonly scripts: DeployScripts;
  /** app.json `cron` entries. */
  readonly cron: readonly CronEntry[];
  /** Other buildpacks whose files the Dockerfile copies (as `buildpack-<name>/`): a built site is served as the static buildpack serves one. */
  readonly alsoUses?: readonly BuildpackName[];
  /** Framework caches (relative to the app) kept from one build of the app to the next. */
  readonly buildCacheDirs?: readonly string[];
}

/** What a plan takes from the Procfile and app.json, whatever the buildpack. */
type ProcessFields = Pick<BuildPlan, 'healthChecks' | 'processes' | 'formation' | 'releaseCommand' | 'scripts' | 'cron'>;

export interface DetectSettings {
  readonly nodeImage: string;
  readonly staticImage: string;
  /** PILOT_CRON_ALLOW_SECONDS (tests only): cron schedules may have a seconds field. */
  readonly cronAllowSeconds?: boolean;
}

/** What the app's own settings say about its build. */
export interface AppBuildSettings {
  /** The app's directory in the repository (`pilot apps:set build-dir`); '' for the root. */
  readonly appDir: string;
  /** The app's config vars: Heroku's NPM_CONFIG_PRODUCTION=false / YARN_PRODUCTION=false keep dev dependencies. */
  readonly configVars: Readonly<Record<string, string>>;
}

const ROOT_APP: AppBuildSettings = { appDir: '', configVars: {} };

/** A path of the tree, from a directory of it ('' for the root). */
export function inDir(dir: string, file: string): string {
  return dir === '' ? file : `${dir}/${file}`;
}

/**
 * Picks the buildpack from the app's directory: a Dockerfile, else package.json (node), else
 * index.html (static).
 */
export function detectBuildpack(facts: SourceFacts, settings: DetectSettings, app: AppBuildSettings = ROOT_APP): BuildPlan {
  const dir = app.appDir;
  if (dir !== '' && !hasDirectory(facts.files, dir)) {
    throw new DeployError(
      'PILOT_BUILD_DIR_MISSING',
      `the app's build-dir "${dir}" is not a directory of this push: push a tree that has it, or change it with \`pilot apps:set build-dir DIR\` (\`--unset\` builds from the root)`,
    );
  }
  const at = (file: string) => inDir(dir, file);
  const procfile = facts.contents.has(at('Procfile')) ? parseProcfile(facts.contents.get(at('Procfile')) ?? '') : new Map<string, string>();
  const appJson = parseAppJson(facts.contents.get(at('app.json')), { allowSeconds: settings.cronAllowSeconds });
  const processes = processesOf(procfile, appJson);
  if (facts.files.has(at('Dockerfile'))) {
    return {
      buildpack: 'dockerfile', description: 'Dockerfile app', notes: [], dockerfileContext: undefined,
      ...(dir === '' ? {} : { contextDir: dir }), port: undefined, ...processes,
    };
  }
  if (facts.files.has(at('package.json'))) return { ...nodePlan(facts, settings, app, procfile), ...processes };
  const siteDir = facts.files.has(at('index.html')) ? dir : facts.files.has(at('public/index.html')) ? at('public') : undefined;
  if (siteDir !== undefined) {
    // A 200.html turns on the single-page fallback, as on surge.sh; PILOT_SPA_FALLBACK set as a config var does too.
    const spaFallback = facts.files.has(inDir(siteDir, '200.html')) ? '/200.html' : undefined;
    return {
      buildpack: 'static',
      description: `static site (${siteDir === '' ? 'the repository root' : `${siteDir}/`}${spaFallback ? `, unknown pages answer ${spaFallback}` : ''})`,
      notes: [],
      dockerfileContext: { baseImage: settings.staticImage, siteDir: siteDir === '' ? '' : `${siteDir}/`, port: DEFAULT_APP_PORT, spaFallback },
      port: DEFAULT_APP_PORT,
      ...processes,
      // A static site has one process: Caddy serving the files.
      processes: { web: null },
      releaseCommand: null,
    };
  }
  throw new DeployError(
    'PILOT_NO_BUILDPACK',
    `cannot tell how to build this app: looked for a Dockerfile ${dir === '' ? 'at the root' : `in ${dir}/`} (Dockerfile app), ` +
      `package.json (Node.js app), and index.html ${dir === '' ? 'at the root' : `in ${dir}/`} or in public/ (static site), and found none`,
  );
}

interface PackageJson {
  engines?: { node?: unknown };
  dependencies?: unknown;
  devDependencies?: unknown;
  scripts?: Record<string, unknown>;
  main?: unknown;
  workspaces?: unknown;
  packageManager?: unknown;
}

/**
 * Procfile types (but `release`, which is not a process). Without a Procfile the image's
 * command is the web process; a Procfile without `web` makes a worker-only app. app.json
 * formation may only scale types that exist.
 */
function processesOf(procfile: Map<string, string>, appJson: AppJson): ProcessFields {
  const declared = [...procfile].filter(([type]) => type !== 'release');
  const processes = declared.length === 0 ? { web: null } : Object.fromEntries(declared);
  for (const type of Object.keys(appJson.formation)) {
    if (!(type in processes)) {
      throw new DeployError(
        'PILOT_APP_JSON_INVALID',
        `app.json formation.${type}: there is no process type "${type}" (the types: ${Object.keys(processes).join(', ')}; a Procfile declares them)`,
      );
    }
  }
  return {
    healthChecks: appJson.healthchecks,
    processes,
    formation: appJson.formation,
    releaseCommand: procfile.get('release') ?? null,
    scripts: appJson.scripts,
    cron: appJson.cron,
  };
}

/**
 * Install where the workspace root or the lockfile is, build and start in the app's directory.
 * `heroku-postbuild` runs instead of `build`, `heroku-prebuild` before the install, as on Heroku.
 */
function nodePlan(
  facts: SourceFacts,
  settings: DetectSettings,
  app: AppBuildSettings,
  procfile: Map<string, string>,
): Omit<BuildPlan, keyof ProcessFields> {
  const { appDir } = app;
  const pkg = parsePackageJson(facts, inDir(appDir, 'package.json'));
  const workspace = workspaceOf(facts, appDir, pkg);
  const installPkg = workspace.dir === appDir ? pkg : parsePackageJson(facts, inDir(workspace.dir, 'package.json'));
  const manager = packageManagerOf({
    has: (file) => facts.files.has(inDir(workspace.dir, file)),
    read: (file) => facts.contents.get(inDir(workspace.dir, file)),
    packageManagerField: installPkg.packageManager ?? pkg.packageManager,
  });
  const major = nodeMajor(pkg.engines?.node === undefined ? installPkg : pkg, facts, [appDir, workspace.dir]);
  const scripts = pkg.scripts ?? {};
  const buildScript = ['heroku-postbuild', 'build'].find((script) => typeof scripts[script] === 'string');
  const prebuild = typeof scripts['heroku-prebuild'] === 'string';
  const keepDev = keepsDevDependencies(app.configVars);
  const installWorkdir = imagePath(workspace.dir);
  const appWorkdir = imagePath(appDir);
  // Commands run in the install directory (WORKDIR) unless they say where.
  const within = (dir: string, command: string) => (dir === installWorkdir ? command : `cd ${dir} && ${command}`);
  const baseImage = settings.nodeImage.replaceAll('{{major}}', String(major));
  const pruned = !keepDev && manager.prune !== undefined;
  const toolKeepsDev = buildScript ? manager.prune === undefined : manager.installProduction === manager.install;
  const notes = [
    ...(keepDev ? ['dev dependencies are kept (NPM_CONFIG_PRODUCTION=false or YARN_PRODUCTION=false)'] : []),
    ...(!keepDev && toolKeepsDev && manager.note ? [manager.note] : []),
    ...(prebuild ? ['heroku-prebuild needs the whole tree before the install: dependencies are reinstalled on every push'] : []),
  ];
  const frameworkInput = frameworkInputOf(pkg, contentsIn(facts.contents, appDir), procfile.has('web'));
  const framework = detectFramework(frameworkInput);
  const buildCacheDirs = buildScript ? frameworkCacheDirs(frameworkInput) : [];
  const description = `Node.js app (node ${major}, ${manager.install})`;
  return {
    buildpack: 'node',
    description: framework ? `${description}; ${describeFramework(framework)}` : description,
    notes,
    dockerfileContext: {
      baseImage,
      setupCommand: manager.setup,
      installWorkdir,
      // heroku-prebuild runs before the install and may read any file: it gets the whole tree.
      installCopies: prebuild
        ? [{ sources: ['app/'], dest: '/app/' }]
        : installCopies({ installDir: workspace.dir, lockfile: manager.lockfile, workspaceDirs: workspace.members }, facts.files),
      treeCopied: prebuild,
      prebuildCommand: prebuild ? within(appWorkdir, manager.run('heroku-prebuild')) : undefined,
      // Nothing to build: dev dependencies are never needed, so they are never installed
      // (and no prune step runs after every source change).
      installCommand: buildScript || keepDev ? manager.install : manager.installProduction,
      appWorkdir,
      buildCommand: buildScript ? manager.run(buildScript) : undefined,
      // The build runs in the app's directory (WORKDIR by then); the prune where the install ran.
      pruneCommand: buildScript && pruned ? (appWorkdir === installWorkdir ? manager.prune : `cd ${installWorkdir} && ${manager.prune}`) : undefined,
      nodeCheck: nodeVersionCheck(major, baseImage),
      // Commands of a Procfile or a framework find the app's tools as on Heroku (appended: the image's own come first).
      binPath: [...new Set([appWorkdir, installWorkdir])].map((dir) => `${dir === '/' ? '' : dir}/node_modules/.bin`).join(':'),
      standaloneAppPath: appDir === workspace.dir ? '' : `${appDir.slice(workspace.dir === '' ? 0 : workspace.dir.length + 1)}/`,
      startCommand: framework?.kind === 'static' ? undefined : startCommandOf(pkg, procfile, manager.start, framework?.startCommand),
      port: DEFAULT_APP_PORT,
      ...frameworkDockerfileContext(framework, settings.staticImage),
      ...(buildCacheDirs.length > 0 ? { restoresBuildCache: true } : {}),
    },
    port: DEFAULT_APP_PORT,
    ...(framework?.kind === 'static' ? { alsoUses: ['static'] as const } : {}),
    ...(buildCacheDirs.length > 0 ? { buildCacheDirs } : {}),
  };
}

/** The files of a directory of the tree, by their paths inside it. */
function contentsIn(contents: ReadonlyMap<string, string>, dir: string): ReadonlyMap<string, string> {
  if (dir === '') return contents;
  const prefix = `${dir}/`;
  return new Map([...contents].flatMap(([file, text]) => (file.startsWith(prefix) ? [[file.slice(prefix.length), text] as const] : [])));
}

/** Heroku's names for keeping dev dependencies in the image. */
function keepsDevDependencies(configVars: Readonly<Record<string, string>>): boolean {
  return configVars.NPM_CONFIG_PRODUCTION?.toLowerCase() === 'false' || configVars.YARN_PRODUCTION?.toLowerCase() === 'false';
}

/**
 * The directory the install runs in and its workspace members: the app's own when it has a
 * lockfile or workspaces, else the nearest parent whose workspaces include the app, else the app's.
 */
function workspaceOf(facts: SourceFacts, appDir: string, pkg: PackageJson): { dir: string; members: string[] } {
  const ownMembers = workspaceMembers(facts, appDir, pkg);
  if (appDir === '' || ownMembers.length > 0 || LOCKFILES.some((file) => facts.files.has(inDir(appDir, file)))) {
    return { dir: appDir, members: ownMembers };
  }
  for (let dir = parentOf(appDir); dir !== undefined; dir = parentOf(dir)) {
    if (!facts.files.has(inDir(dir, 'package.json'))) continue;
    const members = workspaceMembers(facts, dir, parsePackageJson(facts, inDir(dir, 'package.json')));
    if (members.some((member) => inDir(dir, member) === appDir)) return { dir, members };
  }
  return { dir: appDir, members: [] };
}

function workspaceMembers(facts: SourceFacts, dir: string, pkg: PackageJson): string[] {
  const globs = [...packageJsonWorkspaceGlobs(pkg.workspaces), ...pnpmWorkspaceGlobs(facts.contents.get(inDir(dir, 'pnpm-workspace.yaml')))];
  return globs.length === 0 ? [] : matchWorkspaces(globs, dir, facts.files);
}

function parentOf(dir: string): string | undefined {
  if (dir === '') return undefined;
  const slash = dir.lastIndexOf('/');
  return slash === -1 ? '' : dir.slice(0, slash);
}

function parsePackageJson(facts: SourceFacts, file: string): PackageJson {
  const text = facts.contents.get(file);
  if (text === undefined) throw new DeployError('PILOT_PACKAGE_JSON_INVALID', `${file} could not be read: it must be a regular file of at most 256 KiB`);
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as PackageJson;
  } catch (error) {
    throw new DeployError('PILOT_PACKAGE_JSON_INVALID', `${file} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Node major from engines.node, else .nvmrc or .node-version (in the app's directory, then the
 * install's); the default LTS when none says.
 */
export function nodeMajor(pkg: PackageJson, facts: SourceFacts, dirs: readonly string[] = ['']): number {
  const range = typeof pkg.engines?.node === 'string' ? pkg.engines.node : undefined;
  if (range !== undefined) {
    if (semver.validRange(range) === null) {
      throw new DeployError('PILOT_NODE_VERSION_INVALID', `package.json engines.node "${range}" is not a version range (e.g. "20.x")`);
    }
    const satisfying = [DEFAULT_NODE_MAJOR, ...SUPPORTED_NODE_MAJORS].find((major) => semver.intersects(range, `${major}.x`));
    if (satisfying === undefined) throw unsupportedNode(`package.json engines.node "${range}"`);
    return satisfying;
  }
  const pinned = dirs
    .flatMap((dir) => [facts.contents.get(inDir(dir, '.nvmrc')), facts.contents.get(inDir(dir, '.node-version'))])
    .find((text) => text !== undefined)
    ?.trim();
  if (pinned && !/^(lts\/.*|node|stable)$/.test(pinned)) {
    const version = semver.coerce(pinned);
    if (version && !(SUPPORTED_NODE_MAJORS as readonly number[]).includes(version.major)) throw unsupportedNode(`.nvmrc / .node-version "${pinned}"`);
    if (version) return version.major;
  }
  return DEFAULT_NODE_MAJOR;
}

function unsupportedNode(asked: string): DeployError {
  return new DeployError(
    'PILOT_NODE_VERSION_INVALID',
    `${asked} asks for a Node.js line Pilot does not build with (it builds with ${SUPPORTED_NODE_MAJORS.join(', ')}): ` +
      'allow one of them (e.g. engines.node ">=14" builds with the default LTS), or deploy with a Dockerfile FROM an image of that version',
  );
}

/**
 * A shell command that prints which Node.js the image has, and warns when it is not the major
 * the app asked for (a PILOT_NODE_IMAGE without `{{major}}` gives one version to every app).
 */
function nodeVersionCheck(major: number, baseImage: string): string {
  const warning = `warning: the app asks for Node.js ${major}, and ${baseImage} has $version: ` +
    'set PILOT_NODE_IMAGE to an image name with {{major}} (e.g. node:{{major}}-bookworm-slim) to follow the app';
  return `version=$(node --version) && echo "Node.js $version in ${baseImage}" && case "$version" in v${major}.*) ;; *) echo "${warning}" ;; esac`;
}

/**
 * The `web:` line of the Procfile, else the framework's server, else the start script, else
 * `node <main>`, else (a worker-only app) its first process.
 */
function startCommandOf(
  pkg: PackageJson,
  procfile: Map<string, string>,
  startScript: readonly string[],
  frameworkStart: readonly string[] | undefined,
): readonly string[] {
  const web = procfile.get('web');
  if (web) return ['/bin/sh', '-c', `exec ${web}`];
  if (frameworkStart) return frameworkStart;
  if (typeof pkg.scripts?.start === 'string') return startScript;
  if (typeof pkg.main === 'string') return ['node', pkg.main];
  const first = [...procfile].find(([type]) => type !== 'release')?.[1];
  if (first) return ['/bin/sh', '-c', `exec ${first}`];
  throw new DeployError(
    'PILOT_NO_START_COMMAND',
    'cannot tell how to start this Node.js app: add a "start" script to package.json, a "main" file, or a Procfile with a web: line',
  );
}
