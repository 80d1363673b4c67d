// Cold and warm start times (CreateContainer + StartContainer until running) of the real-size
// suites, printed as a table per containerd generation when a suite ends.

export interface StartTime {
  mode: string;
  /** `large xz`, `large zstd`, `wide`. */
  closure: string;
  /** cold: empty store; warm: a second pod of the same environment. */
  kind: 'cold' | 'warm';
  ms: number;
}

const times = new Map<string, StartTime[]>();

export function recordStart(version: string, time: StartTime): void {
  const list = times.get(version) ?? [];
  list.push(time);
  times.set(version, list);
}

/** `containerd <v> | mode | closure | cold s | warm s` rows (markdown), one per mode and closure. */
export function startTimesTable(version: string): string {
  const rows = new Map<string, { cold?: number; warm?: number }>();
  for (const t of times.get(version) ?? []) {
    const key = `${t.mode} | ${t.closure}`;
    rows.set(key, { ...rows.get(key), [t.kind]: t.ms });
  }
  const s = (ms: number | undefined): string => (ms === undefined ? '–' : (ms / 1000).toFixed(2));
  const lines = [...rows].map(([key, r]) => `| ${version} | ${key} | ${s(r.cold)} | ${s(r.warm)} |`);
  return `\nstart times on containerd ${version} (CreateContainer + StartContainer until running, s)\n| containerd | mode | closure | cold | warm |\n|---|---|---|---|---|\n${lines.join('\n')}\n`;
}
