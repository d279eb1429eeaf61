/**
 * What the registry is secured with, made once and kept in `<data dir>/registry` (mode 0700):
 * a CA of Pilot's own (nodes trust it through /etc/docker/certs.d), the registry's server
 * certificate for the address nodes reach it at (issued again when that address changes or the
 * certificate nears its end), and the password Pilot pushes and nodes pull with.
 * Certificates come from the openssl command line, which every Debian and Ubuntu server has.
 */
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { isIP } from 'node:net';
import bcrypt from 'bcryptjs';
import { DependencyError } from '../../domain/errors.js';

const run = promisify(execFile);
/** The user Pilot and the nodes authenticate as. */
export const REGISTRY_USER = 'pilot';
const CA_DAYS = 3650;
const SERVER_DAYS = 825;
/** A server certificate expiring within this many seconds is issued again at start. */
const RENEW_BEFORE_SECONDS = 30 * 24 * 3600;

export interface RegistryCredentials {
  readonly username: string;
  readonly password: string;
  /** PEM of Pilot's registry CA: what nodes trust. */
  readonly caCertificate: string;
  /** SHA-256 fingerprint of the CA (`AB:CD:...`), as `install.sh --registry-ca-sha256` takes it. */
  readonly caFingerprint: string;
  /** PEM of the server certificate followed by the CA's, as the registry serves it. */
  readonly serverChain: string;
  readonly serverKey: string;
  /** The htpasswd file for `username` (bcrypt, the only scheme the registry reads). */
  readonly htpasswd: string;
}

/** The registry's CA, certificate for `host` and password, made when missing. */
export async function ensureRegistryCredentials(dir: string, host: string, instance: string): Promise<RegistryCredentials> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = (name: string) => path.join(dir, name);
  if (!fs.existsSync(file('ca.crt')) || !fs.existsSync(file('ca.key'))) await makeCa(dir, instance);
  if (await serverCertificateStale(dir, host)) await issueServerCertificate(dir, host);
  if (!fs.existsSync(file('password'))) fs.writeFileSync(file('password'), randomBytes(24).toString('base64url'), { mode: 0o600 });
  const password = fs.readFileSync(file('password'), 'utf8').trim();
  const caCertificate = fs.readFileSync(file('ca.crt'), 'utf8');
  return {
    username: REGISTRY_USER,
    password,
    caCertificate,
    caFingerprint: new X509Certificate(caCertificate).fingerprint256,
    serverChain: fs.readFileSync(file('server.crt'), 'utf8') + caCertificate,
    serverKey: fs.readFileSync(file('server.key'), 'utf8'),
    htpasswd: `${REGISTRY_USER}:${await bcrypt.hash(password, 10)}\n`,
  };
}

async function makeCa(dir: string, instance: string): Promise<void> {
  await openssl(dir, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', 'ca.key', '-out', 'ca.crt', '-days', String(CA_DAYS), '-subj', `/CN=Pilot registry CA (${instance})`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  fs.chmodSync(path.join(dir, 'ca.key'), 0o600);
  // A new CA invalidates the old server certificate.
  fs.rmSync(path.join(dir, 'server.crt'), { force: true });
}

async function serverCertificateStale(dir: string, host: string): Promise<boolean> {
  const certificate = path.join(dir, 'server.crt');
  if (!fs.existsSync(certificate) || !fs.existsSync(path.join(dir, 'server.key'))) return true;
  const issued = new X509Certificate(fs.readFileSync(certificate));
  if ((isIP(host) !== 0 ? issued.checkIP(host) : issued.checkHost(host)) === undefined) return true;
  return Date.parse(issued.validTo) - Date.now() < RENEW_BEFORE_SECONDS * 1000;
}

async function issueServerCertificate(dir: string, host: string): Promise<void> {
  const extensions = path.join(dir, 'server.ext');
  fs.writeFileSync(extensions, [
    `subjectAltName=${isIP(host) !== 0 ? 'IP' : 'DNS'}:${host}`,
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    '',
  ].join('\n'));
  await openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${host}`]);
  fs.chmodSync(path.join(dir, 'server.key'), 0o600);
  await openssl(dir, [
    'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${randomBytes(16).toString('hex')}`,
    '-days', String(SERVER_DAYS), '-extfile', 'server.ext', '-out', 'server.crt',
  ]);
  fs.rmSync(path.join(dir, 'server.csr'), { force: true });
  fs.rmSync(extensions, { force: true });
}

async function openssl(cwd: string, args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim() || (error as Error).message;
    throw new DependencyError('PILOT_REGISTRY_CERTIFICATE', `could not make the registry's certificate with openssl (${detail}): install openssl (apt-get install openssl)`);
  }
}
