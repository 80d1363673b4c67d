// Version ranges over Nix's version order (`compareVersions`), in the familiar
// comparator syntax: `>=3.0 <3.0.14`, `<1.1.1w || =3.0.0`, `1.2.3` (exactly), `*`.
//
//   range      := set ( "||" set )*          any set may match
//   set        := comparator ( [ "," ] comparator )*   every comparator must match
//   comparator := [ "<" | "<=" | ">" | ">=" | "=" | "==" | "!=" ] version  |  "*"
//
// A version starts with a letter or digit and runs to a space, ",", "|", "<", ">", "=" or "!"
// (so "~1.2" and "^1" are refused, not read as exact versions).
// There are no caret/tilde shorthands: Nix versions have no agreed major/minor.
import { VersionRangeInvalidError } from './errors.ts';
import { compareVersions } from './nix-version.ts';

type Operator = '<' | '<=' | '>' | '>=' | '=' | '!=';

/** One comparator of a range: `op version`. */
export interface VersionComparator {
  op: Operator;
  version: string;
}

/** A parsed range: any of `sets` matches when every comparator of that set does. `sets` is `[[]]` for `*`. */
export interface VersionRange {
  /** The range as given, trimmed. */
  text: string;
  sets: VersionComparator[][];
}

const MAX_RANGE_LENGTH = 1024;
const COMPARATOR = /^(<=|>=|==|!=|<|>|=)?([A-Za-z0-9][^\s,|<>=!]*)$/;

/** Parse a range; throws `FLOXK8S_SBOM_VERSION_RANGE_INVALID` naming the bad part. */
export function parseVersionRange(text: string): VersionRange {
  if (typeof text !== 'string') throw new VersionRangeInvalidError(String(text), 'expected a string');
  const trimmed = text.trim();
  if (trimmed.length > MAX_RANGE_LENGTH) throw new VersionRangeInvalidError(trimmed.slice(0, 80), `longer than ${MAX_RANGE_LENGTH} characters`);
  if (trimmed === '' || trimmed === '*') return { text: trimmed === '' ? '*' : trimmed, sets: [[]] };
  const sets = trimmed.split('||').map((part) => {
    // "a, b" and "a b" both mean "a and b"; an operator may be written apart from its version.
    const words = part.replace(/(<=|>=|==|!=|<|>|=)\s+/g, '$1').split(/[\s,]+/).filter((w) => w !== '');
    if (words.length === 0) throw new VersionRangeInvalidError(trimmed, 'an empty alternative around "||"');
    if (words.length === 1 && words[0] === '*') return [];
    return words.map((word) => {
      const match = COMPARATOR.exec(word);
      if (match === null || word === '*') throw new VersionRangeInvalidError(trimmed, `"${word}" is not a comparator (<, <=, >, >=, =, != followed by a version)`);
      const op = (match[1] === '==' ? '=' : (match[1] ?? '=')) as Operator;
      return { op, version: match[2]! };
    });
  });
  return { text: trimmed, sets };
}

function holds({ op, version: bound }: VersionComparator, version: string): boolean {
  const c = compareVersions(version, bound);
  switch (op) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
    case '=':
      return c === 0;
    case '!=':
      return c !== 0;
  }
}

/**
 * Whether `version` lies in `range` (a parsed range or its text). An empty version (a
 * store path whose name carries none) lies only in `*`: a bound says nothing about it.
 */
export function versionInRange(version: string, range: VersionRange | string): boolean {
  const parsed = typeof range === 'string' ? parseVersionRange(range) : range;
  if (parsed.sets.some((set) => set.length === 0)) return true;
  if (version === '') return false;
  return parsed.sets.some((set) => set.every((comparator) => holds(comparator, version)));
}
