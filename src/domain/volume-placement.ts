/**
 * What a mount on a swarm means for the app, said the same by the CLI and the dashboard: the
 * volume is local to one node, so the app's processes run there only, replaced stop-first.
 */
export function volumePlacementNote(node: string): string {
  return `The volume lives on node ${node}: the app's processes run on that node only, and are replaced stop-first (each stops before its replacement starts; with one process the app pauses during a deploy).`;
}
