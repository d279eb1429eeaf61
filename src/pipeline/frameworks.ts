import { DeployError } from '../domain/errors.js';

/**
 * Front-end frameworks, detected as Railpack's Node provider does (dependencies, the build
 * script and the framework's config file): a site that builds to files is served by Caddy,
 * a server framework is started with its own server when the app does not say how.
 */

/** Framework config files detection reads (the first of each family that exists is used). */
export const FRAMEWORK_CONFIG_FILES = [
  'next.config.js', 'next.config.mjs', 'next.config.ts', 'next.config.cjs',
  'vite.config.js', 'vite.config.mjs', 'vite.config.ts', 'vite.config.mts', 'vite.config.cjs',
  'astro.config.mjs', 'astro.config.js', 'astro.config.ts', 'astro.config.mts',
  'angular.json', 'svelte.config.js', 'svelte.config.mjs',
  'nuxt.config.ts', 'nuxt.config.js', 'nuxt.config.mjs',
  'react-router.config.ts', 'react-router.config.js',
] as const;

export interface FrameworkInput {
  /** Names in package.json `dependencies` and `devDependencies`. */
  readonly dependencies: ReadonlySet<string>;
  readonly scripts: Readonly<Record<string, string>>;
  /** Contents of the framework config files present (FRAMEWORK_CONFIG_FILES). */
  readonly configFiles: ReadonlyMap<string, string>;
  /** A Procfile `web:` line says how the app is served: it is never turned into a static site. */
  readonly hasProcfileWeb: boolean;
}

/** Built, then its output directory served as files; `spaFallback`: the page unknown paths answer. */
export interface StaticFramework {
  readonly kind: 'static';
  readonly framework: string;
  readonly outputDir: string;
  readonly spaFallback: string | null;
}

/** Run as a Node.js server. */
export interface ServerFramework {
  readonly kind: 'server';
  readonly framework: string;
  /** Replaces the start command; undefined: the app's own (start script, main) is right. */
  readonly startCommand: readonly string[] | undefined;
  /** Next.js `output: 'standalone'`: only `.next/standalone` (with public/ and .next/static) is kept. */
  readonly nextStandalone: boolean;
  readonly buildEnv: Readonly<Record<string, string>>;
  readonly runtimeEnv: Readonly<Record<string, string>>;
}

export type Framework = StaticFramework | ServerFramework;

/** Start scripts that only run a framework's dev or preview server: a static build is served instead. */
const FRAMEWORK_DEV_SERVER = /^(vite( (preview|dev|serve))?|astro (preview|dev)|ng serve|react-scripts start|next start)(\s|$)/;
const ASTRO_ADAPTERS = ['@astrojs/node', '@astrojs/vercel', '@astrojs/netlify', '@astrojs/cloudflare'];

/** The framework of an app, or undefined for a plain Node.js app. */
export function detectFramework(input: FrameworkInput): Framework | undefined {
  const staticSite = input.scripts.build !== undefined && !hasOwnServer(input) ? staticFramework(input) : undefined;
  return staticSite ?? serverFramework(input);
}

function hasOwnServer(input: FrameworkInput): boolean {
  const start = input.scripts.start?.trim();
  return input.hasProcfileWeb || (start !== undefined && !FRAMEWORK_DEV_SERVER.test(start));
}

