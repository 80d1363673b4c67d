/**
 * A reference cycle among `nodes` (each element references the next, the last
 * references the first), or undefined when the graph is acyclic. Self-references
 * are legal in Nix and must be left out of `edges`. Iterative depth-first search:
 * reference chains can be thousands deep.
 */
export function findCycle(nodes: Iterable<string>, edges: (node: string) => readonly string[]): string[] | undefined {
  const done = new Set<string>();
  const onPath = new Map<string, number>();
  for (const start of nodes) {
    if (done.has(start)) continue;
    const path: Array<{ node: string; next: number; out: readonly string[] }> = [{ node: start, next: 0, out: edges(start) }];
    onPath.set(start, 0);
    while (path.length > 0) {
      const top = path[path.length - 1] as { node: string; next: number; out: readonly string[] };
      const to = top.out[top.next++];
      if (to === undefined) {
        path.pop();
        onPath.delete(top.node);
        done.add(top.node);
        continue;
      }
      const at = onPath.get(to);
      if (at !== undefined) return path.slice(at).map((p) => p.node);
      if (done.has(to)) continue;
      onPath.set(to, path.length);
      path.push({ node: to, next: 0, out: edges(to) });
    }
  }
  return undefined;
}
