/**
 * What an app's repository URL and branch may be (pure): Pilot fetches over https only, and
 * a credential is a secret of its own, never part of the URL (URLs show in output and logs).
 */
import { ValidationError } from '../domain/errors.js';

const MAX_URL_LENGTH = 2048;
const MAX_BRANCH_LENGTH = 255;
const MAX_CREDENTIAL_LENGTH = 4096;
export const DEFAULT_BRANCH = 'main';

/** The URL as Pilot keeps it; refuses anything but an https URL of a host, without credentials. */
export function checkRepoUrl(text: string): string {
  const url = text.trim();
  if (url === '' || url.length > MAX_URL_LENGTH) throw new ValidationError(`the repository URL must be 1 to ${MAX_URL_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(`"${url.slice(0, 200)}" is not a URL: give the repository's https:// clone URL (e.g. https://github.com/owner/repo.git)`);
  }
  if (parsed.protocol !== 'https:') {
    throw new ValidationError(`Pilot fetches repositories over https:// only, not ${parsed.protocol.replace(/:$/, '')}: give the repository's https:// clone URL`);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new ValidationError(
      'the repository URL holds a credential: give the URL without it and the token apart (`pilot apps:repo:set URL --credential-stdin`, ' +
        'or `"credential"` in the API), so it is kept as a secret and never shown',
    );
  }
  if (parsed.hostname === '') throw new ValidationError('the repository URL has no host');
  if (parsed.hash !== '') throw new ValidationError('the repository URL has a #fragment: give the branch with --branch (or "branch")');
  return url;
}

/** A branch name git accepts (`git check-ref-format --branch`), in the words of a refusal. */
export function checkBranch(branch: string): string {
  const invalid = (why: string) => new ValidationError(`"${branch.slice(0, 100)}" is not a branch name: ${why}`);
  if (branch === '' || branch.length > MAX_BRANCH_LENGTH) throw invalid(`use 1 to ${MAX_BRANCH_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(branch)) throw invalid('no spaces, control characters or ~ ^ : ? * [ \\');
  if (branch.startsWith('-') || branch.startsWith('/') || branch.endsWith('/') || branch.endsWith('.') || branch === '@') throw invalid('it may not start with - or /, end with / or ., or be @');
  if (branch.includes('..') || branch.includes('//') || branch.includes('@{')) throw invalid('no .., // or @{');
  if (branch.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock'))) throw invalid('no part may start with . or end with .lock');
  return branch;
}

/** A credential git can send: a token, or `user:token`. */
export function checkCredential(credential: string): string {
  const value = credential.trim();
  if (value === '' || value.length > MAX_CREDENTIAL_LENGTH) throw new ValidationError(`the credential must be 1 to ${MAX_CREDENTIAL_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new ValidationError('the credential holds a line break or a control character: give the token alone');
  return value;
}
