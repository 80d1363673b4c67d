import { describe, expect, it } from 'vitest';
import { licenseCondition } from './license-rule.ts';
import { parsePolicy, type PolicyComponent } from './policy.ts';

const component = (name: string, version: string, licenses: string[] = [], hash = 'a'): PolicyComponent => ({
  storePath: `/nix/store/${hash.repeat(32)}-${name}-${version}`,
  name,
  version,
  licenses: licenses.map((l) => (/^[A-Z]/.test(l) && !l.includes(' ') ? { kind: 'spdx' as const, id: l } : { kind: 'name' as const, name: l })),
});

describe('licence conditions', () => {
  const declared = (...ids: string[]) => new Set(ids.map((i) => i.toLowerCase()));
  it('reads OR as either and AND as both, ids case-insensitively', () => {
    expect(licenseCondition('AGPL-3.0-only OR SSPL-1.0')(declared('MIT', 'SSPL-1.0'))).toBe(true);
    expect(licenseCondition('AGPL-3.0-only OR SSPL-1.0')(declared('MIT'))).toBe(false);
    expect(licenseCondition('GPL-2.0-only AND MIT')(declared('mit'))).toBe(false);
    expect(licenseCondition('GPL-2.0-only AND MIT')(declared('GPL-2.0-only', 'MIT'))).toBe(true);
    expect(licenseCondition('(MIT OR ISC) AND Apache-2.0')(declared('ISC', 'Apache-2.0'))).toBe(true);
  });

  it('reads "+" as that version or later, and WITH as the exact pair', () => {
    expect(licenseCondition('GPL-2.0+')(declared('GPL-2.0-or-later'))).toBe(true);
    expect(licenseCondition('GPL-2.0-only+')(declared('GPL-2.0-or-later'))).toBe(true);
    expect(licenseCondition('GPL-2.0-only WITH Classpath-exception-2.0')(declared('GPL-2.0-only'))).toBe(false);
  });

  it('refuses what is not an SPDX expression', () => {
    expect(() => licenseCondition('MIT OR')).toThrow();
    expect(() => licenseCondition('not a licence')).toThrow();
  });
});

describe('parsePolicy', () => {
  it('reads YAML and JSON rules and reports the first violation in rule order', () => {
    const policy = parsePolicy(`
rules:
  - name: old-openssl
    package: openssl
    versions: ">=3.0 <3.0.14"
  - license: SSPL-1.0
  - storePath: /nix/store/${'b'.repeat(32)}-xz-5.6.0
`);
    expect(policy.rules).toBe(3);
    const xz = component('xz', '5.6.0', ['0BSD'], 'b');
    expect(policy.check([component('openssl', '3.0.14', ['Apache-2.0']), xz])).toMatchObject({ rule: 'rules[2]', ruleText: xz.storePath, component: xz });
    expect(policy.check([xz, component('openssl', '3.0.13', ['Apache-2.0'])])).toMatchObject({ rule: 'old-openssl', ruleText: 'openssl >=3.0 <3.0.14', component: { version: '3.0.13' } });
    expect(policy.check([component('mongo', '7', ['SSPL-1.0'])])).toMatchObject({ rule: 'rules[1]', ruleText: 'license SSPL-1.0' });
    expect(policy.check([component('openssl', '3.1.0')])).toBeUndefined();
    expect(parsePolicy('{"rules": []}').rules).toBe(0);
    expect(parsePolicy('').rules).toBe(0);
  });

  it.each([
    ['not YAML', 'rules: [\n'],
    ['an unknown field', 'rules:\n  - package: a\n    version: "1"\n'],
    ['two selectors', 'rules:\n  - package: a\n    license: MIT\n'],
    ['no selector', 'rules:\n  - name: x\n'],
    ['versions without package', 'rules:\n  - storePath: /nix/store/x\n    versions: "<1"\n'],
    ['a bad range', 'rules:\n  - package: a\n    versions: "^1"\n'],
    ['a bad store path', 'rules:\n  - storePath: /etc/passwd\n'],
    ['a bad licence expression', 'rules:\n  - license: MIT AND\n'],
    ['a top-level list', '- package: a\n'],
  ])('refuses %s with a code naming the rule', (_what, text) => {
    expect(() => parsePolicy(text, 'policy.yaml')).toThrow(expect.objectContaining({ code: 'FLOXK8S_ADMISSION_POLICY_INVALID', message: expect.stringMatching(/^policy\.yaml: /) }));
  });
});
