// The SBOM policy: rules read from a ConfigMap (YAML or JSON), each denying the
// environments whose closure holds a matching component:
//
//   rules:
//     - name: openssl-cve-2024-5535        # shown in the denial
//       package: openssl                   # a package name (the SBOM's component name)
//       versions: ">=3.0 <3.0.14"          # optional Nix version range (@flox-k8s/sbom)
//       message: upgrade to 3.0.14          # optional, appended to the denial
//     - storePath: /nix/store/…-xz-5.6.0   # one exact store path
//     - license: AGPL-3.0-only OR SSPL-1.0 # an SPDX expression over the declared licences
import { formatIssues } from '@flox-k8s/core';
import { packageMatcher, type PackageMatcher } from '@flox-k8s/sbom';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PolicyInvalidError } from './errors.ts';
import { declaredLicenses, licenseCondition, type LicenseCondition } from './license-rule.ts';

const ruleSchema = z
  .strictObject({
    name: z.string().min(1).max(128).optional(),
    package: z.string().min(1).max(211).optional(),
    versions: z.string().min(1).max(1024).optional(),
    storePath: z.string().min(1).max(512).optional(),
    license: z.string().min(1).max(1024).optional(),
    message: z.string().min(1).max(1024).optional(),
  })
  .refine((r) => [r.package, r.storePath, r.license].filter((x) => x !== undefined).length === 1, 'a rule names exactly one of package, storePath, license')
  .refine((r) => r.versions === undefined || r.package !== undefined, 'versions needs package');

const policySchema = z.strictObject({ rules: z.array(ruleSchema).max(10_000).default([]) });

/** A component as the policy sees it (from a computed SBOM or a published CycloneDX one). */
export interface PolicyComponent {
  storePath: string;
  name: string;
  version: string;
  licenses: ReadonlyArray<{ kind: 'spdx'; id: string } | { kind: 'name'; name: string }>;
}

interface CompiledRule {
  name: string;
  /** How the rule reads in a denial: `openssl >=3.0 <3.0.14`, `license AGPL-3.0-only`. */
  text: string;
  message: string | undefined;
  matches(component: PolicyComponent): boolean;
}

/** A rule a component broke. */
export interface Violation {
  rule: string;
  ruleText: string;
  message: string | undefined;
  component: PolicyComponent;
}

export interface Policy {
  readonly rules: number;
  /** The first violation in rule order (then store path order), or undefined. */
  check(components: readonly PolicyComponent[]): Violation | undefined;
}

function compile(rule: z.output<typeof ruleSchema>, index: number, source: string): CompiledRule {
  const name = rule.name ?? `rules[${index}]`;
  try {
    if (rule.license !== undefined) {
      const condition: LicenseCondition = licenseCondition(rule.license);
      return { name, text: `license ${rule.license}`, message: rule.message, matches: (c) => condition(declaredLicenses(c.licenses)) };
    }
    const matcher: PackageMatcher = rule.storePath !== undefined ? packageMatcher({ storePath: rule.storePath }) : packageMatcher({ name: rule.package!, versions: rule.versions });
    return { name, text: matcher.text, message: rule.message, matches: (c) => matcher.matches(c) };
  } catch (cause) {
    throw new PolicyInvalidError(`${source}: rule ${JSON.stringify(name)}: ${(cause as Error).message}`, { cause });
  }
}

/** Parse a policy document (YAML or JSON text); throws `FLOXK8S_ADMISSION_POLICY_INVALID` naming the bad rule. */
export function parsePolicy(text: string, source = 'policy'): Policy {
  let document: unknown;
  try {
    document = parseYaml(text, { maxAliasCount: 100 }) ?? {};
  } catch (cause) {
    throw new PolicyInvalidError(`${source}: not YAML or JSON: ${(cause as Error).message}`, { cause });
  }
  const parsed = policySchema.safeParse(document);
  if (!parsed.success) throw new PolicyInvalidError(`${source}: ${formatIssues(parsed.error)}`);
  const rules = parsed.data.rules.map((rule, i) => compile(rule, i, source));
  return {
    rules: rules.length,
    check(components) {
      const sorted = [...components].sort((a, b) => (a.storePath < b.storePath ? -1 : a.storePath > b.storePath ? 1 : 0));
      for (const rule of rules) {
        const component = sorted.find((c) => rule.matches(c));
        if (component !== undefined) return { rule: rule.name, ruleText: rule.text, message: rule.message, component };
      }
      return undefined;
    },
  };
}

/** The empty policy: no SBOM rules. */
export const NO_POLICY: Policy = { rules: 0, check: () => undefined };
