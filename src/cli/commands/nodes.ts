import type { Command } from 'commander';
import { context } from '../context.js';
import type { JoinCommandView, NodeView } from '../../domain/shapes.js';

/** `pilot nodes`, `nodes:join-command`, `nodes:drain`, `nodes:activate`: the machines of a swarm cluster (admin). */
export function registerNodeCommands(program: Command): void {
  program
    .command('nodes')
    .description("list the cluster's machines: role, state, availability, address, labels, running tasks (PILOT_SCHEDULER=swarm)")
    .addHelpText('after', '\nExample:\n  $ pilot nodes')
    .action(async (_options: unknown, command: Command) => {
      const { out, client } = context(command);
      const nodes = await client().get<NodeView[]>('/nodes');
      out.result(nodes, () =>
        out.table(
          nodes.map((node) => ({
            ...node,
            role: node.leader ? 'manager (leader)' : node.role,
            labels: Object.entries(node.labels).map(([key, value]) => `${key}=${value}`).join(',') || '-',
            tasks: node.runningTasks,
          })),
          ['hostname', 'id', 'role', 'state', 'availability', 'address', 'tasks', 'labels'],
        ),
      );
    });

  program
    .command('nodes:join-command')
    .description('print the command that adds a machine to the cluster (run it there)')
    .option('--manager', 'join as a manager (default: a worker)')
    .addHelpText('after', '\nExample:\n  $ pilot nodes:join-command')
    .action(async (options: { manager?: boolean }, command: Command) => {
      const { out, client } = context(command);
      const join = await client().get<JoinCommandView>(`/nodes/join-command?role=${options.manager ? 'manager' : 'worker'}`);
      out.result(join, () => (join.install ? `${join.command}\n\nor, on a fresh server, from Pilot's source (installs Docker, trusts the registry, joins):\n\n  ${join.install}` : join.command));
    });

  for (const [name, action, description, done] of [
    ['nodes:drain', 'drain', 'move the tasks off a node and give it no new ones (before maintenance)', 'drained: its tasks move to the other nodes'],
    ['nodes:activate', 'activate', 'let a drained or paused node take tasks again', 'active: it takes tasks again'],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument('<node>', 'its hostname or id (see `pilot nodes`)')
      .addHelpText('after', `\nExample:\n  $ pilot ${name} worker-2`)
      .action(async (node: string, _options: unknown, command: Command) => {
        const { out, client } = context(command);
        const changed = await client().post<NodeView>(`/nodes/${encodeURIComponent(node)}/${action}`);
        out.result(changed, () => `Node ${changed.hostname} (${changed.id}) is ${done}`);
      });
  }
}
