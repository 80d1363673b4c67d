// Plain-text tables and short names for the cluster-wide commands' human output.

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `acme/web@sha256:7b4272516ff8…`: a digest pin shortened for people (JSON keeps it whole). */
export function shortReference(reference: string): string {
  return reference.replace(/@sha256:([0-9a-f]{12})[0-9a-f]{52}$/, '@sha256:$1…');
}

/** An environment for people: its references, else its digest. */
export function environmentLabel(references: readonly string[], digest: string): string {
  return references.length > 0 ? references.map(shortReference).join(', ') : `sha256:${digest.slice(0, 12)}…`;
}

/** `apps/web, apps/worker`, or `-`. */
export function podList(pods: ReadonlyArray<{ namespace: string; name: string }>): string {
  return pods.length === 0 ? '-' : pods.map((p) => `${p.namespace}/${p.name}`).join(', ');
}
