// Flox writes hook and profile scripts into the environment after removing
// the indentation TOML multi-line strings usually carry (buildenvLib's
// `outdentText`): the common leading whitespace of the non-blank lines goes.

/** Remove the common leading whitespace of `script`'s non-blank lines. */
export function outdent(script: string): string {
  const lines = script.split('\n');
  let common: string | undefined;
  for (const line of lines) {
    if (line.trim() === '') continue;
    const indent = /^[ \t]*/.exec(line)?.[0] ?? '';
    if (common === undefined || !indent.startsWith(common)) common = commonPrefix(common ?? indent, indent);
    if (common === '') break;
  }
  if (!common) return lines.map((line) => (line.trim() === '' ? '' : line)).join('\n');
  const width = common.length;
  return lines.map((line) => (line.trim() === '' ? '' : line.slice(width))).join('\n');
}

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}
