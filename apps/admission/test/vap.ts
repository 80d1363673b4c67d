// A test harness that evaluates a ValidatingAdmissionPolicy and its binding the way the
// Kubernetes API server does (k8s.io/apiserver plugin/policy/validating), with a real CEL
// implementation (@bufbuild/cel, whose matches() is RE2), on the YAML we ship:
//
// - matching: the policy's matchConstraints.resourceRules (group, version, resource,
//   operation; "*" allowed) and namespaceSelector, and the binding's matchResources;
// - `object`, `oldObject`, `request`, `namespaceObject`, `params` (null) as dyn values:
//   JSON objects become CEL maps and integers int64, as for unstructured objects;
// - `variables.<name>`: evaluated lazily, each at most once per request, in the scope of the
//   variables before it;
// - matchConditions: any false skips the policy; otherwise any error fails it (failurePolicy);
// - validations: an error is a failure under failurePolicy Fail; false denies with the
//   messageExpression's result when it is a non-blank string of at most 5120 bytes without a
//   line break, else `message`, else "failed expression: <expression>";
// - the first denial is the request's error message.
//
// Not emulated: CEL cost budgets, type checking against the OpenAPI schema (a warning in the
// policy's status only), authorizer, paramKind. The shipped policy uses none of them.
import { readFileSync } from 'node:fs';
import { celEnv, isCelError, parse, plan, type CelInput, type CelResult } from '@bufbuild/cel';
import { parseAllDocuments } from 'yaml';

export interface Manifests {
  policy: Policy;
  binding: Binding;
}

interface Rule {
  apiGroups: string[];
  apiVersions: string[];
  operations: string[];
  resources: string[];
}
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}
interface MatchResources {
  resourceRules?: Rule[];
  namespaceSelector?: LabelSelector;
}
export interface Policy {
  kind: 'ValidatingAdmissionPolicy';
  metadata: { name: string };
  spec: {
    failurePolicy?: 'Fail' | 'Ignore';
    matchConstraints: MatchResources;
    variables?: Array<{ name: string; expression: string }>;
    matchConditions?: Array<{ name: string; expression: string }>;
    validations: Array<{ expression: string; message?: string; messageExpression?: string; reason?: string }>;
  };
}
export interface Binding {
  kind: 'ValidatingAdmissionPolicyBinding';
  metadata: { name: string };
  spec: { policyName: string; validationActions: string[]; matchResources?: MatchResources };
}

/** Read a kustomization directory's resources and pick out the policy and its binding. */
export function loadManifests(dir: URL): Manifests {
  const kustomization = parseAllDocuments(readFileSync(new URL('kustomization.yaml', dir), 'utf8'))[0]?.toJS() as { resources: string[] };
  const objects = kustomization.resources.flatMap((file) =>
    parseAllDocuments(readFileSync(new URL(file, dir), 'utf8')).map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      return doc.toJS() as { kind: string };
    }),
  );
  const policies = objects.filter((o): o is Policy => o.kind === 'ValidatingAdmissionPolicy');
  const bindings = objects.filter((o): o is Binding => o.kind === 'ValidatingAdmissionPolicyBinding');
  if (policies.length !== 1 || bindings.length !== 1) throw new Error(`expected one policy and one binding, found ${policies.length} and ${bindings.length}`);
  if (bindings[0]!.spec.policyName !== policies[0]!.metadata.name) throw new Error('the binding names another policy');
  return { policy: policies[0]!, binding: bindings[0]! };
}

/** One admission request, as the API server sees it. */
export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  resource: { group: string; version: string; resource: string };
  namespace: { name: string; labels?: Record<string, string> };
  object: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
}

export type AdmissionOutcome =
  | { result: 'not-matched' | 'skipped' | 'allowed' }
  | { result: 'denied'; message: string; messages: string[]; reason: string };

type Program = (bindings: Record<string, CelInput>) => CelResult;

const MAX_MESSAGE_BYTES = 5 * 1024;

/** A compiled policy + binding; throws when any expression does not parse (the API server would refuse the policy). */
export class PolicyEvaluator {
  readonly #m: Manifests;
  readonly #variables: Array<{ name: string; program: Program }>;
  readonly #matchConditions: Array<{ name: string; program: Program }>;
  readonly #validations: Array<{ expression: string; program: Program; message?: string; messageProgram?: Program; reason: string }>;

