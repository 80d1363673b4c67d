// The shipped ValidatingAdmissionPolicy (deploy/), evaluated as the API server would
// (test/vap.ts) with a real CEL implementation, on good and bad objects of every kind.
import { parseEnvironmentRef } from '@flox-k8s/lockfile';
import { describe, expect, test } from 'vitest';
import { DIGEST, ENFORCED, request, workload, type PodShape, type WorkloadKind } from './objects.ts';
import { loadManifests, PolicyEvaluator, type AdmissionOutcome } from './vap.ts';

const manifests = loadManifests(new URL('../deploy/', import.meta.url));
const policy = new PolicyEvaluator(manifests);
const KINDS: WorkloadKind[] = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob'];
const flox = (env: string | undefined, extra: Partial<PodShape> = {}): PodShape => ({ env, runtimeClassName: 'flox', ...extra });
const admit = (kind: WorkloadKind, shape: PodShape): AdmissionOutcome => policy.admit(request(kind, workload(kind, shape)));

function denial(outcome: AdmissionOutcome): string {
  if (outcome.result !== 'denied') throw new Error(`expected a denial, got ${outcome.result}`);
  return outcome.message;
}

describe('the shipped manifests', () => {
  test('the kustomization holds the policy and a Deny binding on opted-in namespaces', () => {
    expect(manifests.policy.metadata.name).toBe('flox-pinned-environments');
    expect(manifests.policy.spec.failurePolicy).toBe('Fail');
    expect(manifests.binding.spec.validationActions).toEqual(['Deny']);
    expect(manifests.binding.spec.matchResources?.namespaceSelector).toEqual({ matchLabels: { 'flox.dev/enforce-pinned': 'true' } });
  });
});

describe.each(KINDS)('%s', (kind) => {
  test('pinned by generation: allowed', () => {
    expect(admit(kind, flox('acme/echoserver:12'))).toEqual({ result: 'allowed' });
  });

  test('pinned by lockfile digest: allowed', () => {
    expect(admit(kind, flox(`acme/echoserver@sha256:${DIGEST}`))).toEqual({ result: 'allowed' });
  });

  test('a live reference: denied, naming the reference and how to pin it', () => {
    expect(denial(admit(kind, flox('acme/echoserver')))).toMatch(
      /denied request: flox.dev\/environment "acme\/echoserver" is a live reference .*\(acme\/echoserver:N\).*\(acme\/echoserver@sha256:<64 hex>\)$/,
    );
  });

  test('runtimeClassName flox without the annotation: denied, naming where it goes', () => {
    const where = kind === 'Pod' ? 'metadata.annotations' : kind === 'CronJob' ? 'spec.jobTemplate.spec.template.metadata.annotations' : 'spec.template.metadata.annotations';
    expect(denial(admit(kind, flox(undefined)))).toMatch(new RegExp(`runtimeClassName: flox needs the annotation flox.dev/environment .* in ${where.replaceAll('.', '\\.')}$`));
  });

  test('the annotation without the flox runtime class: denied (it would run the stub image)', () => {
    expect(denial(admit(kind, { env: 'acme/echoserver:12' }))).toMatch(/needs runtimeClassName: flox .*empty stub image/);
  });

  test('neither flox nor the annotation: not this policy\'s business', () => {
    expect(admit(kind, { runtimeClassName: 'gvisor' })).toEqual({ result: 'skipped' });
  });
});

describe('reference grammar', () => {
  test.each([
    ['generation 0', 'acme/echo:0'],
    ['a leading zero', 'acme/echo:012'],
    ['a 16-digit generation', 'acme/echo:1234567890123456'],
    ['an uppercase digest', `acme/echo@sha256:${DIGEST.toUpperCase()}`],
    ['a 63-digit digest', `acme/echo@sha256:${DIGEST.slice(1)}`],
    ['another algorithm', `acme/echo@sha512:${DIGEST}`],
    ['both a generation and a digest', `acme/echo:3@sha256:${DIGEST}`],
    ['a parent directory', '../etc:1'],
    ['".." inside the name', 'acme/a..b:1'],
    ['a dot in the owner', 'ac.me/echo:1'],
    ['a name starting with "-"', 'acme/-echo:1'],
    ['three parts', 'acme/team/echo:1'],
    ['a URL', 'https://hub.example/acme/echo:1'],
    ['whitespace', 'acme/echo :1'],
    ['an empty value', ''],
    ['over 256 characters', `${'o'.repeat(64)}/${'n'.repeat(128)}@sha256:${DIGEST}`],
  ])('%s is not a reference: denied, naming the value', (_, ref) => {
    const message = denial(admit('Pod', flox(ref)));
    expect(message).toContain('is not an environment reference: expected owner/name:N or owner/name@sha256:<64 lowercase hex>');
    expect(message).toContain(ref.length <= 200 ? `"${ref}"` : `a value of ${ref.length} characters`);
  });

  test('a value with a line break: the messageExpression would break the line, so the static message is used', () => {
    expect(denial(admit('Pod', flox('acme/echo:1\n')))).toMatch(/denied request: flox.dev\/environment is not an environment reference: expected/);
  });

  test('the longest references the grammar allows are accepted', () => {
    expect(admit('Pod', flox(`${'o'.repeat(64)}/${'n'.repeat(128)}:123456789012345`))).toEqual({ result: 'allowed' });
    expect(admit('Pod', flox(`${'o'.repeat(64)}/${'n'.repeat(119)}@sha256:${DIGEST}`))).toEqual({ result: 'allowed' });
  });

  test('the policy accepts exactly what parseEnvironmentRef pins, on hundreds of near-miss references', () => {
    const candidates = nearMisses();
    expect(candidates.length).toBeGreaterThan(1000);
    let pinned = 0;
    for (const ref of candidates) {
      const parsed = tryParse(ref);
      const outcome = admit('Pod', flox(ref));
      expect([ref, outcome.result]).toEqual([ref, parsed !== undefined && parsed !== 'live' ? 'allowed' : 'denied']);
      if (outcome.result === 'denied' && parsed === 'live') expect(outcome.message, ref).toContain('is a live reference');
      if (outcome.result === 'allowed') pinned++;
    }
    expect(pinned).toBeGreaterThan(50);
  });
});

