import type { ContainerEngine, ImageOrigin } from '../domain/ports.js';
import { dockerfileInstructions } from './build-vars.js';

/**
 * The images a pushed Dockerfile builds from, and whether it may. The engine builds from any
 * image it holds, so a deploy token could otherwise read another app's release image (its
 * source, what was baked into it) or anything the operator keeps on the host. A build may start
 * only from an image that comes from a registry (pulled anonymously by the build, or already
 * pulled), the configured base images, the app's own images, and the operator's allow-list.
 */

/** A word of an instruction, a quoted part belonging to its word: `A="x Y"` is one word. */
const WORD = /(?:[^\s"']+|"(?:\\.|[^"\\])*"|'[^']*')+/g;

/** What an image reference may hold once expanded; anything else (quotes, escapes, spaces) is refused as unknown. */
const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;

/** One image a Dockerfile reads, as written and as the engine will look it up. */
export interface ImageUse {
  /** `FROM`, `COPY --from`, `ADD --from` or `RUN --mount from`, with the line of the instruction. */
  readonly where: string;
  readonly image: string;
}

export interface DockerfileImages {
  readonly uses: readonly ImageUse[];
  /** Instructions whose image cannot be known before the build (a form of `${...}` Pilot does not expand). */
  readonly unresolved: readonly string[];
}

/**
 * Every image a Dockerfile reads, ARGs substituted as the builder does: in FROM, the ARGs
 * declared before the first FROM (their default, or the build var passed for them); after a
 * FROM, also the stage's own. Earlier stages (by name or index) and `scratch` are no images.
 */
export function dockerfileImages(dockerfile: string, buildArgs: Readonly<Record<string, string>>): DockerfileImages {
  const uses: ImageUse[] = [];
  const unresolved: string[] = [];
  const stages: string[] = [];
  const globalArgs = new Map<string, string>();
  let stageArgs: Map<string, string> | undefined;
  const note = (where: string, written: string, scope: ReadonlyMap<string, string>, byIndex: boolean) => {
    const image = substitute(written, scope);
    if (image === undefined || !IMAGE_REFERENCE.test(image)) unresolved.push(`${where}: ${written}`);
    else if (!isStage(image, stages, byIndex) && image.toLowerCase() !== 'scratch') uses.push({ where, image });
  };
  for (const { text, line } of dockerfileInstructions(dockerfile)) {
    let [keyword = '', ...words] = text.match(WORD) ?? [];
    // An ONBUILD trigger runs in the builds FROM this image, the app's own next ones among them:
    // what it reads is judged now, as if this build read it.
    const trigger = keyword.toUpperCase() === 'ONBUILD';
    if (trigger) [keyword = '', ...words] = words;
    const instruction = keyword.toUpperCase();
    const where = `${trigger ? 'ONBUILD ' : ''}${instruction} on line ${line}`;
    if (instruction === 'ARG') {
      for (const [name, value] of argDeclarations(words, buildArgs, globalArgs, stageArgs === undefined)) (stageArgs ?? globalArgs).set(name, value);
    } else if (instruction === 'FROM') {
      const [written = '', as, name] = words.filter((word) => !word.startsWith('--'));
      note(where, written, globalArgs, false);
      stages.push(as?.toUpperCase() === 'AS' && name ? name.toLowerCase() : '');
      stageArgs = new Map(); // a stage sees only the global ARGs it declares again
    } else if (instruction === 'COPY' || instruction === 'ADD') {
      const from = flagValue(words, 'from');
      if (from !== undefined) note(where, from, stageArgs ?? globalArgs, true);
    } else if (instruction === 'RUN') {
      for (const mount of flagValues(words, 'mount')) {
        const from = /(?:^|,)from=([^,]+)/.exec(mount)?.[1];
        if (from !== undefined) note(where, from, stageArgs ?? globalArgs, true);
      }
    }
  }
  return { uses, unresolved };
}

/** `ARG A B=2`: each name with the build var passed for it, else its default, else (in a stage) the global value. */
function argDeclarations(
  words: readonly string[],
  buildArgs: Readonly<Record<string, string>>,
  globalArgs: ReadonlyMap<string, string>,
  global: boolean,
): [string, string][] {
  return words.flatMap((word): [string, string][] => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/s.exec(word);
    if (!match?.[1]) return [];
    const name = match[1];
    const fallback = match[2] !== undefined ? unquote(match[2]) : global ? undefined : globalArgs.get(name);
    const value = buildArgs[name] ?? fallback;
    return value === undefined ? [] : [[name, value]];
  });
}

/** Quotes removed wherever they are, as the builder reads a word: `a"b c"` is `ab c`. */
function unquote(value: string): string {
  return value.replace(/"((?:\\.|[^"\\])*)"|'([^']*)'/g, (_, double: string | undefined, single: string | undefined) => double ?? single ?? '');
}

function flagValues(words: readonly string[], flag: string): string[] {
  return words.filter((word) => word.startsWith(`--${flag}=`)).map((word) => word.slice(flag.length + 3));
}

function flagValue(words: readonly string[], flag: string): string | undefined {
  return flagValues(words, flag)[0];
}

/** FROM names an earlier stage by its name; --from also by its index. */
function isStage(reference: string, stages: readonly string[], byIndex: boolean): boolean {
  const name = reference.toLowerCase();
  if (byIndex && /^\d+$/.test(name)) return Number(name) < stages.length;
  return name !== '' && stages.includes(name);
}

/**
 * `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME:+word}` (and without the colon) as the builder
 * expands them, an unset name giving ''; undefined for any other form, which Pilot refuses
 * rather than guess what the engine will read.
 */
