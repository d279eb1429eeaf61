import http from 'node:http';
import { DeployError } from '../domain/errors.js';

export interface HealthTarget {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Whether the process still runs; a check fails at once when it exited. */
  readonly status: () => Promise<{ running: boolean; exitCode: number }>;
}

export interface HealthTiming {
  readonly timeoutMs: number;
  /** Polled quickly at first so fast apps go live fast, then less often. */
  readonly firstIntervalMs: number;
  readonly maxIntervalMs: number;
  readonly requestTimeoutMs: number;
}

export interface HealthResult {
  readonly attempts: number;
  readonly elapsedMs: number;
}

export const DEFAULT_HEALTH_TIMING: Omit<HealthTiming, 'timeoutMs'> = { firstIntervalMs: 50, maxIntervalMs: 1000, requestTimeoutMs: 3000 };

/** GETs the target until it answers 2xx or 3xx, the process exits, or the deadline passes. */
export async function waitUntilHealthy(target: HealthTarget, timing: HealthTiming): Promise<HealthResult> {
  const started = Date.now();
  let attempts = 0;
  let interval = timing.firstIntervalMs;
  let lastProblem = 'no answer yet';
  for (;;) {
    attempts += 1;
    const answer = await probe(target, timing.requestTimeoutMs);
    if (typeof answer === 'number' && answer >= 200 && answer < 400) return { attempts, elapsedMs: Date.now() - started };
    lastProblem = typeof answer === 'number' ? `answered ${answer}` : answer;
    const status = await target.status();
    if (!status.running) {
      throw new DeployError(
        'PILOT_HEALTH_CHECK_FAILED',
        `health check failed: the app exited with code ${status.exitCode} before answering GET ${target.path}`,
      );
    }
    if (Date.now() - started + interval > timing.timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, interval));
    interval = Math.min(Math.ceil(interval * 1.5), timing.maxIntervalMs);
  }
  throw new DeployError(
    'PILOT_HEALTH_CHECK_FAILED',
    `health check failed: GET ${target.path} ${lastProblem} after ${attempts} attempts in ${((Date.now() - started) / 1000).toFixed(1)} s` +
      ' (the app must listen on $PORT)',
  );
}

/** One GET: the status code, or a short description of what went wrong. */
function probe(target: HealthTarget, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const request = http.get({ host: target.host, port: target.port, path: target.path, agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED' ? 'refused the connection' : `failed: ${error.message}`));
  });
}
