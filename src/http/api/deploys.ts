import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { archiveAsTar, checkArchive, type ArchiveFormat } from '../../adapters/archive.js';
import { MAX_TREE_FILES } from '../../adapters/workspace.js';
import { ValidationError } from '../../domain/errors.js';
import { AppParams, ImageDeployBody } from '../../domain/shapes.js';
import type { DeploySource, SourceDeploy } from '../../pipeline/deploy.js';
import { RESULT_MARKER } from '../deploy-socket.js';
import { PushTooLarge, spoolToFile } from '../routes/push-body.js';
import { appAccess, appFor, authorOf, errorResponses, type ApiDeps } from './context.js';

/** Where uploads are spooled, and the most one may send (PILOT_MAX_PUSH_MB, as a push). */
export interface UploadSettings {
  readonly dir: string;
  readonly maxBytes: number;
}

/** Archive types of a source upload. */
const ARCHIVE_TYPES: Readonly<Record<string, ArchiveFormat>> = { 'application/gzip': 'tar.gz', 'application/x-gzip': 'tar.gz', 'application/zip': 'zip' };
/** A `docker save` tarball (gzipped or not: the engine reads both). */
const IMAGE_ARCHIVE_TYPES = ['application/x-tar', 'application/gzip'];
/** Entries an uploaded archive may hold: as many as the tree a push may (directories count too). */
const MAX_ARCHIVE_ENTRIES = MAX_TREE_FILES;

const STREAMED = 'Streams the deploy output as text/plain lines, as `git push` shows them, ending with the line `\\0PILOT-RESULT ok|failed`.';

/**
 * Deploys without `git push`: a source archive, an image, a `docker save` tarball. Each goes
 * through the same Deployer as a push (one build, one rollout) and streams the same output.
 * The upload is spooled (and an archive checked) before anything deploys: a refusal is a 400
 * that changes nothing.
 */
export const deployRoutes: FastifyPluginAsyncTypebox<{ deps: ApiDeps; uploads: UploadSettings }> = async (api, { deps, uploads }) => {
  // The body stays a stream: the handler spools it, counting its bytes.
  api.addContentTypeParser([...Object.keys(ARCHIVE_TYPES), 'application/x-tar'], (_request, payload, done) => done(null, payload));

  api.post(
    '/apps/:app/deploys',
    {
      config: appAccess,
      schema: {
        summary: `Deploy a source archive (Content-Type application/gzip for a .tar.gz, application/zip for a .zip), built and rolled out as a push. ${STREAMED}`,
        params: AppParams,
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const app = appFor(deps, request);
      const format = ARCHIVE_TYPES[mediaType(request)];
      if (!format) throw new ValidationError('send the archive as application/gzip (a .tar.gz) or application/zip (a .zip)');
      const upload = await spool(request, uploads, 'archive');
      try {
        const limits = { maxEntries: MAX_ARCHIVE_ENTRIES, maxBytes: uploads.maxBytes };
        await checkArchive(upload.file, format, limits);
        const source: DeploySource = {
          kind: 'tree',
          tar: archiveAsTar(upload.file, format, limits),
          description: `archive sha256:${upload.sha256.slice(0, 12)} (${format})`,
          source: `archive sha256:${upload.sha256}`,
          gitSha: null,
        };
        streamDeploy(deps, reply, app.name, { source, madeBy: authorOf(request) }, upload.remove);
      } catch (error) {
        await upload.remove();
        throw error;
      }
      return reply;
    },
  );

  api.post(
    '/apps/:app/deploys/image',
    {
      config: appAccess,
      schema: {
        summary: `Deploy an image the engine has or can pull, run with its own command and EXPOSEd port (else the app's PORT). ${STREAMED}`,
        params: AppParams,
        body: ImageDeployBody,
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const app = appFor(deps, request);
      const { image } = request.body;
      streamDeploy(deps, reply, app.name, { source: { kind: 'image', image: { name: image }, description: `image ${image}` }, madeBy: authorOf(request) }, async () => undefined);
      return reply;
    },
  );

  api.post(
    '/apps/:app/deploys/image-archive',
    {
      config: appAccess,
      schema: {
        summary: `Deploy a \`docker save\` tarball (Content-Type application/x-tar, or application/gzip when compressed) holding one image. ${STREAMED}`,
        params: AppParams,
        response: errorResponses,
      },
    },
    async (request, reply) => {
      const app = appFor(deps, request);
      if (!IMAGE_ARCHIVE_TYPES.includes(mediaType(request))) throw new ValidationError('send the `docker save` tarball as application/x-tar (or application/gzip)');
      const upload = await spool(request, uploads, 'image');
      const source: DeploySource = {
        kind: 'image',
        image: { archive: fs.createReadStream(upload.file) },
        description: `image archive sha256:${upload.sha256.slice(0, 12)}`,
      };
      streamDeploy(deps, reply, app.name, { source, madeBy: authorOf(request) }, upload.remove);
      return reply;
    },
  );
};

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

interface Upload {
  readonly file: string;
  readonly sha256: string;
  remove(): Promise<void>;
}

/** Spools the body to a file of its own, within the size limit, and hashes it. */
async function spool(request: FastifyRequest, uploads: UploadSettings, name: string): Promise<Upload> {
  const body = request.body as IncomingMessage | undefined;
  if (!body || typeof body.pipe !== 'function') throw new ValidationError('the upload has no body');
  await fs.promises.mkdir(uploads.dir, { recursive: true, mode: 0o700 });
  const dir = await fs.promises.mkdtemp(path.join(uploads.dir, 'upload-'));
  const remove = () => fs.promises.rm(dir, { recursive: true, force: true });
  const file = path.join(dir, name);
  try {
    await spoolToFile(body, file, uploads.maxBytes);
    const hash = crypto.createHash('sha256');
    await pipeline(fs.createReadStream(file), hash);
    return { file, sha256: hash.digest('hex'), remove };
  } catch (error) {
    await remove();
    if (error instanceof PushTooLarge) throw new ValidationError(`${error.message.replace('the push', 'the upload')} (PILOT_MAX_PUSH_MB): nothing was deployed`);
    throw error;
  }
}

/** Answers with the deploy's output as it happens, ending with the result line; `done` runs once it ended. */
function streamDeploy(deps: ApiDeps, reply: FastifyReply, app: string, deploy: Omit<SourceDeploy, 'app'>, done: () => Promise<void>): void {
  streamDeployOutput(reply, app, (write) => deps.deployer.deploySource({ app, ...deploy }, write), done);
}

/** Streams what `deploy` writes as text/plain lines, ending with the result line (as the git hook reads it); `done` runs once it ended. */
export function streamDeployOutput(reply: FastifyReply, app: string, deploy: (write: (line: string) => void) => Promise<boolean>, done: () => Promise<void> = async () => undefined): void {
  const output = new PassThrough();
  const write = (line: string): void => {
    if (!output.writableEnded && !output.destroyed) output.write(`${line}\n`);
  };
  reply.type('text/plain; charset=utf-8').send(output);
  Promise.resolve()
    .then(() => deploy(write))
    .catch((error: unknown) => {
      reply.log.error({ err: error, app }, 'deploy crashed');
      write(' !     internal error while deploying: the server log has the details');
      return false;
    })
    .then(async (live) => {
      await done().catch(() => undefined);
      if (!output.writableEnded && !output.destroyed) output.end(`${RESULT_MARKER}${live ? 'ok' : 'failed'}\n`);
    });
}
