import type Docker from 'dockerode';
import type {
  AppProcess, AppRuntime, AttachedProcess, CheckedProcess, EngineDiskUsage, HealthResult, ImageRegistry, LogStream, LogStreamOptions,
  OneOffProcess, OneOffRun, ProcessChange, ProcessStats, ReleaseRuntime, Replacement, ReplaceRequest, ScheduledFormation, StartedProcess, TimestampedLine,
} from '../domain/ports.js';
import { ConflictError, DeployError, ProcessCheckError } from '../domain/errors.js';
import { compareNames, compareProcesses, isInstanceLabelled, selectorLabels, serviceName, taskIdentity, volumeNodeLabel, type ProcessFilter } from '../domain/process-identity.js';
import { networkName } from '../pipeline/start.js';
import { demuxedText, streamTaskLogs } from '../adapters/docker/logs.js';
import type { DockerRuntime } from './docker-runtime.js';
import { serviceSpec, type SwarmServiceSpec } from './swarm-spec.js';
import type { AgentNode, NodeStatsReader } from './swarm-agent.js';

/** What a service's tasks run: two specs with the same need no update between them. */
function runsAs(spec: SwarmServiceSpec): string {
  return JSON.stringify([spec.TaskTemplate, spec.Mode, spec.Labels]);
}

/** How often the tasks are read: a task shutting down leaves Caddy's upstreams within this (and the drain covers it). */
const TASK_POLL_MS = 1000;
/** A new service whose tasks failed this often is not going to start. */
const FAILED_TASKS_LIMIT = 3;
const TASK_ID = /^[a-z0-9]{25}$/;
/** How old the node list may be (a node that came back may have another address). */
const NODES_MAX_AGE_MS = 30_000;

interface Task {
  readonly ID: string;
  readonly ServiceID: string;
  readonly NodeID?: string;
  readonly Slot?: number;
  readonly DesiredState: string;
  readonly Spec: { readonly ContainerSpec?: { readonly Labels?: Record<string, string> }; readonly ForceUpdate?: number };
  readonly Status: { readonly State: string; readonly Timestamp?: string; readonly Err?: string; readonly ContainerStatus?: { readonly ContainerID?: string; readonly ExitCode?: number } };
  readonly NetworksAttachments?: { readonly Network: { readonly Spec: { readonly Name: string } }; readonly Addresses?: string[] }[];
}

interface SwarmNode {
  readonly ID: string;
  readonly Version?: { readonly Index: number };
  readonly Spec?: { readonly Labels?: Record<string, string> };
  readonly Description?: { readonly Hostname?: string };
  readonly Status?: { readonly Addr?: string };
  readonly ManagerStatus?: { readonly Addr?: string };
}

/** Where a node's host-mode ports answer: its address, which the engine gives some managers as 0.0.0.0 (then their swarm address's host). */
function nodeAddress(node: SwarmNode): string {
  const address = node.Status?.Addr ?? '';
  if (address !== '' && address !== '0.0.0.0') return address;
  return node.ManagerStatus?.Addr?.replace(/:\d+$/, '').replace(/^\[|\]$/g, '') ?? '';
}

interface Service {
  readonly ID: string;
  readonly Version: { readonly Index: number };
  readonly Spec: SwarmServiceSpec;
  readonly UpdateStatus?: { readonly State: string; readonly StartedAt?: string; readonly Message?: string };
}

export interface SwarmRuntimeOptions {
  readonly instance: string;
  /** The proxy's container on the manager: joined to every app's overlay, as the host Caddy reaches every bridge on one host. */
  readonly proxyContainer: string;
  /** Reads the stats of a task's container on another node than the manager (swarm-agent.ts); none: those stay unknown. */
  readonly agent?: NodeStatsReader;
}

/**
 * The runtime port on Docker Swarm (issue 13): one service per app and process type, whose
 * tasks are the processes (`web.3` is slot 3 of `<instance>-<app>-web`); Swarm replaces them
 * itself, by rolling updates (`replace`). One-off runs, their logs and volumes stay plain
 * containers of the manager's engine (the `local` runtime), attached to the app's overlay.
 */
