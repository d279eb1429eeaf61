/**
 * Shared pieces of the benchmarks: a real Pilot of their own (the test harness's), a load
 * generator (autocannon), timing helpers and Markdown tables. Numbers are medians of repeated
 * runs on this machine; scenarios compare against baselines measured in the same run.
 */
import os from 'node:os';
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GitClient, httpsGet, localImages, remoteUrl, tempDir } from '../test/helpers/integration.js';
import { startTestPilot, type TestPilot } from '../test/helpers/pilot.js';

export { GitClient, localImages, remoteUrl, startTestPilot, tempDir, type TestPilot };

export interface Section {
  readonly title: string;
  /** Markdown: the table and what it means. */
  readonly body: string;
}

/** How many times each timed measurement repeats (medians are reported); BENCH_REPEAT overrides. */
export const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export const seconds = (ms: number): string => (ms / 1000).toFixed(2);
export const ratio = (a: number, b: number): string => (a / b).toFixed(2);

/**
 * A GET of the app through Caddy; its body when it answered 200, undefined otherwise. Over HTTPS
 * on 127.0.0.1 with the test CA, or with `plainHttpAt` by plain HTTP at that address and
 * pilot.httpPort (PILOT_TLS=off, as with the Caddy container of swarm mode on another machine).
 */
export async function appBody(pilot: TestPilot, app: string, urlPath = '/', plainHttpAt?: string): Promise<string | undefined> {
  try {
    if (plainHttpAt !== undefined) return await plainHttpBody(plainHttpAt, pilot.httpPort, `${app}.${pilot.domain}`, urlPath);
    const answer = await httpsGet({ host: `${app}.${pilot.domain}`, port: pilot.httpsPort, path: urlPath, ca: pilot.caFile, timeoutMs: 5000 });
    return answer.status === 200 ? answer.body : undefined;
  } catch {
    return undefined;
  }
}

function plainHttpBody(address: string, port: number, host: string, urlPath: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: address, port, path: urlPath, headers: { host }, agent: false, timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(response.statusCode === 200 ? body : undefined));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

/** Polls until `probe` is true, every 25 ms; the time it became true, or a thrown error after the deadline. */
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 600_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
}

/** `git push` of the current commit to an app; throws with git's output when refused. */
export async function push(pilot: TestPilot, client: GitClient, app: string): Promise<void> {
  const result = await client.run(['push', '--force', remoteUrl(pilot.server.address, app, pilot.token), 'HEAD:refs/heads/main']);
  if (result.code !== 0) throw new Error(`push to ${app} failed:\n${result.stderr}`);
}

/** From the start of `git push` to the first answer of the new release through Caddy (`expected` body). */
export async function pushToLive(pilot: TestPilot, client: GitClient, app: string, expected: string): Promise<number> {
  return (await pushTimes(pilot, client, app, expected)).live;
}

/**
 * From the start of `git push` to the first answer of the new release through Caddy (`live`), and
 * to the end of `git push` (`pushed`: the rollout done, every process replaced).
 */
export async function pushTimes(pilot: TestPilot, client: GitClient, app: string, expected: string, plainHttpAt?: string): Promise<{ live: number; pushed: number }> {
  const started = performance.now();
  let refused = false;
  const pushed = push(pilot, client, app).then(
    () => performance.now(),
    (error: unknown) => {
      refused = true;
      throw error;
    },
  );
  // A refused push ends the polling too (else it would go on for the whole deadline).
  const live = until(`${app} serving "${expected}"`, async () => {
    if (refused) throw new Error(`the push to ${app} was refused`);
    return (await appBody(pilot, app, '/', plainHttpAt)) === expected;
  });
  const [liveAt, pushedAt] = await Promise.all([live, pushed]);
  return { live: liveAt - started, pushed: pushedAt - started };
}

export interface LoadOptions {
  readonly pilot: TestPilot;
  readonly app: string;
  /** Requests per second over all connections. */
  readonly rate: number;
  readonly connections: number;
  /** true: a new connection for every request. */
  readonly freshConnections: boolean;
  /** Seconds; the load also stops at stop(). */
  readonly durationSeconds: number;
  /** Plain HTTP to Caddy at this address and pilot.httpPort instead of HTTPS on 127.0.0.1 (see appBody). */
  readonly plainHttpAt?: string;
}

