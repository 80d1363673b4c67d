// "Deny by licence expression": an SPDX expression (parsed by spdx-expression-parse, the
// parser npm uses) read as a condition on the set of licences a component declares.
// A licence id holds when the component declares it (ids compare case-insensitively, as
// SPDX says; `GPL-2.0+` also holds for `GPL-2.0-or-later`, `X WITH E` only for that exact
// pair); `A OR B` holds when either does, `A AND B` when both do. So
// `AGPL-3.0-only OR AGPL-3.0-or-later` denies any component under either, and
// `GPL-2.0-only AND MIT` only one under both. A component's licences come from the
// lockfile (nixpkgs `meta.license`), all of which apply at once: the reading that
// never understates obligations, as in the SBOM's `licenseDeclared`.
import parseSpdx from 'spdx-expression-parse';

type Node = parseSpdx.Info;

/** A compiled licence condition. */
export type LicenseCondition = (declared: ReadonlySet<string>) => boolean;

/** Parse `expression`; throws the parser's error for a bad one. */
export function licenseCondition(expression: string): LicenseCondition {
  const tree = parseSpdx(expression);
  const holds = (node: Node, declared: ReadonlySet<string>): boolean => {
    if ('conjunction' in node) return node.conjunction === 'and' ? holds(node.left, declared) && holds(node.right, declared) : holds(node.left, declared) || holds(node.right, declared);
    const id = node.license.toLowerCase();
    if (node.exception !== undefined) return declared.has(`${id} with ${node.exception.toLowerCase()}`);
    if (node.plus === true) return declared.has(id) || declared.has(`${id}+`) || declared.has(`${id.replace(/-only$/, '')}-or-later`);
    return declared.has(id);
  };
  return (declared) => holds(tree, declared);
}

/** The lower-cased licence ids (and names) a component declares, as a condition reads them. */
export function declaredLicenses(licenses: ReadonlyArray<{ kind: 'spdx'; id: string } | { kind: 'name'; name: string }>): Set<string> {
  return new Set(licenses.map((l) => (l.kind === 'spdx' ? l.id : l.name).toLowerCase()));
}
