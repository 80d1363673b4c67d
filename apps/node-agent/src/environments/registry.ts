// What the agent remembers about the environments realised on its node, for
// `GET /environments` and the SBOM endpoint: each lockfile's bytes (by digest), how
// pods and the pre-warm list named it, and which pods use it now.
//
// On disk under `<stateDir>/environments/`: `<digest>.lock` (the lockfile bytes; the
// name is their sha256, checked on load), `<digest>.json` (references, generation,
// system, installed paths, last use) and `pods.json` (the pods using environments).
// Every file is written whole (temp + fsync + rename), so a crash leaves the old or the
// new version; a file that fails its checks on load is removed, not trusted. Bounded:
// at most `maxEnvironments` records and `maxLockfileBytes` of lockfiles (least recently
// used first out, never one a pod uses), at most `maxPods` pods.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { TEMP_SUFFIX, writeFileAtomic } from './atomic-file.ts';

export interface RegistryLimits {
  maxEnvironments: number;
  maxLockfileBytes: number;
  maxPods: number;
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = { maxEnvironments: 512, maxLockfileBytes: 256 * 1024 * 1024, maxPods: 5_000 };

const digestSchema = z.string().regex(/^[0-9a-f]{64}$/);
const recordSchema = z.strictObject({
  version: z.literal(1),
  digest: digestSchema,
  system: z.string().min(1).max(64),
  references: z.array(z.string().min(1).max(512)).min(1).max(1000),
  generation: z.number().int().positive().optional(),
  storePaths: z.array(z.string().startsWith('/nix/store/').max(512)).max(100_000),
  lockfileBytes: z.number().int().nonnegative(),
  lastUsed: z.number().int().nonnegative(),
});
const podSchema = z.strictObject({
  uid: z.string().min(1).max(64),
  namespace: z.string().min(1).max(253),
  name: z.string().min(1).max(253),
  reference: z.string().min(1).max(512),
  digest: digestSchema,
});
const podsFileSchema = z.strictObject({ version: z.literal(1), pods: z.array(podSchema) });

/** One environment the agent realised. */
export type EnvironmentRecord = z.output<typeof recordSchema>;
/** A pod using an environment. */
export type PodRecord = z.output<typeof podSchema>;

/** What the prefetcher knows once an environment is realised for a pod or the pre-warm list. */
export interface RealisedEnvironment {
  digest: string;
  reference: string;
  generation: number | undefined;
  system: string;
  storePaths: string[];
  lockfile: Uint8Array;
}

/** What loading found wrong and removed (for a log line). */
export interface RegistryRecovery {
  removed: string[];
}

export class EnvironmentRegistry {
  readonly #dir: string;
  readonly #limits: RegistryLimits;
  readonly #records = new Map<string, EnvironmentRecord>();
  readonly #pods = new Map<string, PodRecord>();
  readonly #now: () => number;
  readonly recovery: RegistryRecovery;

  private constructor(dir: string, limits: RegistryLimits, now: () => number) {
    this.#dir = dir;
    this.#limits = limits;
    this.#now = now;
    this.recovery = { removed: [] };
  }

  /** Load (and check) what an earlier run left in `dir`, creating it if needed. */
  static open(dir: string, limits: Partial<RegistryLimits> = {}, now: () => number = Date.now): EnvironmentRegistry {
    const registry = new EnvironmentRegistry(dir, { ...DEFAULT_REGISTRY_LIMITS, ...limits }, now);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    registry.#load();
    return registry;
  }