describe('where the annotation sits', () => {
  test.each(['Deployment', 'StatefulSet', 'Job', 'CronJob'] as const)('%s: on the workload\'s own metadata only → denied, pointing at the template', (kind) => {
    const message = denial(admit(kind, { runtimeClassName: 'flox', workloadEnv: 'acme/echoserver:12' }));
    expect(message).toContain(`flox.dev/environment is on the ${kind}'s own metadata, which its pods do not inherit; put it in `);
  });

  test('on both the workload and its template: allowed', () => {
    expect(admit('Deployment', flox('acme/echoserver:12', { workloadEnv: 'acme/echoserver:12' }))).toEqual({ result: 'allowed' });
  });

  test('a template without metadata at all, flox runtime: denied as missing', () => {
    expect(denial(admit('Deployment', flox(undefined, { annotations: null })))).toContain('runtimeClassName: flox needs the annotation');
  });

  test('other annotations do not count', () => {
    expect(denial(admit('Pod', flox(undefined, { annotations: { 'flox.dev/skip-containers': 'sidecar' } })))).toContain('needs the annotation');
  });
});

test('the denial of a live reference, word for word (as the README shows it)', () => {
  expect(denial(admit('Pod', flox('acme/echoserver')))).toBe(
    "ValidatingAdmissionPolicy 'flox-pinned-environments' with binding 'flox-pinned-environments' denied request: " +
      'flox.dev/environment "acme/echoserver" is a live reference that can change under the pod: ' +
      'pin it to a generation (acme/echoserver:N) or a lockfile digest (acme/echoserver@sha256:<64 hex>)',
  );
});

describe('matching', () => {
  test('namespaces that have not opted in are not matched, whatever the object', () => {
    const live = workload('Pod', flox('acme/echoserver'));
    expect(policy.admit(request('Pod', live, { namespace: { name: 'default' } }))).toEqual({ result: 'not-matched' });
    expect(policy.admit(request('Pod', live, { namespace: { name: 'x', labels: { 'flox.dev/enforce-pinned': 'false' } } }))).toEqual({ result: 'not-matched' });
  });

  test('UPDATE is checked too: re-annotating a running pod with a live reference is denied', () => {
    const before = workload('Pod', flox('acme/echoserver:12'));
    const after = workload('Pod', flox('acme/echoserver'));
    expect(denial(policy.admit(request('Pod', after, { operation: 'UPDATE', oldObject: before })))).toContain('is a live reference');
  });

  test('DELETE and other resources are not matched', () => {
    expect(policy.admit(request('Pod', workload('Pod', flox('acme/echoserver')), { operation: 'DELETE' }))).toEqual({ result: 'not-matched' });
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', annotations: { 'flox.dev/environment': 'x' } }, spec: {} };
    expect(policy.admit({ operation: 'CREATE', resource: { group: '', version: 'v1', resource: 'services' }, namespace: ENFORCED, object: service })).toEqual({ result: 'not-matched' });
  });
});

function tryParse(ref: string): 'live' | 'generation' | 'digest' | undefined {
  try {
    return parseEnvironmentRef(ref).kind;
  } catch {
    return undefined;
  }
}

// Valid references and one-character mutations of them at every position, plus length edges.
function nearMisses(): string[] {
  const bases = ['acme/echoserver', 'acme/echoserver:12', `acme/echoserver@sha256:${DIGEST}`, 'A-b_9/_x.y-z:1', 'a/b'];
  const replacements = ['', '/', ':', '@', '.', '..', '-', '_', 'A', 'z', '0', '9', ' ', 'é', '\\', '%', '?', '#', '\t'];
  const out = new Set<string>(bases);
  for (const base of bases) {
    for (let i = 0; i <= base.length; i++) {
      for (const r of replacements) {
        out.add(base.slice(0, i) + r + base.slice(i + 1));
        out.add(base.slice(0, i) + r + base.slice(i));
      }
    }
  }
  for (const [owner, name] of [[63, 127], [64, 128], [65, 128], [64, 129], [1, 1]] as const) {
    for (const pin of ['', ':1', ':999999999999999', ':1000000000000000', `@sha256:${DIGEST}`]) out.add(`${'o'.repeat(owner)}/${'n'.repeat(name)}${pin}`);
  }
  return [...out];
}
