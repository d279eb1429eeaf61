import fs from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { AnsiUp } from 'ansi_up';

/** The page templates, with the layout every page shares; loaded on the dashboard's first use. */
export interface DashboardViews {
  render(page: string, context: object): string;
  /** A build log as HTML: every byte escaped, ANSI colours as classes (ansi_up). */
  ansi(text: string): string;
  /** A renderer that keeps ANSI state across the chunks of one stream (a log as it grows). */
  ansiStream(): (chunk: string) => string;
}

const PAGES = ['sign-in', 'apps', 'app', 'release', 'server', 'confirm', 'token-created'] as const;

export function loadDashboardViews(templateDir: string): DashboardViews {
  // HTML-escaping handlebars: every value a user or an app sent is escaped ({{ }}); only the
  // ansi helper's output, escaped by ansi_up itself, goes in unescaped.
  const handlebars = Handlebars.create();
  const read = (name: string) => fs.readFileSync(path.join(templateDir, `${name}.hbs`), 'utf8');
  handlebars.registerPartial('layout', read('layout'));
  handlebars.registerHelper('ansi', (text: unknown) => new Handlebars.SafeString(toHtml(String(text ?? ''))));
  handlebars.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  handlebars.registerHelper('bytes', (value: unknown) => (typeof value === 'number' ? formatBytes(value) : '–'));
  handlebars.registerHelper('percent', (value: unknown) => (typeof value === 'number' ? `${value.toFixed(1)} %` : '–'));
  handlebars.registerHelper('age', (value: unknown) => (typeof value === 'string' ? age(value) : '–'));
  handlebars.registerHelper('short', (value: unknown) => (typeof value === 'string' ? value.slice(0, 7) : ''));
  const pages = new Map(PAGES.map((page) => [page, handlebars.compile(read(page), { strict: false })] as const));
  return {
    render(page, context) {
      const template = pages.get(page as (typeof PAGES)[number]);
      if (!template) throw new Error(`no dashboard page ${page}`);
      return template(context);
    },
    ansi: toHtml,
    ansiStream() {
      const stream = newAnsi();
      return (chunk) => withoutInlineStyles(stream.ansi_to_html(chunk), stream);
    },
  };
}

function newAnsi(): AnsiUp {
  const ansi = new AnsiUp();
  ansi.use_classes = true;
  // Links in a log could point anywhere: shown as text.
  ansi.url_allowlist = {};
  return ansi;
}

function toHtml(text: string): string {
  const ansi = newAnsi();
  return withoutInlineStyles(ansi.ansi_to_html(text), ansi);
}

/**
 * ansi_up's class mode still writes bold, faint, italic and underline, and the colours beyond
 * the 16 named ones (256-colour, true colour), as inline styles, which the dashboard's CSP
 * refuses. Its spans get classes for the first (`ansi-bold`... in dashboard.css); the others
 * have no class and show in the log's own colour. Every `style="` in its output is its own:
 * the text it escaped cannot hold a quote.
 */
function withoutInlineStyles(html: string, ansi: AnsiUp): string {
  const classOf = new Map([
    [ansi.boldStyle, 'ansi-bold'],
    [ansi.faintStyle, 'ansi-faint'],
    [ansi.italicStyle, 'ansi-italic'],
    [ansi.underlineStyle, 'ansi-underline'],
  ]);
  return html.replace(/<span style="([^"]*)"(?: class="([^"]*)")?>/g, (_span, styles: string, classes: string | undefined) => {
    const names = [...styles.split(';').flatMap((style) => classOf.get(style) ?? []), ...(classes ? classes.split(' ') : [])];
    return names.length > 0 ? `<span class="${names.join(' ')}">` : '<span>';
  });
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** "3 min ago": how long ago an ISO time was. */
export function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(seconds)) return '–';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}
