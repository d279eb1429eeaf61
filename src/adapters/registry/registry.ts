/**
 * The registry Pilot runs on a swarm manager (docs/swarm.md): a container `<instance>-registry`
 * of PILOT_REGISTRY_IMAGE, its storage in a volume, TLS from Pilot's own CA and one htpasswd
 * user. Release images are pushed to it by the manager's engine, and every node pulls them
 * from it with `pullAuth`. `collect` deletes what no kept release needs.
 */
import https from 'node:https';
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { pack } from 'tar-stream';
import type { ImageRegistry, RegistryAuth } from '../../domain/ports.js';
import { DependencyError, DeployError } from '../../domain/errors.js';
import { registryContainerName, registryLabels, registryVolumeName, selectorLabels } from '../../domain/process-identity.js';
import { messageOf, statusOf } from '../docker/errors.js';
import { ensureRegistryCredentials, type RegistryCredentials } from './credentials.js';
import { SharedExclusiveLock } from './lock.js';
import {
  REGISTRY_CONFIG_DIR, REGISTRY_CONFIG_FILE, REGISTRY_CONTAINER_PORT, REGISTRY_STORAGE_DIR,
  manifestsToDelete, parseImageName, registryAddress, registryConfig, type TaggedManifest,
} from './plan.js';

/** How long the registry may take to answer after its container starts. */
const READY_TIMEOUT_MS = 30_000;
const MANIFEST_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
].join(', ');

export interface SwarmRegistrySettings {
  readonly instance: string;
  /** PILOT_REGISTRY_IMAGE: `registry:2`, or any image whose `registry` command is distribution's. */
  readonly image: string;
  /** The address nodes reach the manager at; undefined: the manager's swarm address. */
  readonly host: string | undefined;
  readonly port: number;
  /** Where the CA, certificate and password are kept (`<data dir>/registry`). */
  readonly dir: string;
}

interface Started {
  readonly address: string;
  readonly credentials: RegistryCredentials;
}

interface RegistryAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export class SwarmRegistry implements ImageRegistry {
  private started: Started | undefined;
  private starting: Promise<void> | undefined;
  /** Pushes share it; a garbage collection holds it alone (a layer pushed during the sweep would go). */
  private readonly lock = new SharedExclusiveLock();

