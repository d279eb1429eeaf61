import semver from 'semver';
import type { BuildpackName } from '../domain/types.js';
import { DeployError } from '../domain/errors.js';
import { parseProcfile } from './procfile.js';
import {
  FRAMEWORK_CONFIG_FILES, describeFramework, detectFramework, frameworkCacheDirs, frameworkDockerfileContext, frameworkInputOf,
} from './frameworks.js';

/** The port apps listen on ($PORT) when nothing else says, as Dokku and Heroku do. */
export const DEFAULT_APP_PORT = 5000;
/** Node major used when the app does not ask for one: an LTS line. */
export const DEFAULT_NODE_MAJOR = 24;
const KNOWN_NODE_MAJORS = [26, 24, 22, 20, 18, 16];

/** What detection needs to know of a pushed tree: which files exist, and small text files' contents. */
export interface SourceFacts {
  readonly files: ReadonlySet<string>;
  readonly contents: ReadonlyMap<string, string>;
}

/** Files detection looks at; their contents are read when they are small text files. */
export const DETECTION_FILES = [
  'Dockerfile', 'package.json', 'package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'index.html',
  'public/index.html', '.nvmrc', '.node-version', 'Procfile', 'app.json', '200.html', 'public/200.html', ...FRAMEWORK_CONFIG_FILES,
] as const;
export const READ_FILES = new Set<string>(['package.json', '.nvmrc', '.node-version', 'Procfile', 'app.json', ...FRAMEWORK_CONFIG_FILES]);

export interface BuildPlan {
  readonly buildpack: BuildpackName;
  /** For the pusher: `Node.js app (node 20, npm ci)`. */
  readonly description: string;
  /** Template context of buildpacks/<buildpack>/Dockerfile.hbs; undefined: the app's own Dockerfile. */
  readonly dockerfileContext: Readonly<Record<string, unknown>> | undefined;
  /** Port inside the container; undefined: read the image's EXPOSE after the build. */
  readonly port: number | undefined;
  readonly healthPath: string;
  /** Process types to run (Procfile), command null = the image's own; no `web`: no route. */
  readonly processes: Readonly<Record<string, string | null>>;
  /** The Procfile's `release:` command. */
  readonly releaseCommand: string | null;
  /** Other buildpacks whose files the Dockerfile copies (as `buildpack-<name>/`): a built site is served as the static buildpack serves one. */
  readonly alsoUses?: readonly BuildpackName[];
  /** Framework caches (relative to the app) kept from one build of the app to the next. */
  readonly buildCacheDirs?: readonly string[];
}

export interface DetectSettings {
  readonly nodeImage: string;
  readonly staticImage: string;
}

/** Picks the buildpack: a root Dockerfile, else package.json (node), else index.html (static). */
export function detectBuildpack(facts: SourceFacts, settings: DetectSettings): BuildPlan {
  const procfile = facts.contents.has('Procfile') ? parseProcfile(facts.contents.get('Procfile') ?? '') : new Map<string, string>();
  const healthPath = healthPathOf(facts.contents.get('app.json'));
  const processes = processesOf(procfile);
  if (facts.files.has('Dockerfile')) {
    return { buildpack: 'dockerfile', description: 'Dockerfile app', dockerfileContext: undefined, port: undefined, healthPath, ...processes };
  }
  if (facts.files.has('package.json')) return { ...nodePlan(facts, settings, procfile, healthPath), ...processes };
  const siteDir = facts.files.has('index.html') ? '.' : facts.files.has('public/index.html') ? 'public' : undefined;
  if (siteDir !== undefined) {
    // A 200.html turns on the single-page fallback, as on surge.sh; PILOT_SPA_FALLBACK set as a config var does too.
    const spaFallback = facts.files.has(`${siteDir === '.' ? '' : 'public/'}200.html`) ? '/200.html' : undefined;
    return {
      buildpack: 'static',
      description: `static site (${siteDir === '.' ? 'the repository root' : 'public/'}${spaFallback ? `, unknown pages answer ${spaFallback}` : ''})`,
      dockerfileContext: { baseImage: settings.staticImage, siteDir: siteDir === '.' ? '' : 'public/', port: DEFAULT_APP_PORT, spaFallback },
      port: DEFAULT_APP_PORT,
      healthPath,
      // A static site has one process: Caddy serving the files.
      processes: { web: null },
      releaseCommand: null,
    };
  }
  throw new DeployError(
    'PILOT_NO_BUILDPACK',
    'cannot tell how to build this app: looked for a Dockerfile at the root (Dockerfile app), ' +
      'package.json (Node.js app), and index.html at the root or in public/ (static site), and found none',
  );
}

