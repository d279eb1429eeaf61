import { DeployError } from '../domain/errors.js';

const PROCESS_LINE = /^([A-Za-z0-9_-]+):\s*(.*)$/;

/** Parses a Procfile (`type: command` per line); a garbled line fails with its number. */
export function parseProcfile(text: string): Map<string, string> {
  const processes = new Map<string, string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `Procfile line ${index + 1}`;
    if (/^(<{7}|={7}|>{7})/.test(line)) {
      throw new DeployError('PILOT_PROCFILE_INVALID', `${where} holds a merge-conflict marker: resolve the conflict and push again`);
    }
    const match = PROCESS_LINE.exec(line);
    if (!match) {
      throw new DeployError('PILOT_PROCFILE_INVALID', `${where} is not "type: command": ${JSON.stringify(line.slice(0, 80))}`);
    }
    const [, type = '', command = ''] = match;
    if (command.trim() === '') throw new DeployError('PILOT_PROCFILE_INVALID', `${where} has no command for "${type}"`);
    if (processes.has(type)) throw new DeployError('PILOT_PROCFILE_INVALID', `${where} declares "${type}" a second time`);
    processes.set(type, command.trim());
  });
  return processes;
}
