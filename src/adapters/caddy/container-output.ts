import { certificateOutcome, type CertificateOutcome } from './certificate-log.js';
import { appOfAccessEntry } from './access-log.js';

export interface ContainerOutputDeps {
  readonly apps: { exists(id: number): boolean };
  readonly accessLogs: { append(appId: number, entry: string): void };
  readonly certificateEvents: { observe(outcome: CertificateOutcome): void };
  readonly logger: { warn(details: object, message: string): void };
}

/**
 * What Pilot keeps of each line of the swarm Caddy container's output: an app's access entry
 * (tagged) in that app's router log, a certificate issued or failed as an event. It never throws:
 * it runs in the log stream's handler, where a throw would end the control plane.
 */
export function containerOutputLine(deps: ContainerOutputDeps): (line: string) => void {
  return (line) => {
    try {
      const appId = appOfAccessEntry(line);
      if (appId !== undefined) {
        // An entry of a destroyed app (served before the routes reloaded) goes nowhere: its id may be a new app's.
        if (deps.apps.exists(appId)) deps.accessLogs.append(appId, line);
        return;
      }
      const outcome = certificateOutcome(line);
      if (outcome) deps.certificateEvents.observe(outcome);
    } catch (error) {
      // A full disk, a removed log directory: this line is lost, the control plane serves on.
      deps.logger.warn({ err: error }, "a line of Caddy's output could not be kept");
    }
  };
}