interface PackageJson {
  engines?: { node?: unknown };
  dependencies?: unknown;
  devDependencies?: unknown;
  scripts?: Record<string, unknown>;
  main?: unknown;
}

/**
 * Procfile types (but `release`, which is not a process). Without a Procfile the image's
 * command is the web process; a Procfile without `web` makes a worker-only app.
 */
function processesOf(procfile: Map<string, string>): Pick<BuildPlan, 'processes' | 'releaseCommand'> {
  const declared = [...procfile].filter(([type]) => type !== 'release');
  return {
    processes: declared.length === 0 ? { web: null } : Object.fromEntries(declared),
    releaseCommand: procfile.get('release') ?? null,
  };
}

function nodePlan(
  facts: SourceFacts,
  settings: DetectSettings,
  procfile: Map<string, string>,
  healthPath: string,
): Omit<BuildPlan, 'processes' | 'releaseCommand'> {
  const pkg = parsePackageJson(facts.contents.get('package.json') ?? '');
  const major = nodeMajor(pkg, facts);
  const manager = packageManager(facts.files);
  const scripts = pkg.scripts ?? {};
  const buildCommand = typeof scripts.build === 'string' ? manager.run('build') : undefined;
  const frameworkInput = frameworkInputOf(pkg, facts.contents, procfile.has('web'));
  const framework = detectFramework(frameworkInput);
  const buildCacheDirs = buildCommand ? frameworkCacheDirs(frameworkInput) : [];
  const startCommand = framework?.kind === 'static' ? undefined : startCommandOf(pkg, procfile, framework?.startCommand);
  const description = `Node.js app (node ${major}, ${manager.install})`;
  return {
    buildpack: 'node',
    description: framework ? `${description}; ${describeFramework(framework)}` : description,
    dockerfileContext: {
      baseImage: settings.nodeImage.replaceAll('{{major}}', String(major)),
      manifestFiles: ['package.json', ...manager.lockfiles.filter((file) => facts.files.has(file))],
      // Nothing to build: dev dependencies are never needed, so they are never installed
      // (and no prune step runs after every source change).
      installCommand: buildCommand ? manager.install : `${manager.install} ${manager.productionOnly}`,
      buildCommand,
      pruneCommand: buildCommand ? manager.prune : undefined,
      startCommand,
      port: DEFAULT_APP_PORT,
      ...frameworkDockerfileContext(framework, settings.staticImage),
      ...(buildCacheDirs.length > 0 ? { restoresBuildCache: true } : {}),
    },
    port: DEFAULT_APP_PORT,
    healthPath,
    ...(framework?.kind === 'static' ? { alsoUses: ['static'] as const } : {}),
    ...(buildCacheDirs.length > 0 ? { buildCacheDirs } : {}),
  };
}

function parsePackageJson(text: string): PackageJson {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as PackageJson;
  } catch (error) {
    throw new DeployError('PILOT_PACKAGE_JSON_INVALID', `package.json is not valid JSON: ${(error as Error).message}`);
  }
}