  constructor(manifests: Manifests) {
    this.#m = manifests;
    const env = celEnv();
    const compile = (expression: string): Program => {
      const planned = plan(env, parse(expression));
      return (bindings) => planned(bindings);
    };
    const spec = manifests.policy.spec;
    this.#variables = (spec.variables ?? []).map((v) => ({ name: v.name, program: compile(v.expression) }));
    this.#matchConditions = (spec.matchConditions ?? []).map((c) => ({ name: c.name, program: compile(c.expression) }));
    this.#validations = spec.validations.map((v) => ({
      expression: v.expression,
      program: compile(v.expression),
      ...(v.message === undefined ? {} : { message: v.message }),
      ...(v.messageExpression === undefined ? {} : { messageProgram: compile(v.messageExpression) }),
      reason: v.reason ?? 'Invalid',
    }));
  }

  admit(attrs: AdmissionAttributes): AdmissionOutcome {
    const { policy, binding } = this.#m;
    if (!matches(policy.spec.matchConstraints, attrs) || !matches(binding.spec.matchResources ?? {}, attrs)) return { result: 'not-matched' };
    const bindings = this.#bindings(attrs);
    const fail = policy.spec.failurePolicy !== 'Ignore';

    let conditionError: string | undefined;
    for (const c of this.#matchConditions) {
      const r = c.program(bindings);
      if (isCelError(r) || typeof r !== 'boolean') conditionError ??= `matchCondition '${c.name}': ${describe(r)}`;
      else if (!r) return { result: 'skipped' };
    }
    if (conditionError !== undefined) return fail ? this.#deny([conditionError], 'InternalError') : { result: 'skipped' };

    const messages: string[] = [];
    let reason = '';
    for (const v of this.#validations) {
      const r = v.program(bindings);
      if (isCelError(r) || typeof r !== 'boolean') {
        if (fail) messages.push(`expression '${v.expression}' resulted in error: ${describe(r)}`);
        reason ||= 'InternalError';
        continue;
      }
      if (r) continue;
      messages.push(failureMessage(v, bindings));
      reason ||= v.reason;
    }
    return messages.length === 0 ? { result: 'allowed' } : this.#deny(messages, reason);
  }

  #deny(messages: string[], reason: string): AdmissionOutcome {
    const { policy, binding } = this.#m;
    const message = `ValidatingAdmissionPolicy '${policy.metadata.name}' with binding '${binding.metadata.name}' denied request: ${messages[0]}`;
    return { result: 'denied', message, messages, reason };
  }

  #bindings(attrs: AdmissionAttributes): Record<string, CelInput> {
    const request = {
      operation: attrs.operation,
      resource: attrs.resource,
      namespace: attrs.namespace.name,
      name: (attrs.object?.['metadata'] as { name?: string } | undefined)?.name ?? '',
      dryRun: false,
    };
    const base: Record<string, CelInput> = {
      object: toCel(attrs.object),
      oldObject: toCel(attrs.oldObject ?? null),
      request: toCel(request),
      namespaceObject: toCel({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: attrs.namespace.name, labels: attrs.namespace.labels ?? {} } }),
      params: null,
    };
    base['variables'] = new LazyVariables(this.#variables, base) as unknown as CelInput;
    return base;
  }
}

// `variables` as the API server provides it: each variable computed on first use, then cached.
class LazyVariables extends Map<string, unknown> {
  readonly #defs: Map<string, Program>;
  readonly #bindings: Record<string, CelInput>;
  readonly #done = new Map<string, CelResult>();

  constructor(defs: ReadonlyArray<{ name: string; program: Program }>, bindings: Record<string, CelInput>) {
    super();
    this.#defs = new Map(defs.map((d) => [d.name, d.program]));
    this.#bindings = bindings;
  }

  override has(key: string): boolean {
    return this.#defs.has(key);
  }

  override get(key: string): unknown {
    const program = this.#defs.get(key);
    if (program === undefined) return undefined;
    if (!this.#done.has(key)) this.#done.set(key, program({ ...this.#bindings, variables: this as unknown as CelInput }));
    const r = this.#done.get(key)!;
    if (isCelError(r)) throw new Error(`variable ${key}: ${r.message}`);
    return r;
  }
}

function failureMessage(v: { expression: string; message?: string; messageProgram?: Program }, bindings: Record<string, CelInput>): string {
  if (v.messageProgram !== undefined) {
    const r = v.messageProgram(bindings);
    if (typeof r === 'string' && r.trim() !== '' && Buffer.byteLength(r) <= MAX_MESSAGE_BYTES && !/[\r\n]/.test(r)) return r;
  }
  if (v.message !== undefined && v.message.trim() !== '') return v.message.trim();
  return `failed expression: ${v.expression.trim()}`;
}

function matches(m: MatchResources, attrs: AdmissionAttributes): boolean {
  const { group, version, resource } = attrs.resource;
  const any = (list: string[], value: string): boolean => list.includes('*') || list.includes(value);
  if (m.resourceRules !== undefined) {
    const hit = m.resourceRules.some(
      (r) => any(r.apiGroups, group) && any(r.apiVersions, version) && any(r.resources, resource) && any(r.operations, attrs.operation),
    );
    if (!hit) return false;
  }
  return m.namespaceSelector === undefined || selects(m.namespaceSelector, attrs.namespace.labels ?? {});
}

function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    const ok = e.operator === 'In' ? inValues : e.operator === 'NotIn' ? !inValues : e.operator === 'Exists' ? has : !has;
    if (!ok) return false;
  }
  return true;
}

// Unstructured JSON as CEL sees it: objects are maps, whole numbers int64.
function toCel(value: unknown): CelInput {
  if (Array.isArray(value)) return value.map(toCel);
  if (value !== null && typeof value === 'object') return new Map(Object.entries(value).map(([k, v]) => [k, toCel(v)]));
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return value as CelInput;
}

function describe(r: CelResult): string {
  return isCelError(r) ? r.message : `non-boolean result ${String(r)}`;
}
