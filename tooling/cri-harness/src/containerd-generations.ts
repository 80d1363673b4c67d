// Which containerd package to take for a generation. Debian's trixie and sid move on
// (point releases, sid's next 2.x), so the harness asks apt what they carry on the day
// and takes the newest package of the wanted generation, instead of pinning one version.
import { ContainerdFetchError } from './errors.ts';

/**
 * A containerd generation the suites run against (the label, not an exact version):
 * - `'1.6'`: bookworm's installed containerd 1.6.x;
 * - `'1.7'`: the newest 1.7.x that trixie or sid carries;
 * - `'2.1'`: containerd 2 (config format v3): the newest 2.x that trixie or sid carries
 *   (2.1.9 when the suites were written; the label stays when sid moves to 2.2).
 * The exact version is reported as `ContainerdBinaries.upstreamVersion`.
 */
export type ContainerdVersion = '1.6' | '1.7' | '2.1';

/** The Debian suites a fetched generation is taken from. */
export const FETCH_SUITES: readonly string[] = ['trixie', 'sid'];

/** What the generation accepts, e.g. `1.7.x` or `2.x`. */
export function generationPattern(version: ContainerdVersion): string {
  return version === '2.1' ? '2.x' : `${version}.x`;
}

/** True when an upstream version (`1.7.24`, `v2.2.0`) belongs to the generation. */
export function inGeneration(version: ContainerdVersion, upstream: string): boolean {
  const v = upstream.replace(/^v/, '');
  return version === '2.1' ? /^2\.\d+\./.test(v) : v.startsWith(`${version}.`);
}

/** The upstream part of a Debian version: `1:2.1.9+ds1-5` → `2.1.9`. */
export function upstreamOf(debianVersion: string): string {
  const noEpoch = debianVersion.replace(/^\d+:/, '');
  const noRevision = noEpoch.includes('-') ? noEpoch.slice(0, noEpoch.lastIndexOf('-')) : noEpoch;
  return /^\d+(?:\.\d+)*/.exec(noRevision)?.[0] ?? noRevision;
}

/** One `apt-cache madison` row. */
export interface AptCandidate {
  version: string;
  /** `sid`, `trixie`, … (from `sid/main amd64 Packages`). */
  suite: string;
}

/** Parse `apt-cache madison <pkg>` output: ` pkg | version | uri suite/component arch Packages`. Source rows are skipped. */
export function parseMadison(text: string, pkg: string): AptCandidate[] {
  const out: AptCandidate[] = [];
  for (const line of text.split('\n')) {
    const [name, version, where] = line.split('|').map((field) => field.trim());
    if (name !== pkg || version === undefined || where === undefined || !where.endsWith(' Packages')) continue;
    const suite = /\s(\S+?)\/\S+\s+\S+\s+Packages$/.exec(where)?.[1];
    if (suite !== undefined && /^[0-9A-Za-z:.+~-]+$/.test(version)) out.push({ version, suite });
  }
  return out;
}

/** The newest candidate of the generation, or a `FLOXK8S_E2E_CONTAINERD_FETCH` error naming what the suites carry. */
export function selectContainerd(candidates: readonly AptCandidate[], version: Exclude<ContainerdVersion, '1.6'>): AptCandidate {
  const fitting = candidates.filter((c) => inGeneration(version, upstreamOf(c.version)));
  const newest = fitting.reduce<AptCandidate | undefined>((best, c) => (best === undefined || compareDebianVersions(c.version, best.version) > 0 ? c : best), undefined);
  if (newest === undefined) {
    const carried = candidates.map((c) => `${c.version} (${c.suite})`).join(', ') || 'nothing';
    throw new ContainerdFetchError(
      `expected ${FETCH_SUITES.join(' or ')} to carry a containerd ${generationPattern(version)}, but they carry ${carried}; ` +
        `the ${version} suites cannot run until a Debian suite carries that generation`,
    );
  }
  return newest;
}

/** dpkg's version order (epoch, then upstream, then revision; `~` sorts before everything, even the end). */
export function compareDebianVersions(a: string, b: string): number {
  const split = (v: string): [number, string, string] => {
    const colon = v.indexOf(':');
    const epoch = colon > 0 ? Number(v.slice(0, colon)) : 0;
    const rest = colon > 0 ? v.slice(colon + 1) : v;
    const dash = rest.lastIndexOf('-');
    return dash > 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, '0'];
  };
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  return Math.sign(ea - eb) || comparePart(ua, ub) || comparePart(ra, rb);
}

function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c === '~') return -1;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit runs compare character by character in dpkg's order.
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ca = i < a.length && !/\d/.test(a[i]!) ? a[i] : undefined;
      const cb = j < b.length && !/\d/.test(b[j]!) ? b[j] : undefined;
      const diff = order(ca) - order(cb);
      if (diff !== 0) return Math.sign(diff);
      if (ca !== undefined) i++;
      if (cb !== undefined) j++;
    }
    // Digit runs compare as numbers.
    let na = '';
    let nb = '';
    while (i < a.length && /\d/.test(a[i]!)) na += a[i++];
    while (j < b.length && /\d/.test(b[j]!)) nb += b[j++];
    const diff = Number(na || '0') - Number(nb || '0');
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}