export class SwarmRuntime implements AppRuntime {
  private readonly watchers = new Set<(tasks: readonly AppProcess[]) => void>();
  private poll: NodeJS.Timeout | undefined;
  private pollGeneration = 0;
  private nodes = new Map<string, AgentNode>();
  private nodesListedAt = 0;
  /** The manager's own swarm node id, and each task's node and container by task id, from the last listing. */
  private managerNode: string | undefined;
  private taskContainers = new Map<string, { readonly node: string; readonly container: string }>();

  constructor(
    private readonly docker: Docker,
    private readonly local: DockerRuntime,
    /** Carries release images to every node; none: apps cannot be deployed in swarm mode (nodes management still works). */
    private readonly registry: ImageRegistry | undefined,
    private readonly options: SwarmRuntimeOptions,
  ) {}

  ping(): Promise<void> {
    return this.local.ping();
  }

  watchStarts(listener: () => void): { stop(): void } {
    let previous: string | undefined;
    return this.follow((processes) => {
      // Any task starting, stopping or moving changes the routes.
      const now = JSON.stringify(processes.map((process) => [process.id, process.running, process.address]));
      if (previous !== undefined && now !== previous) listener();
      previous = now;
    });
  }

  watch(onChange: (change: ProcessChange) => void): { stop(): void } {
    let known: Map<string, string> | undefined;
    return this.follow((processes) => {
      const now = new Map(processes.map((process) => [process.id, JSON.stringify(process)]));
      if (!known) onChange({ kind: 'listed', processes });
      else {
        for (const process of processes) if (known.get(process.id) !== now.get(process.id)) onChange({ kind: 'changed', process });
        for (const id of known.keys()) if (!now.has(id)) onChange({ kind: 'removed', id });
      }
      known = now;
    });
  }

  /**
   * One poll of the tasks for every follower, running while anyone follows. Each chain has its
   * generation: a tick of a stopped chain (stopped while it awaited the listing) ends there, and
   * never runs beside the chain a later follower started.
   */
  private follow(onTasks: (processes: readonly AppProcess[]) => void): { stop(): void } {
    this.watchers.add(onTasks);
    if (!this.poll) {
      const generation = ++this.pollGeneration;
      const tick = async (): Promise<void> => {
        const processes = await this.list().catch(() => undefined);
        if (generation !== this.pollGeneration) return;
        if (processes) for (const watcher of [...this.watchers]) watcher(processes);
        if (generation === this.pollGeneration) this.poll = setTimeout(() => void tick(), TASK_POLL_MS);
      };
      this.poll = setTimeout(() => void tick(), 0);
    }
    return {
      stop: () => {
        this.watchers.delete(onTasks);
        if (this.watchers.size === 0 && this.poll) {
          clearTimeout(this.poll);
          this.poll = undefined;
          this.pollGeneration += 1;
        }
      },
    };
  }

