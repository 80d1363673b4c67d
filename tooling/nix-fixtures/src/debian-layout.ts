// Where a Debian file lands in a nixpkgs-style store path: programs in the `bin` output,
// libraries and data in `out` (without the multiarch directory), manual pages in `man`,
// documentation in `doc`. Headers and state are left out, as a runtime closure would.

/** The outputs a relocated package can have, in nixpkgs' order (`out` is the default). */
export const OUTPUT_NAMES = ['out', 'bin', 'man', 'doc'] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];

export interface Destination {
  output: OutputName;
  /** Path inside the output, e.g. `lib/libc.so.6`. */
  rel: string;
}

const RULES: Array<[RegExp, OutputName, string]> = [
  [/^\/(?:usr\/)?s?bin\/(.+)$/, 'bin', 'bin/'],
  [/^\/(?:usr\/)?lib\/x86_64-linux-gnu\/(.+)$/, 'out', 'lib/'],
  [/^\/(?:usr\/)?lib64\/(.+)$/, 'out', 'lib/'],
  [/^\/(?:usr\/)?lib\/(.+)$/, 'out', 'lib/'],
  [/^\/usr\/libexec\/(.+)$/, 'out', 'libexec/'],
  [/^\/usr\/share\/man\/(.+)$/, 'man', 'share/man/'],
  [/^\/usr\/share\/(doc|info|doc-base)\/(.+)$/, 'doc', 'share/'],
  [/^\/usr\/share\/(.+)$/, 'out', 'share/'],
  [/^\/etc\/(.+)$/, 'out', 'etc/'],
];

/** The output and relative path of a file dpkg lists at `path`; `undefined` for what a runtime closure leaves out. */
export function destination(path: string): Destination | undefined {
  for (const [pattern, output, prefix] of RULES) {
    const m = pattern.exec(path);
    if (m === null) continue;
    const rest = m.slice(1).join('/');
    return { output, rel: `${prefix}${rest}` };
  }
  return undefined;
}

/**
 * The target a relocated symlink gets: a relative target when it stays in the same output,
 * else the original text (like a Debian symlink into /etc/alternatives, it then dangles in
 * the store, which real closures have too).
 */
export function relocatedLinkTarget(link: Destination, target: Destination | undefined, original: string): string {
  if (target === undefined || target.output !== link.output) return original;
  const from = link.rel.split('/').slice(0, -1);
  const to = target.rel.split('/');
  let common = 0;
  while (common < from.length && common < to.length - 1 && from[common] === to[common]) common++;
  const up = from.length - common;
  return [...Array<string>(up).fill('..'), ...to.slice(common)].join('/') || '.';
}
