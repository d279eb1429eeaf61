/**
 * What the pusher reads, in the style Heroku and Dokku users recognise:
 * `-----> ` for steps, indented detail, ` !     ` for errors, `=====> ` for the result.
 */
export class DeployOutput {
  constructor(private readonly write: (line: string) => void) {}

  step(text: string): void {
    this.write(`-----> ${text}`);
  }

  detail(text: string): void {
    for (const line of text.split('\n')) this.write(`       ${line}`);
  }

  error(text: string): void {
    for (const line of text.split('\n')) this.write(` !     ${line}`);
  }

  result(text: string): void {
    this.write(`=====> ${text}`);
  }
}