  async replace(request: ReplaceRequest): Promise<Replacement> {
    const { runtime } = request;
    const registry = this.registry;
    if (!registry) {
      throw new DeployError('PILOT_SWARM_REGISTRY', 'swarm mode needs a registry that every node pulls release images from, and this Pilot has none configured: nothing was changed');
    }
    await this.ensureNetwork(runtime.app);
    const image = await registry.publish(runtime.image, request.onOutput);
    const imageCommand = await this.imageCommand(runtime.image);
    const existing = new Map((await this.services(runtime.app)).map((service) => [service.Spec.Name, service]));
    const types = Object.keys(request.processes).sort((a, b) => compareProcesses({ type: a, index: 1 }, { type: b, index: 1 }));
    const created: string[] = [];
    const updated: Service[] = [];
    for (const type of types) {
      const current = existing.get(serviceName(runtime.instance, runtime.app, type));
      const spec = serviceSpec(runtime, {
        image, imageCommand, type,
        command: request.processes[type] ?? null,
        replicas: request.quantities[type] ?? 0,
        slot: request.slot,
        port: runtime.port,
        healthChecks: request.checks.healthChecks,
        healthTimeoutSeconds: request.checks.healthTimeoutSeconds,
        drainSeconds: request.drainSeconds,
        stopTimeoutSeconds: request.stopTimeoutSeconds,
        forceUpdate: (current?.Spec.TaskTemplate.ForceUpdate ?? 0) + (request.renew ? 1 : 0),
      });
      const since = Date.now();
      request.onOutput(`${current ? 'Updating' : 'Creating'} ${spec.Name}: ${spec.Mode.Replicated.Replicas} × v${runtime.version}, one task at a time`);
      try {
        if (current) {
          updated.push(current);
          await this.docker.getService(current.ID).update({ ...spec, version: current.Version.Index, authconfig: registry.pullAuth() });
        } else {
          // dockerode takes a create's registry auth only as its first argument (with the spec alone, it sends the whole spec as the auth).
          const auth = registry.pullAuth();
          await (auth ? this.docker.createService(auth, spec as unknown as Docker.ServiceSpec) : this.docker.createService(spec as unknown as Docker.CreateServiceOptions));
          created.push(spec.Name);
        }
        await this.converge(spec, since, request.checks.healthTimeoutSeconds, current === undefined);
      } catch (error) {
        // A new app's services never served: gone. Those updated go back to what they ran, the
        // failed one too (Swarm rolls back a failed update, not one that timed out): the release
        // that stays live must be the one running.
        for (const name of created) await this.docker.getService(name).remove().catch(() => undefined);
        await this.restore(updated, request.onOutput, request.checks.healthTimeoutSeconds);
        throw error;
      }
    }
    const removed: Service[] = [];
    for (const [name, service] of existing) {
      if (types.some((type) => serviceName(runtime.instance, runtime.app, type) === name)) continue;
      await this.docker.getService(service.ID).remove();
      removed.push(service);
    }
    return { undo: () => this.undoReplace({ created, updated, removed }, request) };
  }

  /**
   * Takes a finished replace back (the switch after it failed): the services it updated run
   * their previous spec again, those it removed come back, those it created go.
   */
  private async undoReplace(changes: { created: readonly string[]; updated: readonly Service[]; removed: readonly Service[] }, request: ReplaceRequest): Promise<void> {
    const failed = await this.restore(changes.updated, request.onOutput, request.checks.healthTimeoutSeconds);
    const auth = this.registry?.pullAuth();
    for (const previous of changes.removed) {
      const release = previous.Spec.Labels['pilot.release'];
      try {
        request.onOutput(`Creating ${previous.Spec.Name} again: ${previous.Spec.Mode.Replicated.Replicas} × v${release}`);
        const since = Date.now();
        await (auth ? this.docker.createService(auth, previous.Spec as unknown as Docker.ServiceSpec) : this.docker.createService(previous.Spec as unknown as Docker.CreateServiceOptions));
        await this.converge(previous.Spec, since, request.checks.healthTimeoutSeconds, true);
      } catch (error) {
        request.onOutput(`${previous.Spec.Name} could not be created again for v${release} (${(error as Error).message})`);
        failed.push(previous.Spec.Name);
      }
    }
    for (const name of changes.created) {
      await this.docker.getService(name).remove().catch((error: unknown) => {
        if ((error as { statusCode?: number }).statusCode !== 404) failed.push(name);
      });
    }
    if (failed.length > 0) {
      throw new DeployError('PILOT_SWARM_UNDO', `${failed.join(', ')} could not be put back as they ran before: see \`docker service ps\` on the manager, then deploy again`);
    }
  }

  /**
   * Puts updated services back on the spec they had, the last updated first, each converged
   * before the next. Answers the names of those that did not go back (each told in the output).
   */
  private async restore(updated: readonly Service[], onOutput: (line: string) => void, healthTimeoutSeconds: number): Promise<string[]> {
    const failed: string[] = [];
    for (const previous of [...updated].reverse()) {
      const release = previous.Spec.Labels['pilot.release'];
      try {
        const service = (await this.docker.getService(previous.ID).inspect()) as Service;
        const since = Date.now();
        if (runsAs(service.Spec) !== runsAs(previous.Spec)) {
          onOutput(`Rolling ${previous.Spec.Name} back to v${release}`);
          await this.docker.getService(previous.ID).update({ ...previous.Spec, version: service.Version.Index, authconfig: this.registry?.pullAuth() });
        }
        await this.converge(previous.Spec, since, healthTimeoutSeconds, false, 'back');
      } catch (error) {
        onOutput(`${previous.Spec.Name} could not be rolled back to v${release} (${(error as Error).message}): see \`docker service ps ${previous.Spec.Name}\` on the manager`);
        failed.push(previous.Spec.Name);
      }
    }
    return failed;
  }

