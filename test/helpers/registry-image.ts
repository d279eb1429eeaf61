/**
 * PILOT_REGISTRY_IMAGE for tests: no registry image can be pulled here, so Debian's
 * `docker-registry` package (distribution 2.8) on the debootstrapped bookworm of
 * scripts/build-local-images.sh, with `registry` on the PATH as in `registry:2`. Tagged by the hash
 * of its recipe and base (`pilot-local/registry:<hash>`), built once; older tags are removed.
 */
import { createHash } from 'node:crypto';
import { runCommand } from './command.js';

const BOOKWORM_IMAGE = 'pilot-local/bookworm-fresh:latest';
const REPOSITORY = 'pilot-local/registry';
const RECIPE = `FROM ${BOOKWORM_IMAGE}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null \\
 && rm -rf /var/lib/apt/lists/* && ln -s /usr/bin/docker-registry /usr/local/bin/registry
ENTRYPOINT ["registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
`;

async function must(command: string, args: readonly string[], input?: string): Promise<string> {
  const result = await runCommand(command, args, input);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.code}): ${result.output.slice(-2000)}`);
  return result.output;
}

/** The image's name on this machine's engine (the bookworm base must exist: the swarm fixture makes it). */
export async function ensureRegistryImage(): Promise<string> {
  const base = (await must('docker', ['image', 'inspect', '-f', '{{.Id}}', BOOKWORM_IMAGE])).trim();
  const image = `${REPOSITORY}:${createHash('sha256').update(RECIPE).update(base).digest('hex').slice(0, 12)}`;
  if ((await runCommand('docker', ['image', 'inspect', image])).code === 0) return image;
  await must('docker', ['build', '-q', '-t', image, '-'], RECIPE);
  const tags = (await must('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', REPOSITORY])).split('\n').filter(Boolean);
  for (const stale of tags.filter((tag) => tag !== image)) await runCommand('docker', ['rmi', stale]);
  return image;
}

/** Copies an image of this machine's engine into one node container's engine. */
export async function loadImageInto(container: string, image: string): Promise<void> {
  await must('bash', ['-c', 'set -o pipefail; docker save "$0" | docker exec -i "$1" docker load', image, container]);
}
