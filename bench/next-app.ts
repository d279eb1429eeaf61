/**
 * Scenario 6: a Next.js app (`output: 'standalone'`), cold and warm, Pilot against `docker build` +
 * `docker run` of a hand-written multi-stage Dockerfile (next-app.Dockerfile) for the same source,
 * with the time of each step on both sides and the size of each image.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildLimitOptions } from '../src/adapters/docker/build.js';
import { answer } from './builds.js';
import { GitClient, REPEAT, appBody, localImages, median, printSection, ratio, remoteUrl, seconds, startTestPilot, table, tempDir, until, type Section, type TestPilot } from './lib.js';

const exec = promisify(execFile);

const DOCKERFILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'next-app.Dockerfile');
/** Exact versions: every round and both sides install the same tree. */
const DEPENDENCIES = { next: '16.4.6', react: '19.3.1', 'react-dom': '19.3.1' };
/** The baseline's port, as in Next.js's example; Pilot sets its own. */
const BASELINE_PORT = 3000;

/** The page text of each push: the first answer holding it is the new release's. */
const TEXT = { cold: 'next bench home, cold push', warm: 'next bench home, warm push' } as const;
type Phase = keyof typeof TEXT;

/** The package.json of an app named `name` (the name makes its lockfile, and so every build of it, new). */
function manifest(name: string): string {
  return JSON.stringify({ name, version: '1.0.0', private: true, scripts: { build: 'next build', start: 'next start' }, dependencies: DEPENDENCIES }, null, 2);
}

/** A lockfile npm resolves on the host (nothing is installed there), once; each app gets it under its own name. */
async function lockfileTemplate(): Promise<{ lockfile(name: string): string }> {
  const dir = tempDir('bench-next-lock');
  fs.writeFileSync(path.join(dir, 'package.json'), manifest('next-bench'));
  await exec('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, timeout: 180_000 });
  const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as { name: string; packages: Record<string, { name?: string }> };
  return {
    lockfile: (name) => {
      const root = lock.packages[''] ?? {};
      return JSON.stringify({ ...lock, name, packages: { ...lock.packages, '': { ...root, name } } }, null, 2) + '\n';
    },
  };
}

/** The app: two pages in the app router, a public/ file, standalone output. */
function appFiles(name: string, lockfile: string): Record<string, string> {
  return {
    'package.json': manifest(name),
    'package-lock.json': lockfile,
    '.gitignore': 'node_modules/\n.next/\n',
    'next.config.mjs': "export default { output: 'standalone' };\n",
    'app/layout.js': 'export default function RootLayout({ children }) { return <html lang="en"><body>{children}</body></html>; }\n',
    'app/page.js': homePage('cold'),
    'app/about/page.js': 'export default function About() { return <main><h1>About</h1><p>A second page.</p></main>; }\n',
    'public/robots.txt': 'User-agent: *\n',
  };
}

function homePage(phase: Phase): string {
  return `export default function Home() { return <main><h1>${TEXT[phase]}</h1><a href="/about">about</a></main>; }\n`;
}

type StepKind = 'install' | 'next build' | 'other';

/**
 * What one push or one baseline build printed, with when: marks (first line matching each),
 * the classic builder's steps ("Step N/M : ...", each until the next one or the end of the
 * build) summed by kind, and the images of the steps this build ran (not taken from the cache).
 */
class Timeline {
  private readonly started = performance.now();
  private readonly marks = new Map<string, number>();
  readonly steps: Record<StepKind, number> = { install: 0, 'next build': 0, other: 0 };
  readonly createdImages: string[] = [];
  private current: { kind: StepKind; at: number } | undefined;
  private runs = false;

  constructor(private readonly patterns: readonly (readonly [string, RegExp])[]) {}

  line(text: string): void {
    const now = performance.now();
    for (const [name, pattern] of this.patterns) if (pattern.test(text)) this.mark(name, now);
    const step = /Step \d+\/\d+ : (.*)$/.exec(text)?.[1];
    if (step !== undefined) {
      this.endStep(now);
      this.current = { kind: /\bnpm ci\b/.test(step) ? 'install' : /\b(npm run build|next build)\b/.test(step) ? 'next build' : 'other', at: now };
      this.runs = !/^FROM /i.test(step);
      return;
    }
    if (/---> Using cache\s*$/.test(text)) this.runs = false;
    const image = /---> ([0-9a-f]{12,64})\s*$/.exec(text)?.[1];
    if (image && this.runs) this.createdImages.push(image);
    if (/Successfully built /.test(text)) {
      this.endStep(now);
      this.mark('built', now);
    }
  }

  mark(name: string, at = performance.now()): void {
    if (!this.marks.has(name)) this.marks.set(name, at - this.started);
  }

  /** Milliseconds from the start to a mark (NaN when it never came). */
  at(name: string): number {
    return this.marks.get(name) ?? Number.NaN;
  }

  private endStep(now: number): void {
    if (this.current) this.steps[this.current.kind] += now - this.current.at;
    this.current = undefined;
  }
}

/** Where Pilot's push output says a stage began or ended. */
const PILOT_MARKS = [
  ['detected', /-----> Detected /],
  ['releasing', /-----> Releasing v/],
  ['healthy', /-----> Health check passed/],
  ['switched', /-----> Switched traffic/],
] as const;

/** Pilot's start and health check; the baseline's `docker run` and first 200 from the container. */
const START = 'start + health check (baseline: docker run, first 200)';

interface Measured {
  readonly total: number;
  /** Milliseconds per stage, in order; a stage one side does not have is missing from it. */
  readonly stages: Readonly<Record<string, number>>;
}

/** From the start of `git push` to the first 200 through Caddy holding `text`, with the push's stages. */
async function pilotPush(pilot: TestPilot, client: GitClient, app: string, text: string, created: string[]): Promise<Measured> {
  const timeline = new Timeline(PILOT_MARKS);
  const pushed = gitPush(client, remoteUrl(pilot.server.address, app, pilot.token), (line) => timeline.line(line));
  const live = until(`${app} serving "${text}"`, async () => (await appBody(pilot, app))?.includes(text) === true);
  await Promise.all([live, pushed]);
  timeline.mark('live', await live);
  created.push(...timeline.createdImages);
  const at = (name: string) => timeline.at(name);
  const build = at('built') - at('detected');
  return {
    total: at('live'),
    stages: {
      'git push, receive, detect': at('detected'),
      'build: npm ci step': timeline.steps.install,
      'build: next build step': timeline.steps['next build'],
      'build: context and other steps': build - timeline.steps.install - timeline.steps['next build'],
      'keep .next/cache': at('releasing') - at('built'),
      [START]: at('healthy') - at('releasing'),
      'switch (Caddy routes)': at('switched') - at('healthy'),
      'first 200 through Caddy': at('live') - at('switched'),
    },
  };
}

/** `git push`, each line of its output (remote: lines included) handed over as it arrives. */
function gitPush(client: GitClient, url: string, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['push', '--force', url, 'HEAD:refs/heads/main'], {
      cwd: client.workDir,
      env: { PATH: process.env.PATH, HOME: client.home, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1' },
    });
    let output = '';
    let partial = '';
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const lines = (partial + chunk.toString()).split(/[\r\n]/);
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`push failed (${code}):\n${output.slice(-4000)}`))));
  });
}