  /**
   * Waits until the service runs its spec on every replica, or Swarm rolled it back (or a new one
   * cannot start). Going `back` (restore), Swarm's own rollback to that spec is what is awaited.
   */
  private async converge(spec: SwarmServiceSpec, since: number, healthTimeoutSeconds: number, isNew: boolean, direction: 'forward' | 'back' = 'forward'): Promise<void> {
    const release = spec.Labels['pilot.release'];
    const replicas = spec.Mode.Replicated.Replicas;
    const deadline = Date.now() + (replicas + 2) * (healthTimeoutSeconds + 30) * 2000;
    while (Date.now() < deadline) {
      const service = (await this.docker.getService(spec.Name).inspect()) as Service;
      const update = service.UpdateStatus && Date.parse(service.UpdateStatus.StartedAt ?? '') >= since - 2000 ? service.UpdateStatus : undefined;
      const tasks = (await this.docker.listTasks({ filters: { service: [spec.Name] } })) as Task[];
      const current = tasks.filter((task) => task.Spec.ContainerSpec?.Labels?.['pilot.release'] === release && task.Spec.ForceUpdate === spec.TaskTemplate.ForceUpdate);
      const failed = current.filter((task) => ['failed', 'rejected'].includes(task.Status.State));
      if (direction === 'forward' && (update?.State === 'rollback_completed' || update?.State === 'rollback_paused' || update?.State === 'paused')) {
        throw new ProcessCheckError(
          `${spec.Name} did not become healthy on the swarm (${update.Message ?? update.State}); Swarm rolled it back and the previous release serves on`,
          failed[0]?.ID ?? '',
        );
      }
      if (isNew && failed.length >= FAILED_TASKS_LIMIT) {
        throw new ProcessCheckError(`${spec.Name} could not start on the swarm: ${failed[0]?.Status.Err ?? 'its tasks keep failing'}`, failed[0]?.ID ?? '');
      }
      const active = tasks.filter((task) => task.DesiredState === 'running');
      const settled = update === undefined || update.State === 'completed' || (direction === 'back' && update.State === 'rollback_completed');
      if (settled && active.length === replicas && active.every((task) => current.includes(task) && task.Status.State === 'running')) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new DeployError('PILOT_SWARM_TIMEOUT', `${spec.Name} did not reach ${replicas} healthy tasks in time: see \`docker service ps ${spec.Name}\` on the manager`);
  }

  /** The image's own entrypoint and command (the drain shim runs them). */
  private async imageCommand(image: string): Promise<string[]> {
    const config = ((await this.docker.getImage(image).inspect()) as { Config?: { Entrypoint?: string[] | null; Cmd?: string[] | null } }).Config;
    return [...(config?.Entrypoint ?? []), ...(config?.Cmd ?? [])];
  }

  private async services(app?: string): Promise<Service[]> {
    const labels = selectorLabels(this.options.instance, app === undefined ? {} : { app });
    return (await this.docker.listServices({ filters: { label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) } })) as unknown as Service[];
  }

  /** Each service of the instance as its spec asks it to run (its tasks may still be converging to it). */
  async scheduled(): Promise<ScheduledFormation[]> {
    return (await this.services()).flatMap((service) => {
      const identity = isInstanceLabelled(this.options.instance, service.Spec.Labels) ? taskIdentity(service.Spec.Labels, 1) : undefined;
      if (!identity) return [];
      return [{ app: identity.app, type: identity.type, release: identity.release, slot: identity.slot, replicas: service.Spec.Mode.Replicated.Replicas }];
    });
  }

