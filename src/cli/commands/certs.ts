import type { Command } from 'commander';
import { appPath } from '../client.js';
import { appOf, appOption, context } from '../context.js';

interface CertificateView {
  host: string;
  state: string;
  issuer: string | null;
  expiresAt: string | null;
  note: string;
}

/** `pilot certs`: the certificate each host of the app is served with. */
export function registerCertificateCommands(program: Command): void {
  program
    .command('certs')
    .description('show the certificate each host of the app is served with: issuer, expiry, or why there is none')
    .addOption(appOption())
    .addHelpText('after', '\nExample:\n  $ pilot certs -a shop')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const { certificates } = await client().get<{ certificates: CertificateView[] }>(appPath(appOf(command), '/certs'));
      out.result(certificates, () =>
        out.table(
          certificates.map((certificate) => ({ ...certificate, expires: certificate.expiresAt })),
          ['host', 'state', 'issuer', 'expires', 'note'],
        ),
      );
    });
}
