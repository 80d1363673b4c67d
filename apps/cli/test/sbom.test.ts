import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLockfile } from '@flox-k8s/lockfile';
import { BinaryCacheClient } from '@flox-k8s/nar';
import { nixSkipReason } from '@flox-k8s/nix-fixtures';
import { closureFromCache, cycloneDxJson, environmentSbom, spdxJson, type EnvironmentSbom } from '@flox-k8s/sbom';
import type { SbomFileJson } from '../src/index.ts';
import { CACHE_TOKEN, fixtureEnv, type FixtureEnv } from './fixture-env.ts';
import { removeBundle, runCli } from './run-cli.ts';

const skip = nixSkipReason();
let env: FixtureEnv;
/** The library's SBOM of the same environment from the same cache: what the CLI must print byte for byte. */
let expected: EnvironmentSbom;

describe.skipIf(skip !== undefined)(`sbom of the real fixture environment${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    env = await fixtureEnv('sbom');
    const lockfile = parseLockfile(env.fixtures.lockfile.bytes);
    const client = new BinaryCacheClient({ caches: [{ url: env.cache.url }], trustedKeys: [env.fixtures.publicKey] });
    try {
      const closure = await closureFromCache(client, lockfile, 'x86_64-linux');
      expected = environmentSbom({ lockfile, system: 'x86_64-linux', closure, environment: { owner: 'acme', name: 'fixture', generation: 1 } });
    } finally {
      await client.close();
    }
  });
  afterAll(async () => {
    await env?.close();
    await removeBundle();
  });

  it('writes CycloneDX to stdout from a reference, in both output modes, and only narinfos are fetched', async () => {
    const narsBefore = env.cache.count('/nar/');
    for (const output of ['human', 'json']) {
      const run = await runCli(['sbom', 'acme/fixture:1', '--output', output], { config: env.config });
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(run.stdout).toBe(cycloneDxJson(expected));
      expect(run.stdout).not.toContain(CACHE_TOKEN);
    }
    expect(env.cache.count('/nar/')).toBe(narsBefore);
    expect(expected.components).toHaveLength(env.fixtures.closure.length);
  });

  it('writes SPDX to a file and reports it; a --lockfile with --name gives the same bytes', async () => {
    const out = join(env.dir, 'fixture.spdx.json');
    const run = await runCli(['sbom', 'acme/fixture', '--format', 'spdx', '--out', out, '-o', 'json'], { config: env.config });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const text = await readFile(out, 'utf8');
    expect(text).toBe(spdxJson(expected));
    expect(run.json<SbomFileJson>()).toEqual({
      file: out,
      format: 'spdx',
      environment: 'acme/fixture:1',
      system: 'x86_64-linux',
      components: 4,
      bytes: Buffer.byteLength(text),
      sha256: createHash('sha256').update(text).digest('hex'),
    });
    const human = await runCli(['sbom', '--lockfile', join(env.dir, 'lockfile.lock'), '--name', 'acme/fixture:1', '--format', 'spdx', '--out', 'again.spdx.json'], { config: env.config, cwd: env.dir });
    expect(human.stdout).toBe(`wrote the SPDX 2.3 SBOM of acme/fixture:1 (x86_64-linux, 4 components) to ${join(env.dir, 'again.spdx.json')}\n`);
    expect(await readFile(join(env.dir, 'again.spdx.json'), 'utf8')).toBe(text);
  });

  it('takes path infos from a realised store with --store (no signatures there), and names what a store lacks', async () => {
    const store = join(env.dir, 'store');
    const empty = await runCli(['sbom', 'acme/fixture:1', '--store', join(env.dir, 'nowhere'), '-o', 'json'], { config: env.config });
    expect(empty.code).toBe(1);
    expect(empty.error().code).toBe('FLOXK8S_CLI_FILE');
    expect((await runCli(['realise', 'acme/fixture:1', '--store', store, '--progress', 'none'], { config: env.config })).code).toBe(0);
    const fromStore = await runCli(['sbom', 'acme/fixture:1', '--store', store], { config: env.config });
    expect(fromStore.code).toBe(0);
    const doc = JSON.parse(fromStore.stdout) as { components: Array<{ 'bom-ref': string; properties: Array<{ name: string }> }> };
    expect(doc.components.map((c) => c['bom-ref']).sort()).toEqual(env.fixtures.closure);
    expect(doc.components.flatMap((c) => c.properties.map((p) => p.name))).not.toContain('nix:narinfo:sig');
    // The same document but for the signatures a store record does not keep.
    const strip = (text: string): unknown => JSON.parse(text, (key, value: unknown) => (Array.isArray(value) && key === 'properties' ? value.filter((p: { name: string }) => p.name !== 'nix:narinfo:sig') : value));
    expect(strip(fromStore.stdout)).toEqual(strip(cycloneDxJson(expected)));
    await import('node:fs/promises').then((fs) => fs.rm(join(store, 'store', env.fixtures.storePaths.data.slice('/nix/store/'.length)), { recursive: true }));
    const incomplete = await runCli(['sbom', 'acme/fixture:1', '--store', store, '-o', 'json'], { config: env.config });
    expect(incomplete.code).toBe(1);
    expect(incomplete.error().code).toBe('FLOXK8S_SBOM_CLOSURE_INCOMPLETE');
  });

  it('needs --name with --lockfile (usage, exit 2)', async () => {
    const run = await runCli(['sbom', '--lockfile', join(env.dir, 'lockfile.lock'), '-o', 'json'], { config: env.config });
    expect(run.code).toBe(2);
    expect(run.error()).toMatchObject({ code: 'FLOXK8S_CLI_USAGE', message: expect.stringContaining('--lockfile needs --name') });
  });
});