export interface LoadResult {
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * A steady load at a fixed rate through Caddy, until its duration ends or stop() is called:
 * autocannon on keep-alive connections; a new TLS connection per request otherwise
 * (autocannon's reconnectRate 1 sends nothing at all: measured, so that mode is done here).
 */
export function steadyLoad(options: LoadOptions): { result: Promise<LoadResult>; stop(): void } {
  return options.freshConnections ? freshConnectionLoad(options) : keepAliveLoad(options);
}

function freshConnectionLoad(options: LoadOptions): { result: Promise<LoadResult>; stop(): void } {
  const host = `${options.app}.${options.pilot.domain}`;
  const plain = options.plainHttpAt;
  const ca = plain === undefined ? fs.readFileSync(options.pilot.caFile) : undefined;
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const started = performance.now();
      const onResponse = (response: http.IncomingMessage) => {
        response.resume();
        response.on('end', () => {
          latencies.push(performance.now() - started);
          if ((response.statusCode ?? 0) < 200 || (response.statusCode ?? 0) >= 300) non2xx += 1;
          resolve();
        });
      };
      const request =
        plain === undefined
          ? https.get({ host: '127.0.0.1', port: options.pilot.httpsPort, path: '/', servername: host, headers: { host: `${host}:${options.pilot.httpsPort}` }, ca, agent: false, timeout: 10_000 }, onResponse)
          : http.get({ host: plain, port: options.pilot.httpPort, path: '/', headers: { host }, agent: false, timeout: 10_000 }, onResponse);
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', () => {
        errors += 1;
        resolve();
      });
    });
  const result = (async (): Promise<LoadResult> => {
    const begin = performance.now();
    const interval = 1000 / options.rate;
    for (let sent = 0; !stopped && performance.now() - begin < options.durationSeconds * 1000; sent += 1) {
      // Paced from the start, so a slow answer does not lower the rate.
      const wait = begin + sent * interval - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const request = one().finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
    await Promise.all(inFlight);
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
    return { requests: latencies.length + errors, non2xx, errors, p50: at(0.5), p99: at(0.99), max: Math.round(sorted.at(-1) ?? 0) };
  })();
  return { result, stop: () => (stopped = true) };
}

function keepAliveLoad(options: LoadOptions): { result: Promise<LoadResult>; stop(): void } {
  const host = `${options.app}.${options.pilot.domain}`;
  const plain = options.plainHttpAt;
  const settings = {
    url: plain === undefined ? `https://127.0.0.1:${options.pilot.httpsPort}/` : `http://${plain}:${options.pilot.httpPort}/`,
    servername: host,
    host: plain === undefined ? `${host}:${options.pilot.httpsPort}` : host,
    connections: options.connections,
    rate: options.rate,
    durationSeconds: options.durationSeconds,
  };
  const child = fork(fileURLToPath(new URL('./keep-alive-load.mjs', import.meta.url)), [JSON.stringify(settings)], { execArgv: [] });
  const result = new Promise<LoadResult>((resolve, reject) => {
    child.once('message', (message: { result?: LoadResult; error?: string }) => {
      if (message.result) resolve(message.result);
      else reject(new Error(`the load generator failed: ${message.error ?? 'no result'}`));
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the load generator exited with code ${code} before its result`)));
  });
  return { result, stop: () => child.connected && child.send('stop') };
}

export function loadRow(label: string, mode: string, result: LoadResult): (string | number)[] {
  return [label, mode, result.requests, result.non2xx, result.errors, result.p50, result.p99, result.max];
}

export const LOAD_HEADERS = ['phase', 'connections', 'requests', 'non-2xx', 'socket errors', 'p50 ms', 'p99 ms', 'max ms'];

/** Machine and versions, for the head of RESULTS.md. */
export function machine(): string {
  const version = (command: string, args: string[]): string => {
    try {
      return execFileSync(command, args).toString().trim().split('\n')[0] ?? '?';
    } catch {
      return 'not found';
    }
  };
  return [
    `- Cores: ${os.cpus().length} (${os.cpus()[0]?.model ?? 'unknown'}), memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Docker engine ${version('docker', ['version', '--format', '{{.Server.Version}}'])}, Caddy ${version('caddy', ['version'])}, Node ${process.version}`,
    `- Base images: ${localImages().nodeImage}, ${localImages().staticImage}`,
  ].join('\n');
}

/** Writes a scenario's files into a fresh repository and commits them. */
export async function newRepo(prefix: string, files: Record<string, string>): Promise<GitClient> {
  const client = new GitClient(tempDir(prefix));
  await client.init();
  await client.commit(files);
  return client;
}

/** Prints a section; with BENCH_STANDALONE (a single scenario's script) it is the whole output. */
export function printSection(section: Section): void {
  console.log(`\n## ${section.title}\n\n${section.body}\n`);
}

export function writeResults(sections: readonly Section[]): string {
  const file = path.join(path.dirname(new URL(import.meta.url).pathname), 'RESULTS.md');
  const text = [
    '# Benchmark results',
    '',
    `Measured ${new Date().toISOString()} by \`npm run bench\` on:`,
    '',
    machine(),
    '',
    'Shared, noisy machine: every timed value is the median of repeated runs, and compared with a',
    'baseline measured in the same run. Nothing here is a pass/fail test.',
    ...sections.flatMap((section) => ['', `## ${section.title}`, '', section.body]),
    '',
  ].join('\n');
  fs.writeFileSync(file, text);
  return file;
}