async function pilotRound(pilot: TestPilot, name: string, lockfile: string): Promise<Record<Phase, Measured> & { imageBytes: number }> {
  const client = new GitClient(tempDir(`bench-${name}`));
  await client.init();
  await client.commit(appFiles(name, lockfile));
  const created: string[] = [];
  try {
    const cold = await pilotPush(pilot, client, name, TEXT.cold, created);
    await client.commit({ 'app/page.js': homePage('warm') });
    const warm = await pilotPush(pilot, client, name, TEXT.warm, created);
    return { cold, warm, imageBytes: await imageBytes(await liveImage(pilot, name)) };
  } finally {
    await pilot.server.deployer.settle();
    const destroyed = await pilot.server.app.inject({ method: 'DELETE', url: `/api/v1/apps/${name}?confirm=${name}`, headers: { authorization: `Bearer ${pilot.token}` } });
    // Reported, not thrown: a throw here would hide the measurement's own error.
    if (destroyed.statusCode !== 200) console.error(`could not destroy ${name}: ${destroyed.body}`);
    await removeImages(created);
  }
}

async function liveImage(pilot: TestPilot, app: string): Promise<string> {
  const { stdout } = await exec('docker', ['ps', '-q', '--filter', `label=pilot.instance=${pilot.server.config.instance}`, '--filter', `label=pilot.app=${app}`]);
  const container = stdout.trim().split('\n')[0];
  if (!container) throw new Error(`no running container of ${app}`);
  return (await exec('docker', ['inspect', '--format', '{{.Image}}', container])).stdout.trim();
}

async function imageBytes(image: string): Promise<number> {
  return Number((await exec('docker', ['image', 'inspect', '--format', '{{.Size}}', image])).stdout.trim());
}

