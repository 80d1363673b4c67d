// The agent's answers about its environments, from the registry (lockfile bytes,
// references, pods) and the node store's records (NarHash, NarSize, References): no NAR
// and no cache is read. The format-neutral SBOM of each environment is kept per digest
// (immutable for a given lockfile and closure), as many as the registry keeps records.
import { existsSync } from 'node:fs';
import type { NodeEnvironment, NodeEnvironments, SbomFormat } from '@flox-k8s/agent-protocol';
import { parseEnvironmentRef, parseLockfile, type NixSystem } from '@flox-k8s/lockfile';
import { cycloneDxJson, environmentSbom, spdxJson, type EnvironmentSbom } from '@flox-k8s/sbom';
import type { PathInfo, Store } from '@flox-k8s/store';
import { EnvironmentNotRealisedError, EnvironmentUnknownError } from './errors.ts';
import type { EnvironmentRecord, EnvironmentRegistry } from './registry.ts';

export class EnvironmentViews {
  readonly #registry: EnvironmentRegistry;
  readonly #store: Pick<Store, 'pathInfo' | 'hostPath'>;
  readonly #node: string;
  readonly #system: string;
  readonly #sboms = new Map<string, EnvironmentSbom>();
  readonly #maxCached: number;
  readonly #onSkipped: (digest: string, error: unknown) => void;

  constructor(options: {
    registry: EnvironmentRegistry;
    store: Pick<Store, 'pathInfo' | 'hostPath'>;
    node: string;
    system: string;
    maxCached?: number;
    /** An environment left out of the listing because its SBOM could not be made (a damaged record). */
    onSkipped?: (digest: string, error: unknown) => void;
  }) {
    this.#onSkipped = options.onSkipped ?? (() => undefined);
    this.#registry = options.registry;
    this.#store = options.store;
    this.#node = options.node;
    this.#system = options.system;
    this.#maxCached = options.maxCached ?? 512;
  }

  /** `GET /environments`: every environment whose whole closure is in the store. */
  list(): NodeEnvironments {
    const environments: NodeEnvironment[] = [];
    for (const record of this.#registry.records()) {
      let sbom: EnvironmentSbom | undefined;
      try {
        sbom = this.#sbomOrUndefined(record);
      } catch (error) {
        // One bad record must not take the whole listing down.
        this.#onSkipped(record.digest, error);
        continue;
      }
      if (sbom === undefined) continue;
      environments.push({
        digest: record.digest,
        references: record.references,
        ...(record.generation === undefined ? {} : { generation: record.generation }),
        storePaths: sbom.installed,
        closure: sbom.components.map((c) => ({ storePath: c.storePath, name: c.name, version: c.version })),
        pods: this.#registry.podsUsing(record.digest).map(({ namespace, name, uid, reference }) => ({ namespace, name, uid, reference })),
      });
    }
    environments.sort((a, b) => (a.digest < b.digest ? -1 : 1));
    return { apiVersion: 'flox.dev/v1alpha1', kind: 'NodeEnvironments', node: this.#node, system: this.#system, environments };
  }

  /** `GET /environments/<digest>/sbom`: the document. Throws `…_ENVIRONMENT_UNKNOWN` / `…_NOT_REALISED`. */
  sbom(digest: string, format: SbomFormat): string {
    const record = this.#registry.record(digest);
    if (record === undefined) throw new EnvironmentUnknownError(`no environment with lockfile digest sha256:${digest} was realised on node ${this.#node}`);
    const sbom = this.#sbomOrUndefined(record);
    if (sbom === undefined) throw new EnvironmentNotRealisedError(`the closure of sha256:${digest} is no longer complete in the store of node ${this.#node}; it was collected`);
    return format === 'cyclonedx' ? cycloneDxJson(sbom) : spdxJson(sbom);
  }

  #sbomOrUndefined(record: EnvironmentRecord): EnvironmentSbom | undefined {
    const cached = this.#sboms.get(record.digest);
    if (cached !== undefined) {
      // A path is valid while its directory is in the store; GC may have taken some since.
      if (cached.components.every((c) => existsSync(this.#store.hostPath(c.storePath)))) return cached;
      this.#sboms.delete(record.digest);
      return undefined;
    }
    const closure = this.#closure(record.storePaths);
    const bytes = closure === undefined ? undefined : this.#registry.lockfile(record.digest);
    if (closure === undefined || bytes === undefined) return undefined;
    const ref = parseEnvironmentRef(record.references[0]!);
    const sbom = environmentSbom({
      lockfile: parseLockfile(bytes),
      system: record.system as NixSystem,
      closure,
      environment: { owner: ref.owner, name: ref.name, generation: record.generation },
    });
    this.#sboms.set(record.digest, sbom);
    if (this.#sboms.size > this.#maxCached) this.#sboms.delete(this.#sboms.keys().next().value!);
    return sbom;
  }

  // The store's records of the closure of `roots`, or undefined when any path is missing.
  #closure(roots: readonly string[]): PathInfo[] | undefined {
    const infos = new Map<string, PathInfo>();
    const queue = [...roots];
    for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
      if (infos.has(path)) continue;
      const info = this.#store.pathInfo(path);
      if (info === undefined) return undefined;
      infos.set(path, info);
      for (const ref of info.references) if (!infos.has(ref)) queue.push(ref);
    }
    return [...infos.values()];
  }
}