/** Node major from engines.node, .nvmrc or .node-version; the default LTS when none says. */
export function nodeMajor(pkg: PackageJson, facts: SourceFacts): number {
  const range = typeof pkg.engines?.node === 'string' ? pkg.engines.node : undefined;
  if (range !== undefined) {
    if (semver.validRange(range) === null) {
      throw new DeployError('PILOT_NODE_VERSION_INVALID', `package.json engines.node "${range}" is not a version range (e.g. "20.x")`);
    }
    const satisfying = [DEFAULT_NODE_MAJOR, ...KNOWN_NODE_MAJORS].find((major) => semver.intersects(range, `${major}.x`));
    if (satisfying === undefined) {
      throw new DeployError('PILOT_NODE_VERSION_INVALID', `no supported Node version matches engines.node "${range}" (supported: ${KNOWN_NODE_MAJORS.join(', ')})`);
    }
    return satisfying;
  }
  const pinned = (facts.contents.get('.nvmrc') ?? facts.contents.get('.node-version'))?.trim();
  if (pinned && !/^(lts\/.*|node|stable)$/.test(pinned)) {
    const version = semver.coerce(pinned);
    if (version) return version.major;
  }
  return DEFAULT_NODE_MAJOR;
}

interface PackageManager {
  readonly install: string;
  /** Flag of `install` that leaves dev dependencies out. */
  readonly productionOnly: string;
  readonly prune: string;
  readonly lockfiles: readonly string[];
  run(script: string): string;
}

function packageManager(files: ReadonlySet<string>): PackageManager {
  if (files.has('pnpm-lock.yaml')) {
    return {
      install: 'corepack enable && pnpm install --frozen-lockfile',
      productionOnly: '--prod',
      prune: 'pnpm prune --prod',
      lockfiles: ['pnpm-lock.yaml'],
      run: (script) => `pnpm run ${script}`,
    };
  }
  if (files.has('yarn.lock')) {
    return {
      install: 'corepack enable && yarn install --frozen-lockfile',
      productionOnly: '--production',
      prune: 'yarn install --production --frozen-lockfile --ignore-scripts',
      lockfiles: ['yarn.lock'],
      run: (script) => `yarn run ${script}`,
    };
  }
  if (files.has('package-lock.json')) {
    return { install: 'npm ci', productionOnly: '--omit=dev', prune: 'npm prune --omit=dev', lockfiles: ['package-lock.json'], run: (script) => `npm run ${script}` };
  }
  return { install: 'npm install', productionOnly: '--omit=dev', prune: 'npm prune --omit=dev', lockfiles: [], run: (script) => `npm run ${script}` };
}

/**
 * The `web:` line of the Procfile, else the framework's server, else `npm start`, else `node <main>`,
 * else (a worker-only app) its first process.
 */
function startCommandOf(pkg: PackageJson, procfile: Map<string, string>, frameworkStart: readonly string[] | undefined): readonly string[] {
  const web = procfile.get('web');
  if (web) return ['/bin/sh', '-c', `exec ${web}`];
  if (frameworkStart) return frameworkStart;
  if (typeof pkg.scripts?.start === 'string') return ['npm', 'start'];
  if (typeof pkg.main === 'string') return ['node', pkg.main];
  const first = [...procfile].find(([type]) => type !== 'release')?.[1];
  if (first) return ['/bin/sh', '-c', `exec ${first}`];
  throw new DeployError(
    'PILOT_NO_START_COMMAND',
    'cannot tell how to start this Node.js app: add a "start" script to package.json, a "main" file, or a Procfile with a web: line',
  );
}

/** Health path from app.json `healthchecks.web[].path`, as Dokku reads it; `/` by default. */
export function healthPathOf(appJson: string | undefined): string {
  if (appJson === undefined) return '/';
  let parsed: unknown;
  try {
    parsed = JSON.parse(appJson);
  } catch (error) {
    throw new DeployError('PILOT_APP_JSON_INVALID', `app.json is not valid JSON: ${(error as Error).message}`);
  }
  const checks = (parsed as { healthchecks?: { web?: { path?: unknown }[] } })?.healthchecks?.web;
  const path = Array.isArray(checks) ? checks.find((check) => typeof check?.path === 'string')?.path : undefined;
  if (typeof path !== 'string') return '/';
  if (!path.startsWith('/') || /[\s#]/.test(path)) {
    throw new DeployError('PILOT_APP_JSON_INVALID', `app.json health check path "${path}" must start with / and hold no spaces`);
  }
  return path;
}