/**
 * The images of the steps the builds ran (the build stages' are no tag's parents), newest first;
 * --no-prune: a cached parent they share with another build stays.
 */
async function removeImages(images: readonly string[]): Promise<void> {
  if (images.length > 0) await exec('docker', ['rmi', '--no-prune', ...[...images].reverse()]).catch(() => undefined);
}

/**
 * The baseline: the same source with next-app.Dockerfile, built with Pilot's build limits, run,
 * asked until it answers. Cold without `--no-cache`, as Pilot's: the app's new lockfile already
 * makes every step from the install on new, and `--no-cache` makes the classic builder create a
 * second `WORKDIR /app` image under which the warm build does not always look (measured: the warm
 * build then ran `npm ci` again).
 */
async function baselineRound(pilot: TestPilot, name: string, lockfile: string): Promise<Record<Phase, Measured> & { imageBytes: number }> {
  const context = tempDir(`bench-${name}`);
  const write = (files: Record<string, string>) => {
    for (const [file, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(context, file)), { recursive: true });
      fs.writeFileSync(path.join(context, file), content);
    }
  };
  write({ ...appFiles(name, lockfile), Dockerfile: fs.readFileSync(DOCKERFILE, 'utf8'), '.dockerignore': 'Dockerfile\n.dockerignore\nnode_modules\n.next\n.git\n' });
  const tag = `${pilot.server.config.instance}/baseline-${name}`;
  const created: string[] = [];
  try {
    const cold = await buildRunAnswer(pilot, context, `${tag}:cold`, TEXT.cold, created);
    write({ 'app/page.js': homePage('warm') });
    const warm = await buildRunAnswer(pilot, context, `${tag}:warm`, TEXT.warm, created);
    return { cold, warm, imageBytes: await imageBytes(`${tag}:warm`) };
  } finally {
    await exec('docker', ['rmi', '-f', `${tag}:cold`, `${tag}:warm`]).catch(() => undefined);
    await removeImages(created);
  }
}

async function buildRunAnswer(pilot: TestPilot, context: string, tag: string, text: string, created: string[]): Promise<Measured> {
  const { config } = pilot.server;
  const limits = buildLimitOptions({ cpus: config.buildCpus, memoryBytes: config.buildMemoryBytes });
  const timeline = new Timeline([]);
  await dockerBuild(
    [
      '--build-arg', `NODE_IMAGE=${config.nodeImage}`,
      '--cpu-period', String(limits.cpuperiod), '--cpu-quota', String(limits.cpuquota), '--cpu-shares', String(limits.cpushares),
      '--memory', String(limits.memory), '--memory-swap', String(limits.memswap),
      '-t', tag, context,
    ],
    (line) => timeline.line(line),
  );
  created.push(...timeline.createdImages);
  const { stdout } = await exec('docker', ['run', '-d', '--network', 'bridge', '--label', `pilot.instance=${config.instance}`, tag]);
  const container = stdout.trim();
  try {
    const { stdout: ip } = await exec('docker', ['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container]);
    timeline.mark('live', await until('the baseline container', async () => (await answer(ip.trim(), BASELINE_PORT))?.includes(text) === true, 120_000));
  } finally {
    await exec('docker', ['rm', '-f', container]);
  }
  const at = (name: string) => timeline.at(name);
  return {
    total: at('live'),
    stages: {
      'build: npm ci step': timeline.steps.install,
      'build: next build step': timeline.steps['next build'],
      'build: context and other steps': at('built') - timeline.steps.install - timeline.steps['next build'],
      [START]: at('live') - at('built'),
    },
  };
}

/** `docker build` (the classic builder, as Pilot's), each line of its output handed over as it arrives. */
function dockerBuild(args: readonly string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', ['build', ...args], { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
    let output = '';
    let partial = '';
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`docker build failed (${code}):\n${output.slice(-4000)}`))));
  });
}

const megabytes = (bytes: number): string => (bytes / 1e6).toFixed(0);

