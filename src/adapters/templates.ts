import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import type { CaddyfileContext } from '../pipeline/routes.js';

/** The project root, from src/adapters (tsx), dist/adapters (tsc) or dist/server (the bundle): all are two levels down. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface TemplateRenderer {
  renderCaddyfile(context: CaddyfileContext): string;
  renderDockerfile(buildpack: string, context: object): string;
  /** Files of a buildpack that its image needs besides the Dockerfile. */
  buildpackDir(buildpack: string): string;
  /** The script GET /cli/install.sh answers: installs the CLI from `url`. */
  renderCliInstaller(context: { readonly url: string }): string;
}

/** Renders the template files (Caddyfile.tmpl, buildpacks/<name>/Dockerfile.hbs, install-cli.sh.hbs) with handlebars. */
export function createTemplateRenderer(root: string = PROJECT_ROOT): TemplateRenderer {
  const handlebars = Handlebars.create();
  // Templates render config files, not HTML: no escaping. Inputs are validated before rendering.
  const compile = (file: string) => handlebars.compile(fs.readFileSync(file, 'utf8'), { noEscape: true, strict: false });
  const caddyfile = compile(path.join(root, 'Caddyfile.tmpl'));
  const dockerfiles = new Map<string, HandlebarsTemplateDelegate>();
  handlebars.registerHelper('json', (value: unknown) => JSON.stringify(value));

  return {
    renderCaddyfile: (context) => caddyfile(context),
    renderDockerfile(buildpack, context) {
      let template = dockerfiles.get(buildpack);
      if (!template) {
        template = compile(path.join(root, 'buildpacks', buildpack, 'Dockerfile.hbs'));
        dockerfiles.set(buildpack, template);
      }
      return template(context);
    },
    buildpackDir: (buildpack) => path.join(root, 'buildpacks', buildpack),
    renderCliInstaller: (context) => compile(path.join(root, 'install-cli.sh.hbs'))(context),
  };
}
