// Pilot's pre-receive hook, installed into every app repository (see src/adapters/git.ts).
// It decides whether a push deploys, streams `git archive` of the pushed commit to the Pilot
// server over its unix socket (with the commit's submodules, which the archive leaves empty)
// and prints the server's output, which git shows the pusher as `remote:` lines. Other
// branches deploy preview apps when the server says they match the app's preview pattern,
// and deleting one destroys its preview. Exiting non-zero rejects the push: the branches stay
// at the last good deploy.
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

/** POSTs to the deploy socket and copies its streamed lines to the pusher; resolves whether it answered ok. */
function post(path, query, body, headers = {}) {
  return new Promise((resolve) => {
    const request = http.request({ socketPath, method: 'POST', path: `${path}?${new URLSearchParams(query)}`, headers });
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
      say(unreachable(error));
      resolve(false);
    });
    if (body) body(request);
    else request.end();
  });
}

function unreachable(error) {
  // The socket is gone while Pilot stops or restarts (an upgrade): the branch stays where it was.
  const restarting = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
  return ` !     cannot reach the Pilot server (${error.code ?? error.message}); nothing was deployed${restarting ? ': Pilot is stopping or restarting (an upgrade?), push again in a few seconds' : ''}`;
}

/** Streams `git archive` of the pushed commit to `path` (/deploy: the app; /preview: a preview of a branch). */
function deploy(path, update, branch, extra = {}) {
  const query = { app, branch, old: update.oldSha, new: update.newSha, ...extra };
  const submodules = submoduleManifest(update.newSha);
  const headers = { 'Content-Type': 'application/x-tar', ...(submodules ? { 'X-Pilot-Submodules': submodules } : {}) };
  return post(path, query, (request) => {
    // Inside pre-receive the pushed objects are quarantined: only this process can read them.
    const archive = spawn('git', ['archive', '--format=tar', update.newSha], { stdio: ['ignore', 'pipe', 'inherit'] });
    archive.stdout.pipe(request);
    archive.on('exit', (code) => {
      if (code !== 0) {
        say(` !     git archive failed (exit ${code})`);
        request.destroy();
      }
    });
  }, headers);
}

/**
 * What the server does with a push of a branch that is not the deploy branch: `{action: deploy|skip|refuse, reason}`;
 * the push's branches already judged to deploy previews count against the app's cap.
 */
function judgeBranch(branch, deployBranchName, pushedWith) {
  return new Promise((resolve) => {
    const query = new URLSearchParams([['app', app], ['branch', branch], ['deploy', deployBranchName], ...pushedWith.map((other) => ['with', other])]);
    const request = http.request({ socketPath, method: 'GET', path: `/branch?${query}` });
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          resolve({ action: 'refuse', reason: `the Pilot server answered ${response.statusCode} about ${branch}: nothing was deployed` });
        }
      });
    });
    request.on('error', (error) => resolve({ action: 'refuse', reason: unreachable(error).replace(/^ !\s+/, '') }));
    request.end();
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
if (deployUpdate && ZERO.test(deployUpdate.newSha)) {
  fail(`deleting ${branch} is refused: it is the deploy branch of ${app}`);
}
// Other branches: a preview app each when they match the app's preview pattern (the server decides),
// destroyed when the branch is deleted. Every refusal comes before anything deploys.
const others = updates.filter((update) => update.ref.startsWith('refs/heads/') && update.ref !== deployRef);
const previews = [];
const skipped = [];
for (const update of others.filter((candidate) => !ZERO.test(candidate.newSha))) {
  const name = update.ref.slice('refs/heads/'.length);
  const judged = await judgeBranch(name, branch, previews.map((accepted) => accepted.ref.slice('refs/heads/'.length)));
  if (judged.action === 'refuse') fail(judged.reason);
  if (judged.action === 'deploy') previews.push(update);
  else skipped.push(judged.reason);
}
const tags = updates.filter((update) => update.ref.startsWith('refs/tags/')).map((update) => update.ref.slice('refs/tags/'.length));
if (tags.length > 0) say(`-----> Pushed ${tags.join(', ')}: only ${branch} deploys, nothing was deployed`);
for (const reason of skipped) say(`-----> ${reason}`);

// Previews before the app itself: git accepts or refuses a push's branches together, so a preview
// that fails refuses the push before the app went live with a commit its repository would not have.
let ok = true;
for (const update of previews) {
  if (ok) ok = await deploy('/preview', update, update.ref.slice('refs/heads/'.length), { deploy: branch });
}
if (deployUpdate && ok) ok = await deploy('/deploy', deployUpdate, branch);
for (const update of others.filter((candidate) => ZERO.test(candidate.newSha))) {
  if (ok) ok = await post('/delete', { app, branch: update.ref.slice('refs/heads/'.length) });
}
process.exit(ok ? 0 : 1);