export async function run(): Promise<Section> {
  // A name of its own for every app of every round: no layer of one build is in the cache of another.
  const unique = `${Date.now().toString(36)}${process.pid}`;
  // The node image under a tag of the run's own: a rebuild of PILOT_NODE_IMAGE while the run goes on
  // (other work on this machine) would make a warm build cold on one side only.
  const nodeImage = `pilot-bench/next-node:${unique}`;
  await exec('docker', ['tag', localImages().nodeImage, nodeImage]);
  const pilot = await startTestPilot({ PILOT_DRAIN_SECONDS: '1', PILOT_NODE_IMAGE: nodeImage }).catch(async (error: unknown) => {
    await exec('docker', ['rmi', nodeImage]).catch(() => undefined);
    throw error;
  });
  try {
    const { lockfile } = await lockfileTemplate();
    const pilotRounds: Awaited<ReturnType<typeof pilotRound>>[] = [];
    const baseRounds: Awaited<ReturnType<typeof baselineRound>>[] = [];
    for (let round = 0; round < REPEAT; round += 1) {
      const pilotSide = async () => pilotRounds.push(await pilotRound(pilot, `nextp${round}${unique}`, lockfile(`nextp${round}${unique}`)));
      const baseSide = async () => baseRounds.push(await baselineRound(pilot, `nextb${round}${unique}`, lockfile(`nextb${round}${unique}`)));
      // Alternate which side goes first: the machine warms up and cools down too.
      for (const side of round % 2 === 0 ? [pilotSide, baseSide] : [baseSide, pilotSide]) await side();
    }
    return section(pilotRounds, baseRounds, pilot);
  } finally {
    await pilot.close();
    await exec('docker', ['rmi', nodeImage]).catch(() => undefined);
  }
}

function section(pilotRounds: readonly (Record<Phase, Measured> & { imageBytes: number })[], baseRounds: readonly (Record<Phase, Measured> & { imageBytes: number })[], pilot: TestPilot): Section {
  const total = (rounds: typeof pilotRounds, phase: Phase) => median(rounds.map((one) => one[phase].total));
  const stage = (rounds: typeof pilotRounds, phase: Phase, name: string): string => {
    const values = rounds.map((one) => one[phase].stages[name]).filter((value) => value !== undefined);
    return values.length === 0 ? '–' : seconds(median(values));
  };
  const sizes = { pilot: median(pilotRounds.map((one) => one.imageBytes)), base: median(baseRounds.map((one) => one.imageBytes)) };
  const coldRatio = total(pilotRounds, 'cold') / total(baseRounds, 'cold');
  const stageNames = Object.keys(pilotRounds[0]?.cold.stages ?? {});
  const { config } = pilot.server;
  return {
    title: 'Next.js app: push to live against a hand-written Dockerfile',
    body: [
      `A Next.js ${DEPENDENCIES.next} app (React ${DEPENDENCIES.react}, app router, two pages, \`output: 'standalone'\`, lockfile`,
      `made on the host), median of ${REPEAT} rounds, Pilot and baseline alternating which goes first. Pilot: from the`,
      'start of `git push` to the first 200 with the new page through Caddy. Baseline: `docker build` of',
      '`bench/next-app.Dockerfile` (deps stage with `npm ci`, builder, standalone runner, as Next.js\'s Docker',
      'example; `FROM` the same `PILOT_NODE_IMAGE`, tagged for the run) + `docker run` + the first 200 from the container. Both use the',
      `classic builder with Pilot's build limits (${config.buildCpus} CPU, ${megabytes(config.buildMemoryBytes)} MB). Cold: a new app whose`,
      'package name, so its lockfile, no build before had: from `COPY package.json package-lock.json` on, no step',
      "can come from the cache on either side (only the base image's `WORKDIR` can), and there is no `.next/cache`.",
      'Warm: the home page\'s text changed, right after the cold build of the same app.',
      '',
      table(['build', 'Pilot s', 'baseline s', 'Pilot / baseline'], (['cold', 'warm'] as const).map((phase) => [
        phase, seconds(total(pilotRounds, phase)), seconds(total(baseRounds, phase)), ratio(total(pilotRounds, phase), total(baseRounds, phase)),
      ])),
      '',
      table(['image', 'Pilot MB', 'baseline MB', 'Pilot / baseline'], [['final image (base image included)', megabytes(sizes.pilot), megabytes(sizes.base), ratio(sizes.pilot, sizes.base)]]),
      '',
      `Target: cold 1.1 or less. Result: ${coldRatio.toFixed(2)} (${coldRatio <= 1.1 ? 'met' : 'missed'}).`,
      '',
      "Where the time goes (seconds, medians of each step; a build step lasts from its `Step N/M` line to the",
      "next one; Pilot's stages from the lines of its push output; the baseline's start is `docker run` and",
      'its first 200):',
      '',
      table(['step', 'Pilot cold', 'baseline cold', 'Pilot warm', 'baseline warm'], stageNames.map((name) => [
        name, stage(pilotRounds, 'cold', name), stage(baseRounds, 'cold', name), stage(pilotRounds, 'warm', name), stage(baseRounds, 'warm', name),
      ])),
    ].join('\n'),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printSection(await run());