  start(): Promise<StartedProcess[]> {
    return Promise.reject(new Error('SwarmRuntime starts processes through replace(): the rollout hands it the formation'));
  }

  check(): Promise<{ processes: CheckedProcess[]; health: HealthResult | undefined }> {
    return Promise.reject(new Error('SwarmRuntime checks processes by the health check of their service'));
  }

  /** Swarm judges health by the check in the service's spec and replaces a task that fails it; Pilot cannot reach tasks on other nodes. */
  async probe(): Promise<string | undefined> {
    return undefined;
  }

  async keepServing(): Promise<void> {}

  async list(filter: ProcessFilter = {}): Promise<AppProcess[]> {
    const tasks = (await this.docker.listTasks({ filters: { 'desired-state': ['running'] } })) as Task[];
    if (tasks.some((task) => task.NodeID && !this.nodes.has(task.NodeID)) || Date.now() - this.nodesListedAt > NODES_MAX_AGE_MS) {
      const nodes = (await this.docker.listNodes()) as SwarmNode[];
      this.nodes = new Map(nodes.map((node) => [node.ID, { name: node.Description?.Hostname ?? node.ID, address: nodeAddress(node) }]));
      this.nodesListedAt = Date.now();
    }
    this.managerNode ??= ((await this.docker.info()) as { Swarm?: { NodeID?: string } }).Swarm?.NodeID;
    this.taskContainers = new Map(tasks.flatMap((task) => {
      const container = task.Status.ContainerStatus?.ContainerID;
      return task.NodeID && container ? [[task.ID, { node: task.NodeID, container }] as const] : [];
    }));
    const processes: AppProcess[] = [];
    for (const task of tasks) {
      const labels = task.Spec.ContainerSpec?.Labels;
      if (!isInstanceLabelled(this.options.instance, labels)) continue;
      const identity = taskIdentity(labels ?? {}, task.Slot ?? 1);
      if (!identity) continue;
      if (filter.app !== undefined && identity.app !== filter.app) continue;
      if (filter.release !== undefined && identity.release !== filter.release) continue;
      if (filter.slot !== undefined && identity.slot !== filter.slot) continue;
      processes.push(this.taskProcess(task, identity));
    }
    return processes.sort((a, b) => compareProcesses(a.identity, b.identity) || compareNames(a.id, b.id));
  }

  private taskProcess(task: Task, identity: AppProcess['identity']): AppProcess {
    const network = networkName(this.options.instance, identity.app);
    const address = task.NetworksAttachments?.find((attachment) => attachment.Network.Spec.Name === network)?.Addresses?.[0]?.split('/')[0];
    const running = task.Status.State === 'running';
    return {
      id: task.ID,
      name: `${serviceName(this.options.instance, identity.app, identity.type)}.${identity.index}`,
      identity,
      running,
      status: task.Status.State,
      exitCode: task.Status.ContainerStatus?.ExitCode ?? 0,
      startedAt: running ? task.Status.Timestamp : undefined,
      restartCount: 0,
      address,
      ...(task.NodeID ? { node: this.nodes.get(task.NodeID)?.name ?? task.NodeID } : {}),
    };
  }

  /** What a single-host Pilot ran on the manager's engine before swarm mode: containers of their own, in no service. */
  listSingleHost(): Promise<AppProcess[]> {
    return this.local.listOwnContainers();
  }

  retireSingleHost(processes: readonly { readonly id: string }[], stopTimeoutSeconds: number): Promise<void> {
    return this.local.retire(processes, stopTimeoutSeconds);
  }

  listOneOffs(app?: string): Promise<OneOffProcess[]> {
    return this.local.listOneOffs(app);
  }

  async inspect(id: string): Promise<AppProcess | undefined> {
    return (await this.list()).find((process) => process.id === id);
  }

  routeTarget(process: Pick<AppProcess, 'address'>, port: number): string | undefined {
    return process.address ? `${process.address}:${port}` : undefined;
  }

