/** References from the pre-warm ConfigMap value: one per line, blank lines and `#` comments ignored. */
export function parsePrewarmList(text: string): string[] {
  const refs = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
  return [...new Set(refs)];
}
