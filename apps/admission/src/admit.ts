// The decision for one AdmissionReview. `mutate` resolves the pod's environment and, when
// configured, pins it to its lockfile digest (a JSONPatch); `validate` (which the API
// server calls after every mutation) checks that the environment exists, fits the
// cluster's systems and passes the SBOM policy. Anything that cannot be checked is denied
// with the reason: the webhook fails closed, as its failurePolicy does.
import { isFloxK8sError } from '@flox-k8s/core';
import { EnvironmentDigestMismatchError, EnvironmentNotFoundError, parseReference } from '@flox-k8s/environments';
import { formatEnvironmentRef, lockfileSystems, type EnvironmentRef } from '@flox-k8s/lockfile';
import type { EnvironmentLookup, FoundEnvironment } from './environment-lookup.ts';
import { codeOf, ReviewTimeoutError } from './errors.ts';
import type { Policy, Violation } from './policy.ts';
import { pointerToken, type AdmissionRequest, type Verdict } from './review.ts';
import type { SbomSource } from './sbom-source.ts';
import { ENVIRONMENT_ANNOTATION, kindKey, podTemplate, type PodTemplate } from './workload.ts';

export interface AdmitDeps {
  lookup: Pick<EnvironmentLookup, 'find'>;
  sboms: Pick<SbomSource, 'components'>;
  /** The policy in force (reloaded from its file). */
  policy(): Policy;
  systems: readonly string[];
  rewriteToDigest: boolean;
  reviewTimeoutMs: number;
}

const allow: Verdict = { allowed: true };
const deny = (message: string, code = 403): Verdict => ({ allowed: false, code, reason: code === 400 ? 'BadRequest' : 'Forbidden', message });

function shown(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

async function withinBudget<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ReviewTimeoutError(`${what} took longer than ${ms} ms; try again (the lookup goes on and is cached)`)), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Judge one request for `/validate` or `/mutate`. Never throws: every failure is a denial naming its code. */
export async function admit(deps: AdmitDeps, request: AdmissionRequest, mode: 'validate' | 'mutate'): Promise<Verdict> {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow;
  const kind = kindKey(request.kind);
  const object = request.object;
  if (object === undefined || object === null) return deny(`${request.operation} of ${kind} without request.object`, 400);
  const template = podTemplate(kind, object);
  if (template === undefined) return { allowed: true, warnings: [`flox-admission does not judge ${kind}; check the webhook's rules`] };
  const value = template.annotations?.[ENVIRONMENT_ANNOTATION];
  if (value === undefined) return allow;
  const where = `${ENVIRONMENT_ANNOTATION} in ${template.annotationsPath}`;
  if (typeof value !== 'string') return deny(`${where} must be a string`, 400);

  let ref: EnvironmentRef;
  try {
    ref = parseReference(value);
  } catch (error) {
    return deny(`${where} ${shown(value)} is not an environment reference (owner/name, owner/name:N or owner/name@sha256:<64 hex>): ${(error as Error).message}`, 400);
  }
  const started = Date.now();
  const remaining = (): number => Math.max(1, deps.reviewTimeoutMs - (Date.now() - started));
  let found: FoundEnvironment;
  try {
    found = await withinBudget(remaining(), `resolving ${shown(value)}`, deps.lookup.find(ref));
  } catch (error) {
    if (error instanceof EnvironmentNotFoundError) return deny(`${where} ${shown(value)} does not exist: ${error.message}`);
    if (error instanceof EnvironmentDigestMismatchError) return deny(`${where} ${shown(value)} is pinned to a lockfile no source serves: ${error.message}`);
    return deny(`${where} ${shown(value)} could not be checked (${codeOf(error)}): ${(error as Error).message}`);
  }
  const pinned = `${ref.owner}/${ref.name}@sha256:${found.fetched.digest}`;

  if (mode === 'mutate') {
    if (!deps.rewriteToDigest || ref.kind === 'digest') return allow;
    return { allowed: true, patch: [pinPatch(template, pinned)] };
  }

  const offered = new Set(lockfileSystems(found.lock));
  const systems = deps.systems.filter((s) => offered.has(s));
  if (systems.length === 0) {
    return deny(`${where} ${shown(value)} (${pinned}) has no packages for the cluster's systems (${deps.systems.join(', ')}); it has ${[...offered].join(', ') || 'none'}`);
  }
  const policy = deps.policy();
  if (policy.rules === 0) return allow;
  try {
    for (const system of systems) {
      const { components } = await withinBudget(remaining(), `making the SBOM of ${pinned}`, deps.sboms.components(found, system));
      const violation = policy.check(components);
      if (violation !== undefined) return deny(violationMessage(where, value, ref, found, system, violation));
    }
  } catch (error) {
    return deny(`${where} ${shown(value)} (${pinned}) could not be checked against the SBOM policy (${codeOf(error)}): ${isFloxK8sError(error) ? error.message : String(error)}`);
  }
  return allow;
}

function pinPatch(template: PodTemplate, pinned: string): { op: 'replace'; path: string; value: string } {
  return { op: 'replace', path: `${template.metadataPointer}/annotations/${pointerToken(ENVIRONMENT_ANNOTATION)}`, value: pinned };
}

function violationMessage(where: string, value: string, ref: EnvironmentRef, found: FoundEnvironment, system: string, v: Violation): string {
  const { component: c } = v;
  const generation = ref.kind === 'digest' ? `, generation ${found.fetched.generation}` : '';
  return (
    `${where} ${shown(value)} (${formatEnvironmentRef({ owner: ref.owner, name: ref.name, kind: 'digest', digest: found.fetched.digest })}${generation}) is denied by SBOM policy rule ${JSON.stringify(v.rule)}: ` +
    `package ${c.name}${c.version === '' ? '' : ` ${c.version}`} (${c.storePath}) matches ${v.ruleText} on ${system}` +
    (v.message === undefined ? '' : `: ${v.message}`)
  );
}
