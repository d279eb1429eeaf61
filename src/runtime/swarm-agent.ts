/**
 * The stats agent of swarm mode (docs/swarm.md): a global service `<instance>-agent`, one task
 * per node, that answers the stats of this instance's containers on its node, which only that
 * node's engine knows (Swarm gathers no stats). SwarmRuntime reads a task on another node there.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import type { ImageRegistry, ProcessStats } from '../domain/ports.js';
import { selectorLabels, swarmAgentImage, swarmAgentLabels, swarmAgentServiceName } from '../domain/process-identity.js';
import { DEFAULT_NODE_MAJOR, SUPPORTED_NODE_MAJORS } from '../pipeline/detect.js';
import { ensureImage } from '../adapters/docker/images.js';
import { messageOf, statusOf } from '../adapters/docker/errors.js';
import { processStats, type DockerStats } from '../adapters/docker/stats.js';
import { AGENT_SCRIPT } from './swarm-agent-script.js';

const NS_PER_SECOND = 1_000_000_000;
const DOCKER_SOCKET = '/var/run/docker.sock';
/** What the running service was made from: another digest, and Pilot updates it. */
export const AGENT_SPEC_LABEL = 'pilot.agent-spec';
/** A node's agent that takes longer is taken as not answering: the sampler reads every task in turn. */
const READ_TIMEOUT_MS = 2000;

export interface AgentSpecSettings {
  readonly instance: string;
  /** The reference every node pulls (ImageRegistry.publish). */
  readonly image: string;
  /** PILOT_SWARM_AGENT_PORT: published on every node, in host mode. */
  readonly port: number;
  readonly secret: string;
}

/** The part of Docker's ServiceSpec the agent's service is made of. */
export interface AgentServiceSpec {
  readonly Name: string;
  readonly Labels: Record<string, string>;
  readonly TaskTemplate: {
    readonly ContainerSpec: {
      readonly Image: string;
      readonly Labels: Record<string, string>;
      readonly Command: string[];
      readonly Env: string[];
      readonly Mounts: { readonly Type: 'bind'; readonly Source: string; readonly Target: string; readonly ReadOnly: true }[];
      readonly StopGracePeriod: number;
    };
    readonly Resources: { readonly Limits: { readonly NanoCPUs: number; readonly MemoryBytes: number } };
    readonly RestartPolicy: { readonly Condition: 'any'; readonly Delay: number };
    readonly LogDriver: { readonly Name: 'json-file'; readonly Options: Record<string, string> };
  };
  readonly Mode: { readonly Global: Record<string, never> };
  /** Stop-first: a node's new task needs the port its old one holds. */
  readonly UpdateConfig: { readonly Parallelism: 0; readonly Order: 'stop-first' };
  /** Host mode on every node, never the ingress mesh (which does not answer here and would pick any node's agent). */
  readonly EndpointSpec: { readonly Mode: 'dnsrr'; readonly Ports: { readonly Protocol: 'tcp'; readonly TargetPort: number; readonly PublishedPort: number; readonly PublishMode: 'host' }[] };
}

/** The agent's service as a value, labelled with its own digest so that a changed spec is seen. */
export function agentServiceSpec(settings: AgentSpecSettings): AgentServiceSpec {
  const env = { PILOT_AGENT_SECRET: settings.secret, PILOT_AGENT_INSTANCE: settings.instance, PILOT_AGENT_PORT: String(settings.port), PILOT_AGENT_DOCKER_SOCKET: DOCKER_SOCKET };
  const spec: AgentServiceSpec = {
    Name: swarmAgentServiceName(settings.instance),
    Labels: selectorLabels(settings.instance),
    TaskTemplate: {
      ContainerSpec: {
        Image: settings.image,
        Labels: swarmAgentLabels(settings.instance),
        Command: ['node', '-e', AGENT_SCRIPT],
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        // Read-only stops writes to the socket file, not requests through it: see docs/swarm.md.
        Mounts: [{ Type: 'bind', Source: DOCKER_SOCKET, Target: DOCKER_SOCKET, ReadOnly: true }],
        StopGracePeriod: 5 * NS_PER_SECOND,
      },
      Resources: { Limits: { NanoCPUs: 0.25 * NS_PER_SECOND, MemoryBytes: 128 * 1024 ** 2 } },
      RestartPolicy: { Condition: 'any', Delay: 5 * NS_PER_SECOND },
      LogDriver: { Name: 'json-file', Options: { 'max-size': '1m', 'max-file': '2' } },
    },
    Mode: { Global: {} },
    UpdateConfig: { Parallelism: 0, Order: 'stop-first' },
    EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: settings.port, PublishedPort: settings.port, PublishMode: 'host' }] },
  };
  const digest = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  return { ...spec, Labels: { ...spec.Labels, [AGENT_SPEC_LABEL]: digest } };
}

/**
 * The node images the agent may run from, best first: PILOT_NODE_IMAGE with the default Node
 * major, then the other supported ones (whichever the manager has: builds pulled it already).
 */
export function agentBaseImages(nodeImage: string): string[] {
  if (!nodeImage.includes('{{major}}')) return [nodeImage];
  const majors = [DEFAULT_NODE_MAJOR, ...SUPPORTED_NODE_MAJORS.filter((major) => major !== DEFAULT_NODE_MAJOR)];
  return majors.map((major) => nodeImage.replaceAll('{{major}}', String(major)));
}