  constructor(
    private readonly docker: Docker,
    private readonly settings: SwarmRegistrySettings,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts the registry in the background: Pilot serves (nodes, the API) while the image is
   * pulled. A push waits for it, and a start that failed is tried again at the next push.
   */
  start(): Promise<void> {
    this.starting = this.startRegistry().catch((error: unknown) => {
      this.logger.error({ err: error }, 'the registry did not start: deploys to the swarm fail until it does');
      throw error;
    });
    // Seen by whoever waits for it (a push); not an unhandled rejection meanwhile.
    this.starting.catch(() => undefined);
    return this.starting;
  }

  /** Makes the credentials, has this engine trust the CA, and starts the registry (again, if its configuration changed). */
  private async startRegistry(): Promise<void> {
    const host = this.settings.host ?? (await this.managerAddress());
    const address = registryAddress(host, this.settings.port);
    const credentials = await ensureRegistryCredentials(this.settings.dir, host, this.settings.instance);
    await this.ensureImage();
    await this.trustOnThisEngine(address, credentials.caCertificate);
    await this.ensureContainer(credentials);
    await this.waitReady(address, credentials);
    this.started = { address, credentials };
    this.logger.info({ registry: address, image: this.settings.image }, 'registry ready');
  }

  /** `host:port` of the registry, and the fingerprint of its CA: what `install.sh --join` needs. */
  joinSettings(): { readonly address: string; readonly caFingerprint: string } | undefined {
    return this.started && { address: this.started.address, caFingerprint: this.started.credentials.caFingerprint };
  }

  async publish(image: string, onOutput: (line: string) => void): Promise<string> {
    const name = parseImageName(image);
    if (!name) throw new DeployError('PILOT_REGISTRY_PUSH', `cannot push "${image}" to the registry: it is not a release image (<instance>/<app>:<tag>)`);
    const { address, credentials } = await this.ready();
    const reference = `${address}/${name.repository}:${name.tag}`;
    return this.lock.shared(async () => {
      await this.docker.getImage(image).tag({ repo: `${address}/${name.repository}`, tag: name.tag }).catch((error: unknown) => {
        throw new DeployError('PILOT_REGISTRY_PUSH', `cannot push ${image} to the registry: the manager's engine has no such image (${messageOf(error)})`);
      });
      try {
        const stream = await this.docker.getImage(reference).push({ authconfig: this.authFor(address, credentials) });
        await followProgress(this.docker, stream).catch((error: unknown) => {
          throw new DeployError('PILOT_REGISTRY_PUSH', `pushing ${reference} to Pilot's registry failed: ${messageOf(error)}`);
        });
        onOutput(`pushed ${reference}`);
      } finally {
        // The release's own tag keeps the image; this one would keep it after Pilot prunes that.
        await this.docker.getImage(reference).remove({ noprune: true }).catch((error: unknown) => this.logger.warn({ err: error, image: reference }, 'registry tag not removed'));
      }
      return reference;
    });
  }

  pullAuth(): RegistryAuth | undefined {
    return this.started && this.authFor(this.started.address, this.started.credentials);
  }

  async collect(app: string, keepTags: () => readonly string[]): Promise<void> {
    const started = await this.ready();
    const repository = `${this.settings.instance}/${app}`;
    await this.lock.exclusive(async () => {
      const tagged = await this.taggedManifests(started, repository);
      // Read only now, alone: a tag pushed while this waited for the lock belongs to a release that is listed by now.
      const doomed = manifestsToDelete(tagged, keepTags());
      for (const digest of doomed) {
        const answer = await this.request(started, 'DELETE', `/v2/${repository}/manifests/${digest}`);
        if (answer.status !== 202 && answer.status !== 404) throw this.refused(`delete ${repository}@${digest}`, answer);
      }
      if (doomed.length > 0) await this.garbageCollect();
    });
  }

  private async taggedManifests(started: Started, repository: string): Promise<TaggedManifest[]> {
    const listed = await this.request(started, 'GET', `/v2/${repository}/tags/list`);
    if (listed.status === 404) return [];
    if (listed.status !== 200) throw this.refused(`list the tags of ${repository}`, listed);
    const tags = (JSON.parse(listed.body) as { tags?: string[] | null }).tags ?? [];
    const tagged: TaggedManifest[] = [];
    for (const tag of tags) {
      const head = await this.request(started, 'HEAD', `/v2/${repository}/manifests/${tag}`, { Accept: MANIFEST_TYPES });
      const digest = head.headers['docker-content-digest'];
      if (head.status === 200 && typeof digest === 'string') tagged.push({ tag, digest });
    }
    return tagged;
  }

  /** Deleted manifests leave their layers: the registry's own sweep removes those no manifest uses. */
  private async garbageCollect(): Promise<void> {
    const container = this.docker.getContainer(registryContainerName(this.settings.instance));
    const exec = await container.exec({ Cmd: ['registry', 'garbage-collect', REGISTRY_CONFIG_FILE], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const sink = { write: (chunk: Buffer) => ((output += chunk.toString()), true) };
      this.docker.modem.demuxStream(stream, sink as unknown as NodeJS.WritableStream, sink as unknown as NodeJS.WritableStream);
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    const { ExitCode } = (await exec.inspect()) as { ExitCode: number | null };
    if (ExitCode !== 0) throw new DependencyError('PILOT_REGISTRY_GC', `the registry's garbage collection failed (exit ${ExitCode}): ${output.trim().split('\n').slice(-3).join(' ')}`);
    this.logger.info({ swept: output.split('\n').filter((line) => line.includes('blob eligible for deletion')).length }, 'registry garbage-collected');
  }

  private async ensureContainer(credentials: RegistryCredentials): Promise<void> {
    const name = registryContainerName(this.settings.instance);
    const config = registryConfig();
    // What the running registry was made from: a change (image, port, certificate, password) makes a new one.
    const version = createHash('sha256').update(JSON.stringify([this.settings.image, this.settings.port, config, credentials.serverChain, credentials.password])).digest('hex').slice(0, 16);
    const existing = await this.docker.getContainer(name).inspect().catch((error: unknown) => {
      if (statusOf(error) === 404) return undefined;
      throw error;
    });
    if (existing && existing.Config.Labels[REGISTRY_VERSION_LABEL] === version) {
      if (!existing.State.Running) await this.docker.getContainer(name).start();
      return;
    }
    if (existing) await this.docker.getContainer(name).remove({ force: true });
    const container = await this.docker.createContainer({
      name,
      Image: this.settings.image,
      Entrypoint: ['registry'],
      Cmd: ['serve', REGISTRY_CONFIG_FILE],
      Labels: { ...registryLabels(this.settings.instance), [REGISTRY_VERSION_LABEL]: version },
      ExposedPorts: { [`${REGISTRY_CONTAINER_PORT}/tcp`]: {} },
      HostConfig: {
        // Published with the engine's own DNAT on the manager, never through the routing mesh.
        PortBindings: { [`${REGISTRY_CONTAINER_PORT}/tcp`]: [{ HostPort: String(this.settings.port) }] },
        RestartPolicy: { Name: 'unless-stopped' },
        Mounts: [{ Type: 'volume', Source: registryVolumeName(this.settings.instance), Target: REGISTRY_STORAGE_DIR, VolumeOptions: { NoCopy: false, Labels: selectorLabels(this.settings.instance), DriverConfig: { Name: 'local', Options: {} } } }],
      },
    }).catch((error: unknown) => {
      throw new DependencyError('PILOT_REGISTRY_START', `could not create the registry container from ${this.settings.image} (${messageOf(error)}): check PILOT_REGISTRY_IMAGE`);
    });
    // Copied in rather than bind-mounted: the engine may be another machine's (DOCKER_HOST).
    await container.putArchive(await tarOf({ 'config.yml': config, htpasswd: credentials.htpasswd, 'server.crt': credentials.serverChain, 'server.key': credentials.serverKey }), { path: REGISTRY_CONFIG_DIR });
    await container.start().catch((error: unknown) => {
      throw new DependencyError('PILOT_REGISTRY_START', `the registry did not start (${messageOf(error)}): is port ${this.settings.port} free on the manager? (PILOT_REGISTRY_PORT)`);
    });
  }

  /**
   * The manager's engine pushes, and runs tasks, so it trusts the CA as every node does:
   * `/etc/docker/certs.d/<host:port>/ca.crt` on its host, written through a container that is
   * created and never started (the engine may be another machine's). No engine restart needed.
   */
  private async trustOnThisEngine(address: string, caCertificate: string): Promise<void> {
    const helper = await this.docker.createContainer({
      Image: this.settings.image,
      Entrypoint: ['true'],
      Labels: registryLabels(this.settings.instance),
      // The parent directory: a bind's source may not hold a colon (`host:port`); Binds creates it if missing.
      HostConfig: { Binds: ['/etc/docker/certs.d:/trust'] },
    });
    try {
      await helper.putArchive(await tarOf({ [`${address}/ca.crt`]: caCertificate }), { path: '/trust' });
    } finally {
      await helper.remove({ force: true });
    }
  }

  private async managerAddress(): Promise<string> {
    const info = (await this.docker.info()) as { Swarm?: { NodeAddr?: string } };
    const address = info.Swarm?.NodeAddr;
    if (!address) throw new DependencyError('PILOT_REGISTRY_START', 'the engine gave no swarm address for the registry: set PILOT_REGISTRY_HOST to the address nodes reach the manager at');
    return address;
  }

  /** Pulls PILOT_REGISTRY_IMAGE when the engine lacks it. */
  private async ensureImage(): Promise<void> {
    const present = await this.docker.getImage(this.settings.image).inspect().then(() => true, (error: unknown) => {
      if (statusOf(error) === 404) return false;
      throw error;
    });
    if (present) return;
    this.logger.info({ image: this.settings.image }, 'pulling the registry image');
    try {
      const stream = await this.docker.pull(this.settings.image);
      await followProgress(this.docker, stream);
    } catch (error) {
      throw new DependencyError('PILOT_REGISTRY_START', `could not pull the registry image ${this.settings.image} (${messageOf(error)}): check PILOT_REGISTRY_IMAGE, or load the image into the manager's engine`);
    }
  }

  private async waitReady(address: string, credentials: RegistryCredentials): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const answer = await this.request({ address, credentials }, 'GET', '/v2/');
        if (answer.status === 200) return;
        last = `answered ${answer.status}: ${answer.body.slice(0, 200)}`;
      } catch (error) {
        last = messageOf(error);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new DependencyError('PILOT_REGISTRY_START', `the registry at ${address} did not answer within ${READY_TIMEOUT_MS / 1000} s (${last}): see \`docker logs ${registryContainerName(this.settings.instance)}\``);
  }

  /** The started registry; a start that failed is tried again (once for everyone waiting), and its failure is what the caller gets. */
  private async ready(): Promise<Started> {
    const attempt = this.starting;
    if (!attempt) throw new DependencyError('PILOT_REGISTRY_UNAVAILABLE', 'the registry was not started');
    await attempt.catch(() => (this.starting === attempt ? this.start() : this.starting));
    if (!this.started) throw new DependencyError('PILOT_REGISTRY_UNAVAILABLE', 'the registry has not started');
    return this.started;
  }

  private authFor(address: string, credentials: RegistryCredentials): RegistryAuth {
    return { username: credentials.username, password: credentials.password, serveraddress: address };
  }

  private refused(what: string, answer: RegistryAnswer): DependencyError {
    return new DependencyError('PILOT_REGISTRY_REFUSED', `the registry refused to ${what} (${answer.status}: ${answer.body.slice(0, 300)})`);
  }

  /** A call of the registry's HTTP API as Pilot's user, trusting only Pilot's CA. */
  private request({ address, credentials }: Started, method: string, pathname: string, headers: Record<string, string> = {}): Promise<RegistryAnswer> {
    const { hostname, port } = new URL(`https://${address}`);
    return new Promise((resolve, reject) => {
      const request = https.request({
        method, hostname: hostname.replace(/^\[|\]$/g, ''), port, path: pathname, ca: credentials.caCertificate, agent: false,
        auth: `${credentials.username}:${credentials.password}`, headers, timeout: 30_000,
      }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
        response.on('error', reject);
      });
      request.on('timeout', () => request.destroy(new Error(`no answer from the registry at ${address}`)));
      request.on('error', reject);
      request.end();
    });
  }
}

/** Which configuration the running registry container was made from. */
const REGISTRY_VERSION_LABEL = 'pilot.registry.version';

/** A push or pull reports a failure as a stream event, not as a rejection: the first one, if any. */
async function followProgress(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  const events = await new Promise<{ error?: string }[]>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: { error?: string }[]) => (error ? reject(error) : resolve(output)));
  });
  const failed = events.find((event) => event.error);
  if (failed) throw new Error(failed.error);
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) {
    if (name.includes('/')) archive.entry({ name: name.slice(0, name.lastIndexOf('/') + 1), type: 'directory', mode: 0o755 });
    archive.entry({ name, mode: name.endsWith('.key') || name === 'htpasswd' ? 0o600 : 0o644 }, content);
  }
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