  /**
   * Swarm stops the tasks it replaces itself; what the rollout retires is a whole service's
   * tasks (an app's old name after a rename): their services go.
   */
  async retire(processes: readonly { readonly id: string }[]): Promise<void> {
    const ids = new Set(processes.map((process) => process.id));
    const tasks = ((await this.docker.listTasks({ filters: { 'desired-state': ['running'] } })) as Task[]).filter((task) => ids.has(task.ID));
    for (const service of new Set(tasks.map((task) => task.ServiceID))) {
      await this.docker.getService(service).remove().catch((error: unknown) => {
        if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      });
    }
  }

  /** Tasks are Swarm's to remove; one-off containers are the manager's. */
  async remove(ids: readonly string[]): Promise<void> {
    await this.local.remove(ids.filter((id) => !TASK_ID.test(id)));
  }

  /** A task is restarted by replacing its service's tasks one at a time, as a deploy does. */
  async restart(id: string): Promise<void> {
    const task = (await this.docker.getTask(id).inspect()) as Task;
    const service = (await this.docker.getService(task.ServiceID).inspect()) as Service;
    const spec = { ...service.Spec, TaskTemplate: { ...service.Spec.TaskTemplate, ForceUpdate: service.Spec.TaskTemplate.ForceUpdate + 1 } };
    await this.docker.getService(service.ID).update({ ...spec, version: service.Version.Index });
  }

  stop(): Promise<void> {
    return Promise.reject(new ConflictError('in swarm mode a single task cannot be stopped: scale the process type down with `pilot ps:scale`'));
  }

  resume(): Promise<void> {
    return Promise.reject(new ConflictError('in swarm mode a single task cannot be resumed: scale the process type with `pilot ps:scale`'));
  }

  async lastLogs(id: string, lines: number): Promise<string> {
    if (!TASK_ID.test(id)) return this.local.lastLogs(id, lines);
    // The manager gathers a task's logs from whichever node runs it.
    const output = await new Promise<Buffer>((resolve, reject) => {
      this.docker.modem.dial(
        { path: `/tasks/${id}/logs?`, method: 'GET', options: { stdout: true, stderr: true, tail: String(lines) }, isStream: false, statusCodes: { 200: true, 404: 'no such task' } },
        (error: unknown, data: unknown) => (error ? reject(error as Error) : resolve(Buffer.isBuffer(data) ? data : Buffer.from(String(data ?? '')))),
      );
    });
    return demuxedText(output);
  }

  streamLogs(id: string, options: LogStreamOptions, onLine: (line: TimestampedLine) => void): Promise<LogStream> {
    return TASK_ID.test(id) ? streamTaskLogs(this.docker, id, options, onLine) : this.local.streamLogs(id, options, onLine);
  }

  /**
   * What a container uses is known only to the engine of its node (Swarm gathers no stats): the
   * manager's engine has its one-offs and the tasks it runs itself; a task on another node is read
   * from the stats agent there (swarm-agent.ts), at the node's address. Its container and node
   * come from the last task listing. Undefined when nobody can tell.
   */
  stats(id: string): Promise<ProcessStats | undefined> {
    if (!TASK_ID.test(id)) return this.local.stats(id);
    const task = this.taskContainers.get(id);
    if (!task) return Promise.resolve(undefined);
    if (task.node === this.managerNode) return this.local.stats(task.container);
    const node = this.nodes.get(task.node);
    return node?.address && this.options.agent ? this.options.agent.stats(node, task.container) : Promise.resolve(undefined);
  }

  diskUsage(): Promise<EngineDiskUsage> {
    return this.local.diskUsage();
  }