/** The agent's bearer secret, made once (random, 256 bits) and kept in the data directory, mode 0600. */
export function ensureAgentSecret(file: string): string {
  try {
    const kept = fs.readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return kept;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('hex');
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** A node as the stats reader knows it: its hostname (for the log) and the address its agent answers at. */
export interface AgentNode {
  readonly name: string;
  readonly address: string;
}

/** Stats of a container on another node; undefined when its agent does not answer (never a rejection). */
export interface NodeStatsReader {
  stats(node: AgentNode, container: string): Promise<ProcessStats | undefined>;
}

export interface SwarmAgentOptions {
  readonly instance: string;
  /** PILOT_NODE_IMAGE (may hold `{{major}}`). */
  readonly nodeImage: string;
  readonly port: number;
  readonly secret: string;
  readonly logger: Logger;
}

export class SwarmAgent implements NodeStatsReader {
  /** Nodes whose agent failed its last read: told once per streak. */
  private readonly failing = new Set<string>();
  private stopped = false;
  /** The service being created or updated, which stop() lets finish. */
  private changing: Promise<void> | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly registry: ImageRegistry,
    private readonly options: SwarmAgentOptions,
  ) {}

  /**
   * Publishes the node image for every node, then creates the service, adopts it (same spec) or
   * updates it. In the background of Pilot's start: a failure is logged, and only the stats of
   * tasks on other nodes are missing until the next start.
   */
  async start(): Promise<void> {
    try {
      const image = await this.publishImage();
      if (this.stopped) return;
      this.changing = this.ensureService(agentServiceSpec({ instance: this.options.instance, image, port: this.options.port, secret: this.options.secret }));
      await this.changing;
    } catch (error) {
      this.options.logger.error({ err: error }, 'the stats agent did not start: CPU and memory of tasks on other nodes than the manager stay unknown');
    }
  }

  /**
   * Pilot stops: a start still publishing changes no service any more, and one changing it now
   * finishes first (whatever removes the instance's services after this sees it). The agent's
   * tasks run on without Pilot, as Caddy's container does.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.changing?.catch(() => undefined);
  }

  private async publishImage(): Promise<string> {
    const candidates = agentBaseImages(this.options.nodeImage);
    let base: string | undefined;
    for (const candidate of candidates) {
      const present = await this.docker.getImage(candidate).inspect().then(() => true, (error: unknown) => {
        if (statusOf(error) === 404) return false;
        throw error;
      });
      if (present) {
        base = candidate;
        break;
      }
    }
    base ??= candidates[0] ?? this.options.nodeImage;
    await ensureImage(this.docker, base, (line) => this.options.logger.debug({ image: base }, line));
    const { Id } = (await this.docker.getImage(base).inspect()) as { Id: string };
    const local = swarmAgentImage(this.options.instance, Id);
    const at = local.lastIndexOf(':');
    await this.docker.getImage(base).tag({ repo: local.slice(0, at), tag: local.slice(at + 1) });
    return this.registry.publish(local, (line) => this.options.logger.debug({ image: local }, line));
  }

  private async ensureService(spec: AgentServiceSpec): Promise<void> {
    const existing = (await this.docker.getService(spec.Name).inspect().catch((error: unknown) => {
      if (statusOf(error) === 404) return undefined;
      throw error;
    })) as { ID: string; Version: { Index: number }; Spec: { Labels?: Record<string, string> } } | undefined;
    const auth = this.registry.pullAuth();
    if (existing?.Spec.Labels?.[AGENT_SPEC_LABEL] === spec.Labels[AGENT_SPEC_LABEL]) {
      this.options.logger.info({ service: spec.Name }, 'stats agent running');
      return;
    }
    if (existing) {
      await this.docker.getService(existing.ID).update({ ...spec, version: existing.Version.Index, authconfig: auth });
      this.options.logger.info({ service: spec.Name }, 'stats agent updated: its spec changed');
      return;
    }
    // dockerode takes a create's registry auth only as its first argument (swarm-runtime.ts does the same).
    await (auth ? this.docker.createService(auth, spec as unknown as Docker.ServiceSpec) : this.docker.createService(spec as unknown as Docker.CreateServiceOptions));
    this.options.logger.info({ service: spec.Name, port: this.options.port }, 'stats agent created on every node');
  }

  async stats(node: AgentNode, container: string): Promise<ProcessStats | undefined> {
    try {
      const answer = await this.get(node.address, `/stats/${container}`);
      this.answered(node);
      // 404: the agent answers, the container is gone (a task just replaced) or no longer this instance's.
      if (answer.status === 404) return undefined;
      if (answer.status !== 200) throw new Error(`answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      return processStats(JSON.parse(answer.body) as DockerStats);
    } catch (error) {
      if (!this.failing.has(node.name)) {
        this.failing.add(node.name);
        this.options.logger.warn(
          { node: node.name, address: `${node.address}:${this.options.port}`, reason: messageOf(error) },
          "the stats agent of a node does not answer: its tasks' CPU and memory are unknown until it does (is the port open between the nodes?)",
        );
      }
      return undefined;
    }
  }

  private answered(node: AgentNode): void {
    if (this.failing.delete(node.name)) this.options.logger.info({ node: node.name }, 'the stats agent of a node answers again');
  }

  private get(address: string, pathname: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = http.get({
        host: address, port: this.options.port, path: pathname, agent: false, timeout: READ_TIMEOUT_MS,
        headers: { authorization: `Bearer ${this.options.secret}` },
      }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`no answer within ${READ_TIMEOUT_MS} ms`)));
      request.on('error', reject);
    });
  }
}
