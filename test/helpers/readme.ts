import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Marks a fenced block of the README as a step of a new user's first deploy. */
export const FIRST_DEPLOY_MARKER = '<!-- first-deploy -->';

export const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md');

/**
 * The README's first-deploy steps, in the order a reader meets them: every fenced block right
 * after a `<!-- first-deploy -->` line, as written (the install test runs them, so they cannot drift).
 */
export function firstDeploySteps(markdown: string): string[] {
  const lines = markdown.split('\n');
  const blocks: string[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    if (lines[index]?.trim() !== FIRST_DEPLOY_MARKER) continue;
    const fence = lines[index + 1]?.trim() ?? '';
    if (!fence.startsWith('```')) throw new Error(`README line ${index + 1}: ${FIRST_DEPLOY_MARKER} must be followed by a fenced block`);
    const end = lines.findIndex((line, at) => at > index + 1 && line.trim() === '```');
    if (end === -1) throw new Error(`README line ${index + 2}: the fenced block after ${FIRST_DEPLOY_MARKER} never closes`);
    blocks.push(lines.slice(index + 2, end).join('\n'));
    index = end;
  }
  return blocks;
}

/** The steps as a user of `domain` deploying `app` runs them: the README's example names replaced. */
export function firstDeployScript(markdown: string, names: { domain: string; app: string }): string {
  return firstDeploySteps(markdown)
    .map((block) => block.replaceAll('example.com', names.domain).replace(/\bmyapp\b/g, names.app))
    .join('\n');
}