  #load(): void {
    const remove = (file: string): void => {
      rmSync(join(this.#dir, file), { force: true });
      this.recovery.removed.push(file);
    };
    const files = readdirSync(this.#dir);
    for (const file of files.filter((f) => f.endsWith(TEMP_SUFFIX))) remove(file);
    for (const file of files.filter((f) => f.endsWith('.json') && f !== 'pods.json')) {
      const record = recordSchema.safeParse(readJson(join(this.#dir, file)));
      const digest = file.slice(0, -'.json'.length);
      const lock = record.success && record.data.digest === digest ? readBytes(join(this.#dir, `${digest}.lock`)) : undefined;
      if (!record.success || lock === undefined || sha256(lock) !== digest || lock.length !== record.data.lockfileBytes) {
        remove(file);
        continue;
      }
      this.#records.set(digest, record.data);
    }
    for (const file of files.filter((f) => f.endsWith('.lock'))) if (!this.#records.has(file.slice(0, -'.lock'.length))) remove(file);
    const pods = podsFileSchema.safeParse(readJson(join(this.#dir, 'pods.json')));
    if (pods.success) {
      for (const pod of pods.data.pods) if (this.#records.has(pod.digest)) this.#pods.set(pod.uid, pod);
    } else if (files.includes('pods.json')) remove('pods.json');
  }

  /** Remember a realised environment (and, for a pod, that the pod uses it). */
  recordRealised(env: RealisedEnvironment, pod?: { uid: string; namespace: string; name: string }): void {
    const existing = this.#records.get(env.digest);
    // The lock first: a record on disk always has its lockfile beside it.
    if (existing === undefined) writeFileAtomic(join(this.#dir, `${env.digest}.lock`), env.lockfile);
    const generation = env.generation ?? existing?.generation;
    const record: EnvironmentRecord = {
      version: 1,
      digest: env.digest,
      system: env.system,
      references: [...new Set([...(existing?.references ?? []), env.reference])].sort().slice(0, 1000),
      ...(generation === undefined ? {} : { generation }),
      storePaths: [...env.storePaths].sort(),
      lockfileBytes: env.lockfile.length,
      lastUsed: this.#now(),
    };
    writeFileAtomic(join(this.#dir, `${env.digest}.json`), `${JSON.stringify(record)}\n`);
    this.#records.set(env.digest, record);
    if (pod !== undefined) {
      const known = this.#pods.get(pod.uid);
      // The digest a pod was first seen with stays: a live reference re-resolved after a
      // restart may name a newer lockfile than the one the pod's containers run.
      if (known === undefined || known.reference !== env.reference) this.#setPod({ uid: pod.uid, namespace: pod.namespace, name: pod.name, reference: env.reference, digest: env.digest });
    }
    this.#evict();
  }

  /** The pod is gone from the node. */
  podGone(uid: string): void {
    if (this.#pods.delete(uid)) this.#savePods();
  }

  /** Forget pods not in `uids` (after the first pod list: pods deleted while the agent was down). */
  retainPods(uids: Iterable<string>): void {
    const keep = new Set(uids);
    let changed = false;
    for (const uid of [...this.#pods.keys()]) if (!keep.has(uid)) changed = this.#pods.delete(uid) || changed;
    if (changed) this.#savePods();
  }

  /** Every record, most recently used first. */
  records(): EnvironmentRecord[] {
    return [...this.#records.values()].sort((a, b) => b.lastUsed - a.lastUsed || (a.digest < b.digest ? -1 : 1));
  }

  record(digest: string): EnvironmentRecord | undefined {
    return this.#records.get(digest);
  }

  /** The pods using `digest`, sorted by namespace/name. */
  podsUsing(digest: string): PodRecord[] {
    return [...this.#pods.values()].filter((p) => p.digest === digest).sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
  }

  /** The lockfile bytes of `digest`, checked against the digest; undefined when unknown or damaged. */
  lockfile(digest: string): Uint8Array | undefined {
    if (!this.#records.has(digest)) return undefined;
    const bytes = readBytes(join(this.#dir, `${digest}.lock`));
    return bytes !== undefined && sha256(bytes) === digest ? bytes : undefined;
  }

  #setPod(pod: PodRecord): void {
    this.#pods.delete(pod.uid);
    this.#pods.set(pod.uid, pod);
    // Bounded: the oldest entries go first (a node runs far fewer pods than the bound).
    while (this.#pods.size > this.#limits.maxPods) this.#pods.delete(this.#pods.keys().next().value!);
    this.#savePods();
  }

  #savePods(): void {
    writeFileAtomic(join(this.#dir, 'pods.json'), `${JSON.stringify({ version: 1, pods: [...this.#pods.values()] })}\n`);
  }

  #evict(): void {
    const used = new Set([...this.#pods.values()].map((p) => p.digest));
    let bytes = [...this.#records.values()].reduce((sum, r) => sum + r.lockfileBytes, 0);
    for (const record of this.records().reverse()) {
      if (this.#records.size <= this.#limits.maxEnvironments && bytes <= this.#limits.maxLockfileBytes) break;
      if (used.has(record.digest)) continue;
      this.#records.delete(record.digest);
      bytes -= record.lockfileBytes;
      // Record first: a crash in between leaves a lock without a record, removed on load.
      rmSync(join(this.#dir, `${record.digest}.json`), { force: true });
      rmSync(join(this.#dir, `${record.digest}.lock`), { force: true });
    }
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function readBytes(path: string): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    return undefined;
  }
}

function readJson(path: string): unknown {
  const bytes = readBytes(path);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
