// Pilot's pre-receive hook, installed into every app repository (see src/adapters/git.ts).
// It decides whether a push deploys, streams `git archive` of the pushed commit to the Pilot
// server over its unix socket (with the commit's submodules, which the archive leaves empty)
// and prints the server's output, which git shows the pusher as `remote:` lines. Exiting
// non-zero rejects the push: the branch stays at the last good deploy.
// Plain JavaScript on purpose: it runs inside git, without a build step.
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';

const ZERO = /^0+$/;
const RESULT_MARKER = '\u0000PILOT-RESULT ';
// The deploy socket reads headers up to 320 KB (src/http/deploy-socket.ts).
const MAX_SUBMODULES_HEADER = 256 * 1024;

const app = process.env.PILOT_APP;
const socketPath = process.env.PILOT_DEPLOY_SOCKET;

function say(line) {
  process.stdout.write(`${line}\n`);
}

function fail(message) {
  say(` !     ${message}`);
  process.exit(1);
}

function branchExists(branch) {
  return spawnSync('git', ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).status === 0;
}

/** `main` deploys; `master` deploys when it is what is pushed and there is no `main`. */
function deployBranch(updates) {
  const pushed = new Set(updates.map((update) => update.ref));
  if (pushed.has('refs/heads/main') || branchExists('main')) return 'main';
  if (pushed.has('refs/heads/master') || branchExists('master')) return 'master';
  return 'main';
}

async function readUpdates() {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  return input
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [oldSha, newSha, ref] = line.trim().split(' ');
      return { oldSha, newSha, ref };
    });
}

/**
 * The gitlinks (mode 160000) of the commit and its .gitmodules, for the server to fetch
 * (src/pipeline/submodules.ts reads them); undefined when the tree has none, the usual case.
 */
function submoduleManifest(sha) {
  const tree = spawnSync('git', ['ls-tree', '-r', '-z', sha], { maxBuffer: 512 * 1024 * 1024 });
  if (tree.status !== 0) fail(`git ls-tree failed: ${tree.stderr?.toString().trim() ?? tree.error?.message}`);
  const gitlinks = tree.stdout.toString('utf8').split('\0').filter((entry) => entry.startsWith('160000 '));
  if (gitlinks.length === 0) return undefined;
  // Exits non-zero when there is no .gitmodules: the server then names the submodules without a URL.
  const modules = spawnSync('git', ['config', '--blob', `${sha}:.gitmodules`, '-z', '--list']);
  const gitmodules = modules.status === 0 ? modules.stdout.toString('utf8') : '';
  const header = Buffer.from(JSON.stringify({ gitlinks, gitmodules })).toString('base64');
  if (header.length > MAX_SUBMODULES_HEADER) fail(`the push has too many submodules (${gitlinks.length}) for Pilot to fetch: vendor their code into the repository`);
  return header;
}

function deploy(update, branch) {
  return new Promise((resolve) => {
    const query = new URLSearchParams({ app, branch, old: update.oldSha, new: update.newSha });
    const submodules = submoduleManifest(update.newSha);
    const headers = { 'Content-Type': 'application/x-tar', ...(submodules ? { 'X-Pilot-Submodules': submodules } : {}) };
    const request = http.request({ socketPath, method: 'POST', path: `/deploy?${query}`, headers });
    let result;
    let pending = '';
    request.on('response', (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        pending += chunk;
        let newline;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          if (line.startsWith(RESULT_MARKER)) result = line.slice(RESULT_MARKER.length);
          else say(line);
        }
      });
      response.on('end', () => resolve(result === 'ok'));
      response.on('error', () => resolve(false));
    });
    request.on('error', (error) => {
      // The socket is gone while Pilot stops or restarts (an upgrade): the branch stays where it was.
      const restarting = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
      say(` !     cannot reach the Pilot server (${error.code ?? error.message}); nothing was deployed${restarting ? ': Pilot is stopping or restarting (an upgrade?), push again in a few seconds' : ''}`);
      resolve(false);
    });
    // Inside pre-receive the pushed objects are quarantined: only this process can read them.
    const archive = spawn('git', ['archive', '--format=tar', update.newSha], { stdio: ['ignore', 'pipe', 'inherit'] });
    archive.stdout.pipe(request);
    archive.on('exit', (code) => {
      if (code !== 0) {
        say(` !     git archive failed (exit ${code})`);
        request.destroy();
      }
    });
  });
}

const updates = await readUpdates();
const branch = deployBranch(updates);
const deployRef = `refs/heads/${branch}`;
const deployUpdate = updates.find((update) => update.ref === deployRef);

for (const update of updates) {
  if (update.ref !== deployRef && !update.ref.startsWith('refs/heads/') && !update.ref.startsWith('refs/tags/')) {
    fail(`only branches and tags can be pushed, not ${update.ref}`);
  }
}
if (!deployUpdate) {
  const names = updates.map((update) => update.ref.replace(/^refs\/(heads|tags)\//, '')).join(', ');
  say(`-----> Pushed ${names}: only ${branch} deploys, nothing was deployed`);
  process.exit(0);
}
if (ZERO.test(deployUpdate.newSha)) {
  fail(`deleting ${branch} is refused: it is the deploy branch of ${app}`);
}
const ok = await deploy(deployUpdate, branch);
process.exit(ok ? 0 : 1);
