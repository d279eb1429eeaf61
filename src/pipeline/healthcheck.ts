import http from 'node:http';
import { DeployError } from '../domain/errors.js';
import type { HealthCheck } from '../domain/types.js';

export interface HealthTarget {
  readonly host: string;
  /** The release's port; a check with its own `port` uses that. */
  readonly port: number;
  /** Whether the process still runs; a check fails at once when it exited. */
  readonly status: () => Promise<{ running: boolean; exitCode: number }>;
}

/** Pilot's timing, for what a check leaves unset. */
export interface HealthTiming {
  /** Without `attempts`, the check gives up after this long (PILOT_HEALTH_TIMEOUT). */
  readonly timeoutMs: number;
  /** Without `wait`, polled quickly at first so fast apps go live fast, then less often. */
  readonly firstIntervalMs: number;
  readonly maxIntervalMs: number;
  /** Without `timeout`, the longest wait for one answer. */
  readonly requestTimeoutMs: number;
}

export interface HealthResult {
  readonly attempts: number;
  readonly elapsedMs: number;
}

export const DEFAULT_HEALTH_TIMING: Omit<HealthTiming, 'timeoutMs'> = { firstIntervalMs: 50, maxIntervalMs: 1000, requestTimeoutMs: 3000 };

/** A body is read this far when the check looks for `content` in it. */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * GETs the check's path until it answers 2xx or 3xx (with `content` in the body, if set), the
 * process exits, or the check gives up: after `attempts` when set, else after the timeout.
 */
export async function waitUntilHealthy(target: HealthTarget, check: HealthCheck, timing: HealthTiming): Promise<HealthResult> {
  const started = Date.now();
  if (check.initialDelay) await sleep(check.initialDelay * 1000);
  const requestTimeoutMs = check.timeout !== undefined ? check.timeout * 1000 : timing.requestTimeoutMs;
  const where = { host: target.host, port: check.port ?? target.port, path: check.path };
  let attempts = 0;
  let backoff = timing.firstIntervalMs;
  let problem: Problem;
  for (;;) {
    attempts += 1;
    const found = verdict(await probe(where, requestTimeoutMs, check.content !== undefined), check.content);
    if (found === undefined) return { attempts, elapsedMs: Date.now() - started };
    problem = found;
    const status = await target.status();
    if (!status.running) {
      throw new DeployError('PILOT_HEALTH_CHECK_FAILED', `health check failed: the app exited with code ${status.exitCode} before answering GET ${check.path}`);
    }
    const pause = check.wait !== undefined ? check.wait * 1000 : backoff;
    const givesUp = check.attempts !== undefined ? attempts >= check.attempts : Date.now() - started + pause > timing.timeoutMs;
    if (givesUp) break;
    await sleep(pause);
    backoff = Math.min(Math.ceil(backoff * 1.5), timing.maxIntervalMs);
  }
  const expected = check.content === undefined ? '2xx/3xx' : `2xx/3xx with ${JSON.stringify(check.content)} in the body`;
  throw new DeployError(
    'PILOT_HEALTH_CHECK_FAILED',
    `health check failed: GET ${check.path}${check.port ? ` on port ${check.port}` : ''} ${problem.text} after ${attempts} attempts ` +
      `in ${((Date.now() - started) / 1000).toFixed(1)} s; expected ${expected}` +
      (problem.refused ? ' (the app must listen on $PORT)' : ''),
  );
}

/**
 * One GET of each check in order, no retry: what is wrong with the first that fails, or
 * undefined when all pass. The live health monitor's probe of a serving process.
 */
export async function probeOnce(target: Pick<HealthTarget, 'host' | 'port'>, checks: readonly HealthCheck[], requestTimeoutMs: number): Promise<string | undefined> {
  for (const check of checks) {
    const timeoutMs = check.timeout !== undefined ? check.timeout * 1000 : requestTimeoutMs;
    const found = verdict(await probe({ host: target.host, port: check.port ?? target.port, path: check.path }, timeoutMs, check.content !== undefined), check.content);
    if (found) return `GET ${check.path} ${found.text}`;
  }
  return undefined;
}

interface Problem {
  readonly text: string;
  readonly refused: boolean;
}

type Answer = { readonly status: number; readonly body: string } | { readonly failure: string; readonly refused: boolean };

/** What is wrong with an answer, or undefined when it is healthy. */
function verdict(answer: Answer, content: string | undefined): Problem | undefined {
  if ('failure' in answer) return { text: answer.failure, refused: answer.refused };
  if (answer.status < 200 || answer.status >= 400) return { text: `answered ${answer.status}`, refused: false };
  if (content !== undefined && !answer.body.includes(content)) {
    return { text: `answered ${answer.status} but the body did not contain ${JSON.stringify(content)}`, refused: false };
  }
  return undefined;
}

/** One GET: the status code (and the body when wanted), or a short description of what went wrong. */
function probe(where: { host: string; port: number; path: string }, timeoutMs: number, readBody: boolean): Promise<Answer> {
  return new Promise((resolve) => {
    const request = http.get({ ...where, agent: false, timeout: timeoutMs }, (response) => {
      const status = response.statusCode ?? 0;
      if (!readBody) {
        response.resume();
        resolve({ status, body: '' });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (size < MAX_BODY_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', (error) => resolve({ failure: `failed while sending the body: ${error.message}`, refused: false }));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' ? { failure: 'refused the connection', refused: true } : { failure: `failed: ${error.message}`, refused: false }),
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