export function substitute(text: string, scope: ReadonlyMap<string, string>): string | undefined {
  let unknownForm = false;
  const expanded = text.replace(/\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_, braced: string | undefined, bare: string | undefined) => {
    if (bare !== undefined) return scope.get(bare) ?? '';
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-+])(.*))?$/s.exec(braced ?? '');
    if (!match?.[1]) {
      unknownForm = true;
      return '';
    }
    const [, name, colon, operator, word = ''] = match;
    const value = scope.get(name);
    const set = colon ? value !== undefined && value !== '' : value !== undefined;
    if (operator === '-') return set ? (value as string) : word;
    if (operator === '+') return set ? word : '';
    return value ?? '';
  });
  if (unknownForm || /[$\\]/.test(expanded)) return undefined;
  return expanded;
}

/** `node` -> `node:latest`, `docker.io/library/node:20` -> `node:20`: the name the engine looks up locally. */
export function normalizeImage(reference: string): string {
  let name = reference.trim().toLowerCase().replace(/^(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  if (name.startsWith('library/')) name = name.slice('library/'.length);
  const lastPart = name.slice(name.lastIndexOf('/') + 1);
  return lastPart.includes(':') || name.includes('@') ? name : `${name}:latest`;
}

export interface ImagePolicy {
  readonly instance: string;
  readonly app: string;
  /** PILOT_NODE_IMAGE (with `{{major}}`), PILOT_STATIC_IMAGE. */
  readonly baseImages: readonly string[];
  /** PILOT_BUILD_ALLOWED_IMAGES: names, or prefixes ending in `*`. */
  readonly allowed: readonly string[];
}

export type Verdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/** The decision Pilot can take from the name alone; undefined: it depends on where the image came from. */
export function judgeByName(image: string, policy: ImagePolicy): Verdict | undefined {
  const name = normalizeImage(image);
  const ownPrefix = `${policy.instance}/${policy.app}:`;
  if (name.startsWith(ownPrefix)) return { allowed: true };
  if (name.startsWith(`${policy.instance}/`)) {
    return { allowed: false, reason: `${image} is another app's image on this Pilot; an app builds only from its own` };
  }
  if (policy.baseImages.some((base) => matchesBase(name, base))) return { allowed: true };
  if (policy.allowed.some((entry) => matchesAllowed(name, entry))) return { allowed: true };
  return undefined;
}

/** A local image that did not come from a registry is the host's, not the pusher's to read. */
export function judgeByOrigin(image: string, origin: ImageOrigin): Verdict {
  if (origin.fromRegistry) return { allowed: true };
  return { allowed: false, reason: `${image} exists only on this host (built or imported here, not pulled from a registry)` };
}

function matchesBase(name: string, base: string): boolean {
  const [before, after] = normalizeImage(base).split('{{major}}');
  if (after === undefined) return name === normalizeImage(base);
  return name.startsWith(before ?? '') && name.endsWith(after) && /^\d+$/.test(name.slice((before ?? '').length, name.length - after.length));
}

function matchesAllowed(name: string, entry: string): boolean {
  const trimmed = entry.trim().toLowerCase();
  if (trimmed.endsWith('*')) return name.startsWith(normalizeImage(trimmed.slice(0, -1)).replace(/:latest$/, ''));
  return name === normalizeImage(trimmed);
}

/** The images ONBUILD triggers of a parent image read (`COPY --from=...`), which run in this build. */
export function onBuildImages(triggers: readonly string[]): string[] {
  return dockerfileImages(triggers.join('\n'), {}).uses.map((use) => use.image);
}

/** What a Dockerfile may not build from, with why; empty when every image it reads is allowed. */
export async function refusedImages(
  engine: Pick<ContainerEngine, 'imageOrigin'>,
  dockerfile: string,
  buildArgs: Readonly<Record<string, string>>,
  policy: ImagePolicy,
): Promise<{ use: ImageUse | string; reason: string }[]> {
  const { uses, unresolved } = dockerfileImages(dockerfile, buildArgs);
  const refused: { use: ImageUse | string; reason: string }[] = unresolved.map((use) => ({
    use,
    reason: 'the image cannot be known before the build (write its name, or $NAME / ${NAME:-default} of an ARG)',
  }));
  for (const use of uses) {
    const byName = judgeByName(use.image, policy);
    if (byName) {
      if (!byName.allowed) refused.push({ use, reason: byName.reason });
      continue;
    }
    const origin = await engine.imageOrigin(use.image);
    const verdict = judgeByOrigin(use.image, origin);
    if (!verdict.allowed) refused.push({ use, reason: verdict.reason });
    // A registry image's ONBUILD triggers run in this build: they may read images too.
    for (const image of verdict.allowed ? onBuildImages(origin.onBuild) : []) {
      const trigger = judgeByName(image, policy) ?? judgeByOrigin(image, await engine.imageOrigin(image));
      if (!trigger.allowed) refused.push({ use, reason: `its ONBUILD trigger reads ${trigger.reason}` });
    }
  }
  return refused;
}

/** The refusal the pusher reads: what was refused, and how the operator allows it. */
export function refusalMessage(refused: readonly { use: ImageUse | string; reason: string }[]): string {
  const lines = refused.map(({ use, reason }) => (typeof use === 'string' ? `${use}: ${reason}` : `${use.where}: ${reason}`));
  return (
    `the Dockerfile builds from images this app may not read: ${lines.join('; ')}. ` +
    'Build from a public image (pulled from a registry) or from this app\'s own; the operator can allow ' +
    'an image with PILOT_BUILD_ALLOWED_IMAGES (names, or prefixes ending in *). Nothing was deployed'
  );
}