function staticFramework(input: FrameworkInput): StaticFramework | undefined {
  const has = (name: string) => input.dependencies.has(name);
  const build = input.scripts.build ?? '';
  const site = (framework: string, outputDir: string, spaFallback: string | null): StaticFramework => ({
    kind: 'static', framework, outputDir: trimSlashes(outputDir), spaFallback,
  });

  const reactRouter = configOf(input, 'react-router.config');
  if (isReactRouter(input) && reactRouter !== undefined && /(^|[{,\s])['"]?ssr['"]?\s*:\s*false\b/.test(reactRouter)) {
    return site('React Router (SPA mode)', `${stringOption(reactRouter, 'buildDirectory') ?? 'build'}/client`, '/index.html');
  }
  const next = configOf(input, 'next.config');
  if (has('next') && next !== undefined && outputMode(next) === 'export') return site('Next.js static export', 'out', null);

  const astro = configOf(input, 'astro.config');
  if (astro !== undefined && /\bastro build\b/.test(build)) {
    const server = ['server', 'hybrid'].includes(outputMode(astro) ?? '') || /\badapter\s*:/.test(astro) || ASTRO_ADAPTERS.some(has);
    return server ? undefined : site('Astro', stringOption(astro, 'outDir') ?? 'dist', null);
  }
  if (has('react-scripts') && /\breact-scripts build\b/.test(build)) return site('Create React App', 'build', '/index.html');

  const angular = input.configFiles.get('angular.json');
  if (has('@angular/core') && angular !== undefined && /\bng build\b/.test(build)) {
    return site('Angular', angularOutputDir(angular), '/index.html');
  }
  if (has('@sveltejs/kit') && has('@sveltejs/adapter-static')) {
    const svelte = configOf(input, 'svelte.config') ?? '';
    const fallback = stringOption(svelte, 'fallback');
    return site('SvelteKit (static adapter)', stringOption(svelte, 'pages') ?? 'build', fallback ? `/${trimSlashes(fallback)}` : null);
  }
  if (isViteSite(input)) {
    const outDir = stringOption(configOf(input, 'vite.config') ?? '', 'outDir') ?? /\bvite build\b.*--outDir[= ]([^\s;&|]+)/.exec(build)?.[1];
    return site('Vite', outDir ?? 'dist', '/index.html');
  }
  return undefined;
}

/** A Vite single-page app: a meta-framework built on Vite (SvelteKit, Remix, React Router, Nuxt) is not one. */
function isViteSite(input: FrameworkInput): boolean {
  const build = input.scripts.build ?? '';
  const metaFramework = ['@sveltejs/kit', '@remix-run/dev', '@react-router/dev', 'nuxt', '@tanstack/react-start'].some((name) => input.dependencies.has(name));
  return input.dependencies.has('vite') && !metaFramework && !/--ssr\b/.test(build) &&
    (/\bvite build\b/.test(build) || configOf(input, 'vite.config') !== undefined);
}

function isReactRouter(input: FrameworkInput): boolean {
  return input.dependencies.has('@react-router/dev') || configOf(input, 'react-router.config') !== undefined;
}

function serverFramework(input: FrameworkInput): ServerFramework | undefined {
  const has = (name: string) => input.dependencies.has(name);
  const start = input.scripts.start?.trim();
  // The app's own start script already says how (only a standalone Next.js build overrides `next start`, below).
  const ownStart = start !== undefined;
  const server = (framework: string, startCommand: readonly string[] | undefined, extra: Partial<ServerFramework> = {}): ServerFramework => ({
    kind: 'server', framework, startCommand: ownStart ? undefined : startCommand, nextStandalone: false, buildEnv: {}, runtimeEnv: {}, ...extra,
  });

  if (has('next')) {
    const buildEnv = { NEXT_TELEMETRY_DISABLED: '1' };
    // `next start` does not serve a standalone build: its own server.js does, on $PORT and $HOSTNAME.
    const standalone = outputMode(configOf(input, 'next.config') ?? '') === 'standalone' && !input.hasProcfileWeb &&
      (start === undefined || /^next start(\s|$)/.test(start));
    if (!standalone) return server('Next.js', ['next', 'start'], { buildEnv });
    return { kind: 'server', framework: 'Next.js (standalone)', startCommand: ['node', 'server.js'], nextStandalone: true, buildEnv, runtimeEnv: { HOSTNAME: '0.0.0.0' } };
  }
  if (has('nuxt')) return server('Nuxt', ['node', '.output/server/index.mjs']);
  if (has('@sveltejs/kit')) {
    // adapter-auto builds for adapter-node when it sees a buildpack environment (GCP_BUILDPACKS), as on Railpack.
    if (has('@sveltejs/adapter-auto')) return server('SvelteKit', ['node', 'build'], { buildEnv: { GCP_BUILDPACKS: 'true' } });
    return has('@sveltejs/adapter-node') ? server('SvelteKit', ['node', 'build']) : undefined;
  }
  if (isReactRouter(input) && has('@react-router/serve')) {
    return server('React Router', ['react-router-serve', './build/server/index.js']);
  }
  if (has('@remix-run/serve')) {
    const buildPath = configOf(input, 'vite.config') !== undefined ? './build/server/index.js' : './build/index.js';
    return server('Remix', ['remix-serve', buildPath]);
  }
  if (has('astro') && has('@astrojs/node')) {
    const outDir = trimSlashes(stringOption(configOf(input, 'astro.config') ?? '', 'outDir') ?? 'dist');
    return server('Astro (node adapter)', ['node', `./${outDir}/server/entry.mjs`], { runtimeEnv: { HOST: '0.0.0.0' } });
  }
  return undefined;
}

/** The contents of the first config file of a family (`vite.config` → vite.config.js, .ts...), comments removed. */
function configOf(input: FrameworkInput, family: string): string | undefined {
  const file = FRAMEWORK_CONFIG_FILES.find((name) => name.startsWith(`${family}.`) && input.configFiles.has(name));
  return file === undefined ? undefined : withoutComments(input.configFiles.get(file) ?? '');
}

/** `output: 'export'` and the like in a config file. */
function outputMode(config: string): string | undefined {
  return stringOption(config, 'output');
}

/** A string literal option of a JavaScript config (`outDir: 'build'`); an expression is not read. */
function stringOption(config: string, name: string): string | undefined {
  return new RegExp(`(?:^|[^\\w$.])['"]?${name}['"]?\\s*:\\s*(['"\`])([^'"\`$]*)\\1`).exec(config)?.[2];
}

/** The browser files of the default (or first application) project, as its builder lays them out. */
function angularOutputDir(text: string): string {
  let workspace: AngularWorkspace;
  try {
    workspace = JSON.parse(text) as AngularWorkspace;
  } catch (error) {
    throw new DeployError('PILOT_ANGULAR_JSON_INVALID', `angular.json is not valid JSON: ${(error as Error).message}`);
  }
  const projects = Object.entries(workspace?.projects ?? {});
  const [name, project] = projects.find(([key]) => key === workspace.defaultProject) ??
    projects.find(([, value]) => value?.projectType === 'application') ?? projects[0] ?? [];
  if (name === undefined) throw new DeployError('PILOT_ANGULAR_JSON_INVALID', 'angular.json lists no project to build');
  const build = project?.architect?.build;
  const outputPath = build?.options?.outputPath;
  // The application builder (Angular 17+) puts the browser files in <outputPath>/browser.
  const applicationBuilder = /:application$/.test(build?.builder ?? '') || build?.options?.browser !== undefined;
  const configured = typeof outputPath === 'object' ? outputPath?.base : outputPath;
  const base = typeof configured === 'string' && configured !== '' ? trimSlashes(configured) : `dist/${name}`;
  if (typeof outputPath === 'object' && outputPath !== null) return outputPath.browser === '' ? base : `${base}/${outputPath.browser ?? 'browser'}`;
  return applicationBuilder ? `${base}/browser` : base;
}

interface AngularWorkspace {
  defaultProject?: string;
  projects?: Record<string, {
    projectType?: string;
    architect?: { build?: { builder?: string; options?: { outputPath?: string | { base?: string; browser?: string }; browser?: string } } };
  } | undefined>;
}

function trimSlashes(dir: string): string {
  return dir.replace(/^\.\//, '').replace(/^\/+|\/+$/g, '');
}

/** JavaScript without its comments, strings kept (a URL's `//` is not a comment). */
function withoutComments(source: string): string {
  return source.replace(/(['"`])(?:\\.|(?!\1)[^\\])*\1|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (match) => (match.startsWith('/') ? '' : match));
}

/** The framework detection input from package.json, the files read and the Procfile. */
export function frameworkInputOf(
  pkg: { dependencies?: unknown; devDependencies?: unknown; scripts?: unknown },
  contents: ReadonlyMap<string, string>,
  hasProcfileWeb: boolean,
): FrameworkInput {
  const names = (deps: unknown) => (typeof deps === 'object' && deps !== null ? Object.keys(deps) : []);
  const scripts = Object.entries(typeof pkg.scripts === 'object' && pkg.scripts !== null ? pkg.scripts : {})
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string');
  return {
    dependencies: new Set([...names(pkg.dependencies), ...names(pkg.devDependencies)]),
    scripts: Object.fromEntries(scripts),
    configFiles: new Map(FRAMEWORK_CONFIG_FILES.flatMap((file) => (contents.has(file) ? [[file, contents.get(file) ?? '']] : []))),
    hasProcfileWeb,
  };
}

/** For the pusher: `Vite site in dist/, served as static files`. */
export function describeFramework(framework: Framework): string {
  if (framework.kind === 'server') return `${framework.framework} server`;
  const fallback = framework.spaFallback ? `, unknown pages answer ${framework.spaFallback}` : '';
  return `${framework.framework} site in ${framework.outputDir}/, served as static files${fallback}`;
}

/**
 * What a framework changes in the node buildpack's Dockerfile context (buildpacks/node/Dockerfile.hbs).
 * A static site's image is the static image with the built files: no start command, nothing to prune.
 * A standalone Next.js build carries its own node_modules: nothing to prune either.
 */
export function frameworkDockerfileContext(framework: Framework | undefined, staticImage: string): Record<string, unknown> {
  if (framework === undefined) return {};
  if (framework.kind === 'static') {
    return {
      pruneCommand: undefined,
      startCommand: undefined,
      staticSite: { baseImage: staticImage, framework: framework.framework, outputDir: framework.outputDir, spaFallback: framework.spaFallback ?? undefined },
    };
  }
  return {
    ...(framework.nextStandalone ? { pruneCommand: undefined, nextStandalone: true } : {}),
    ...(Object.keys(framework.buildEnv).length > 0 ? { buildEnv: framework.buildEnv } : {}),
    ...(Object.keys(framework.runtimeEnv).length > 0 ? { runtimeEnv: framework.runtimeEnv } : {}),
  };
}

/** The caches a framework's build reuses (Railpack keeps the same), relative to the app. */
export function frameworkCacheDirs(input: FrameworkInput): string[] {
  const has = (name: string) => input.dependencies.has(name);
  const build = input.scripts.build ?? '';
  return [
    ...(has('next') && /\bnext build\b/.test(build) ? ['.next/cache'] : []),
    ...(has('vite') ? ['node_modules/.vite'] : []),
    ...(has('astro') ? ['node_modules/.astro'] : []),
    ...(has('@remix-run/dev') && !has('vite') ? ['.cache'] : []),
  ];
}
