/** A TOML value the containerd config needs: no dates, no inline tables. */
export type TomlValue = string | number | boolean | readonly string[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue | undefined;
}

const bareKey = /^[A-Za-z0-9_-]+$/;
const key = (k: string): string => (bareKey.test(k) ? k : JSON.stringify(k));

function scalar(v: string | number | boolean | readonly string[]): string {
  // JSON strings are valid TOML basic strings (same escapes, \uXXXX included).
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return `[${v.map((s) => JSON.stringify(s)).join(', ')}]`;
}

const isTable = (v: TomlValue): v is TomlTable => typeof v === 'object' && !Array.isArray(v);

/** Render nested tables as TOML: plain keys first, then `[a."b.c"]` sub-tables. */
export function renderToml(table: TomlTable, path: string[] = []): string {
  const lines: string[] = [];
  const tables: Array<[string, TomlTable]> = [];
  for (const [k, v] of Object.entries(table)) {
    if (v === undefined) continue;
    if (isTable(v)) tables.push([k, v]);
    else lines.push(`${key(k)} = ${scalar(v)}`);
  }
  let out = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  for (const [k, sub] of tables) {
    const subPath = [...path, k];
    out += `\n[${subPath.map(key).join('.')}]\n${renderToml(sub, subPath)}`;
  }
  return out;
}
