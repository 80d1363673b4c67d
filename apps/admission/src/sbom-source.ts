// The components of an environment on one system, for the SBOM policy. Two sources, as
// configured (`sbomSource`):
//   published  the CycloneDX SBOM published beside the generation (one small GET from the
//              source that served the lockfile), used when it describes exactly this lockfile
//              and system and names every installed path; it is the publisher's word, as the
//              lockfile beside it is;
//   computed   the lockfile plus the verified narinfos of its closure from the binary caches
//              (@flox-k8s/sbom; signatures checked, no NAR downloaded).
// `published-or-computed` tries the first, then the second. Results are kept per digest and
// system (immutable), least recently used out first; concurrent reviews share one computation,
// which runs to its end even when the review that started it gave up, so a retry finds it done.
import { readPublishedSbom } from '@flox-k8s/environments';
import { storePathsToInstall } from '@flox-k8s/lockfile';
import { BinaryCacheClient, type CacheConfig } from '@flox-k8s/nar';
import { closureFromCache, environmentSbom } from '@flox-k8s/sbom';
import { errorCode } from '@flox-k8s/core';
import { z } from 'zod';
import type { FoundEnvironment } from './environment-lookup.ts';
import type { EnvironmentSourceReader } from '@flox-k8s/environments';
import { SbomUnavailableError } from './errors.ts';
import type { PolicyComponent } from './policy.ts';

export type SbomSourceMode = 'published-or-computed' | 'computed';

export interface EnvironmentComponents {
  components: PolicyComponent[];
  source: 'published' | 'computed';
}

const storePath = z.string().regex(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+$/);
const property = z.object({ name: z.string(), value: z.string() });
// The slice of CycloneDX 1.6 the policy reads, as @flox-k8s/sbom writes it.
const publishedSchema = z.object({
  bomFormat: z.literal('CycloneDX'),
  metadata: z.object({
    component: z.object({
      hashes: z.array(z.object({ alg: z.string(), content: z.string() })).min(1),
      properties: z.array(property).default([]),
    }),
  }),
  components: z
    .array(
      z.object({
        'bom-ref': storePath,
        name: z.string().max(256),
        version: z.string().max(256).default(''),
        licenses: z.array(z.object({ license: z.union([z.object({ id: z.string().max(256) }), z.object({ name: z.string().max(1024) })]) })).default([]),
      }),
    )
    .max(100_000),
});

export class SbomSource {
  readonly #mode: SbomSourceMode;
  readonly #readers: readonly EnvironmentSourceReader[];
  readonly #client: BinaryCacheClient;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Promise<EnvironmentComponents>>();
  readonly #onPublishedRejected: (reason: string) => void;

  constructor(options: { mode: SbomSourceMode; readers: readonly EnvironmentSourceReader[]; caches: CacheConfig[]; trustedKeys: string[]; maxEntries: number; onPublishedRejected?: (reason: string) => void }) {
    this.#mode = options.mode;
    this.#readers = options.readers;
    this.#client = new BinaryCacheClient({ caches: options.caches, trustedKeys: options.trustedKeys });
    this.#maxEntries = options.maxEntries;
    this.#onPublishedRejected = options.onPublishedRejected ?? (() => undefined);
  }

  /** The components on `system`; throws `FLOXK8S_ADMISSION_SBOM_UNAVAILABLE`. */
  components(found: FoundEnvironment, system: string): Promise<EnvironmentComponents> {
    const key = `${found.fetched.digest}:${system}`;
    const known = this.#entries.get(key);
    if (known !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, known);
      return known;
    }
    const made = this.#make(found, system);
    this.#entries.set(key, made);
    // A failure is not kept: the next review tries again (a cache may be back).
    made.catch(() => this.#entries.get(key) === made && this.#entries.delete(key));
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    return made;
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  async #make(found: FoundEnvironment, system: string): Promise<EnvironmentComponents> {
    if (this.#mode === 'published-or-computed') {
      const published = await this.#published(found, system).catch((error: unknown) => {
        this.#onPublishedRejected(`reading the published SBOM failed (${errorCode(error) ?? 'error'}): ${(error as Error).message}`);
        return undefined;
      });
      if (published !== undefined) return { components: published, source: 'published' };
    }
    try {
      const closure = await closureFromCache(this.#client, found.lock, system);
      const { ref } = found.fetched;
      const sbom = environmentSbom({ lockfile: found.lock, system, closure, environment: { owner: ref.owner, name: ref.name, generation: found.fetched.generation } });
      return { components: sbom.components, source: 'computed' };
    } catch (cause) {
      throw new SbomUnavailableError(
        `cannot make the SBOM of ${found.fetched.ref.owner}/${found.fetched.ref.name} (sha256:${found.fetched.digest}) on ${system} from the binary caches (${errorCode(cause) ?? 'error'}): ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  async #published(found: FoundEnvironment, system: string): Promise<PolicyComponent[] | undefined> {
    const bytes = await readPublishedSbom(found.fetched, this.#readers, system, 'cyclonedx');
    if (bytes === undefined) return undefined;
    const parsed = publishedSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    const reject = (why: string): undefined => {
      this.#onPublishedRejected(`the SBOM published for sha256:${found.fetched.digest} on ${system} ${why}; computing it instead`);
      return undefined;
    };
    if (!parsed.success) return reject('is not CycloneDX as flox-k8s writes it');
    const root = parsed.data.metadata.component;
    if (!root.hashes.some((h) => h.alg === 'SHA-256' && h.content === found.fetched.digest)) return reject('describes another lockfile');
    if (!root.properties.some((p) => p.name === 'flox:system' && p.value === system)) return reject('describes another system');
    const components = parsed.data.components.map((c) => ({
      storePath: c['bom-ref'],
      name: c.name,
      version: c.version,
      licenses: c.licenses.map(({ license }) => ('id' in license ? { kind: 'spdx' as const, id: license.id } : { kind: 'name' as const, name: license.name })),
    }));
    const listed = new Set(components.map((c) => c.storePath));
    if (!storePathsToInstall(found.lock, system).every((p) => listed.has(p))) return reject('lacks a path the lockfile installs');
    return components;
  }
}
