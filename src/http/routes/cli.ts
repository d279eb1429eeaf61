import fs from 'node:fs';
import type { FastifyPluginAsync } from 'fastify';

export interface CliDownload {
  /** The bundled CLI (dist/pilot-cli.mjs, made by `npm run build`). */
  readonly bundleFile: string;
  /** The install script for a server at `url`. */
  renderInstaller(context: { readonly url: string }): string;
}

/** A host as a client may send it: a name or an address, and a port. Anything else never reaches the script. */
const HOST = /^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/;

/**
 * GET /cli: the pilot CLI as one file that needs only Node.js; GET /cli/install.sh: the script
 * that installs it (`curl -fsSL https://pilot.example.com/cli/install.sh | sh`). No token: it is
 * the same program for everyone and holds no secret.
 */
export const cliRoutes: FastifyPluginAsync<{ cli: CliDownload }> = async (app, { cli }) => {
  app.get('/cli', { schema: { hide: true } }, async (_request, reply) => {
    if (!fs.existsSync(cli.bundleFile)) {
      return reply.status(404).send({
        error: 'PILOT_CLI_NOT_BUILT',
        message: `this Pilot has no CLI bundle (${cli.bundleFile}): run \`npm run build\` where Pilot is installed`,
      });
    }
    return reply.type('text/javascript; charset=utf-8').send(fs.createReadStream(cli.bundleFile));
  });

  app.get('/cli/install.sh', { schema: { hide: true } }, async (request, reply) => {
    // Behind Caddy, the address the user typed (trusted from loopback only: see buildApp).
    if (!HOST.test(request.host)) {
      return reply.status(400).send({ error: 'PILOT_BAD_HOST', message: `${JSON.stringify(request.host)} is not a host name: fetch this script from the server's address` });
    }
    return reply.type('text/x-shellscript; charset=utf-8').send(cli.renderInstaller({ url: `${request.protocol}://${request.host}` }));
  });
};