  /** A plain container on the manager (its image was built there), on the app's overlay: a TTY and stdin work as on one host. */
  async runOneOff(runtime: ReleaseRuntime, run: OneOffRun, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<AttachedProcess> {
    await this.ensureNetwork(runtime.app);
    return this.local.runOneOff(runtime, run, onOutput);
  }

  /**
   * Joins the app's services to the other app's overlay, where the other app's web tasks answer
   * at its name (their alias there, swarm-spec.ts), as on one host; its one-offs running now too.
   * Each service is updated, so Swarm replaces its tasks one at a time as a deploy does; later
   * releases keep the network (ReleaseRuntime.linkedNetworks).
   */
  async link(app: string, other: string): Promise<void> {
    await this.ensureNetwork(other);
    const network = networkName(this.options.instance, other);
    await this.moveServices(app, network, 'join');
    for (const oneOff of await this.local.listOneOffs(app)) {
      if (oneOff.running) await this.docker.getNetwork(network).connect({ Container: oneOff.id }).catch(ignoreStatus(403, 404, 409));
    }
  }

  /** Takes the app's services (an update of each, tasks replaced one at a time) and its running one-offs off the other app's overlay. */
  async unlink(app: string, other: string): Promise<void> {
    const network = networkName(this.options.instance, other);
    await this.moveServices(app, network, 'leave');
    for (const oneOff of await this.local.listOneOffs(app)) {
      if (oneOff.running) await this.docker.getNetwork(network).disconnect({ Container: oneOff.id, Force: true }).catch(ignoreStatus(404));
    }
  }

  /**
   * Updates each of the app's services that is not yet where it should be (on the network, or
   * off it), and waits until its tasks all run the new spec. ForceUpdate is raised too: it tells
   * the new tasks from the old ones, which carry the same release. If one fails (Swarm rolls it
   * back), those updated before it go back: the app is linked everywhere or nowhere.
   */
  private async moveServices(app: string, network: string, move: 'join' | 'leave'): Promise<void> {
    const inspected = await this.docker.getNetwork(network).inspect().catch(ignoreStatus(404)) as { Id?: string } | undefined;
    // A service's spec names its networks by id once created (by name when Pilot wrote it).
    const isIt = (target: string): boolean => target === network || target === inspected?.Id;
    const updated: Service[] = [];
    let monitorSeconds = 0;
    try {
      for (const service of await this.services(app)) {
        const networks = service.Spec.TaskTemplate.Networks;
        if (networks.some((attached) => isIt(attached.Target)) === (move === 'join')) continue;
        const spec: SwarmServiceSpec = {
          ...service.Spec,
          TaskTemplate: {
            ...service.Spec.TaskTemplate,
            Networks: move === 'join' ? [...networks, { Target: network, Aliases: [] }] : networks.filter((attached) => !isIt(attached.Target)),
            ForceUpdate: service.Spec.TaskTemplate.ForceUpdate + 1,
          },
        };
        monitorSeconds = Math.max(monitorSeconds, spec.UpdateConfig.Monitor / 1e9);
        const since = Date.now();
        updated.push(service);
        await this.docker.getService(service.ID).update({ ...spec, version: service.Version.Index, authconfig: this.registry?.pullAuth() });
        await this.converge(spec, since, monitorSeconds, false);
      }
    } catch (error) {
      await this.restore(updated, () => undefined, monitorSeconds);
      throw error;
    }
  }

  async forgetApp(app: string): Promise<void> {
    for (const service of await this.services(app)) await this.docker.getService(service.ID).remove().catch(() => undefined);
    const network = networkName(this.options.instance, app);
    // The apps linked to it leave it (their links went with the app's row), as on one host.
    const inspected = await this.docker.getNetwork(network).inspect().catch(ignoreStatus(404)) as { Id?: string } | undefined;
    const linked = new Set((await this.services()).flatMap((service) => {
      const onIt = service.Spec.TaskTemplate.Networks.some((attached) => attached.Target === network || attached.Target === inspected?.Id);
      const other = taskIdentity(service.Spec.Labels, 1)?.app;
      return onIt && other !== undefined && other !== app ? [other] : [];
    }));
    for (const other of linked) await this.unlink(other, app).catch(() => undefined);
    // The overlay goes once its tasks are gone; Caddy leaves it first.
    await this.docker.getNetwork(network).disconnect({ Container: this.options.proxyContainer, Force: true }).catch(() => undefined);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        await this.docker.getNetwork(network).remove();
        return;
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /**
   * A local volume of the manager's engine, where one-offs and the release phase mount it too;
   * the node label records that node, and the app's services are constrained to it (swarm-spec.ts).
   * A volume recorded on a node already stays there.
   */
  async ensureVolume(app: string, name: string): Promise<void> {
    await this.local.ensureVolume(app, name);
    if ((await this.nodesHolding(name)).length > 0) return;
    const info = (await this.docker.info()) as { Swarm?: { NodeID?: string } };
    if (!info.Swarm?.NodeID) throw new DeployError('PILOT_SWARM_NODE', 'the manager\'s engine gave no swarm node id: is it still in the swarm? (`docker info` on the manager)');
    await this.labelNode(info.Swarm.NodeID, (labels) => ({ ...labels, [volumeNodeLabel(name)]: 'true' }));
  }

  listVolumes(app: string): Promise<string[]> {
    return this.local.listVolumes(app);
  }

  async removeVolume(name: string): Promise<void> {
    await this.local.removeVolume(name);
    for (const node of await this.nodesHolding(name)) {
      await this.labelNode(node.ID, (labels) => Object.fromEntries(Object.entries(labels).filter(([key]) => key !== volumeNodeLabel(name))));
    }
  }

  async volumeNode(name: string): Promise<string | undefined> {
    const [node] = await this.nodesHolding(name);
    return node && (node.Description?.Hostname ?? node.ID);
  }

  private async nodesHolding(volume: string): Promise<SwarmNode[]> {
    return ((await this.docker.listNodes()) as SwarmNode[]).filter((node) => node.Spec?.Labels?.[volumeNodeLabel(volume)] !== undefined);
  }

  private async labelNode(id: string, labels: (current: Record<string, string>) => Record<string, string>): Promise<void> {
    const node = this.docker.getNode(id);
    const current = (await node.inspect()) as SwarmNode;
    await node.update({ _query: { version: current.Version?.Index ?? 0 }, _body: { ...current.Spec, Labels: labels(current.Spec?.Labels ?? {}) } });
  }

  /** The app's attachable overlay (its tasks on every node, its one-offs and Caddy on the manager), with Caddy joined to it. */
  private async ensureNetwork(app: string): Promise<void> {
    const name = networkName(this.options.instance, app);
    const existing = (await this.docker.listNetworks({ filters: { name: [name] } })).find((network) => network.Name === name);
    const singleHost = existing?.Scope === 'local';
    if (singleHost) await removeSingleHostNetworkOf(this.docker, name);
    if (!existing || singleHost) {
      await this.docker
        .createNetwork({ Name: name, Driver: 'overlay', Attachable: true, Labels: selectorLabels(this.options.instance, { app }), CheckDuplicate: true })
        .catch((error: unknown) => {
          if ((error as { statusCode?: number }).statusCode !== 409) throw error;
        });
    }
    const network = (await this.docker.getNetwork(name).inspect()) as { Containers?: Record<string, { Name?: string }> };
    if (!Object.values(network.Containers ?? {}).some((container) => container.Name === this.options.proxyContainer)) {
      await this.docker.getNetwork(name).connect({ Container: this.options.proxyContainer });
    }
  }
}

/**
 * A single-host Pilot gave the app a bridge network of the overlay's name, which no service can
 * use (only swarm-scoped networks can). Its containers leave it, running on: in swarm mode
 * nothing reaches them there (Caddy is a container on the overlays), and they are removed once
 * the app's services serve (reconcile.ts), or left if that fails.
 */
async function removeSingleHostNetworkOf(docker: Docker, name: string): Promise<void> {
  const network = (await docker.getNetwork(name).inspect().catch(ignoreStatus(404))) as { Containers?: Record<string, unknown> } | undefined;
  for (const container of Object.keys(network?.Containers ?? {})) {
    await docker.getNetwork(name).disconnect({ Container: container, Force: true }).catch(ignoreStatus(404));
  }
  await docker.getNetwork(name).remove().catch(ignoreStatus(404));
}

/** A rejection handler that takes these HTTP statuses of the engine as done (already there, already gone). */
function ignoreStatus(...statuses: number[]): (error: unknown) => undefined {
  return (error) => {
    if (!statuses.includes((error as { statusCode?: number }).statusCode ?? 0)) throw error;
    return undefined;
  };
}
