// publish writes the generation's SBOMs beside manifest.lock, from the signed narinfos of the
// real-Nix fixture closure in its loopback cache: into a directory and over PUT to an HTTP hub,
// byte-identical to @flox-k8s/environments' own publish; an unreadable closure publishes nothing.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { publishEnvironment } from '@flox-k8s/environments';
import { serveHub, type ServedHub } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublishJson } from '../src/index.ts';
import { CACHE_TOKEN, fixtureEnv, type FixtureEnv } from './fixture-env.ts';
import { removeBundle, runCli, writeConfig } from './run-cli.ts';

const HUB_TOKEN = 'hub-token-5d0c44e1';
const FILES = ['sbom.x86_64-linux.cdx.json', 'sbom.x86_64-linux.spdx.json'];
let env: FixtureEnv;
let hub: ServedHub;
let tokenFile: string;
let bareConfig: string;
let reference: string;

async function tree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.map((e) => relative(root, join(e.parentPath, e.name))).sort();
}

beforeAll(async () => {
  env = await fixtureEnv('publish-sbom');
  tokenFile = join(env.dir, 'hub-token');
  await writeFile(tokenFile, `${HUB_TOKEN}\n`);
  hub = await serveHub(join(env.dir, 'served'), { token: HUB_TOKEN });
  bareConfig = await writeConfig(env.dir);
  // What the library writes for the same lockfile as generation 1 of acme/<name>: the bytes to match.
  reference = join(env.dir, 'reference');
  for (const name of ['to-dir', 'to-hub']) await publishEnvironment(reference, 'acme', name, env.fixtures.lockfile.bytes, { sbom: { caches: [{ url: env.cache.url }], trustedKeys: [env.fixtures.publicKey] } });
}, 300_000);

afterAll(async () => {
  await hub?.close();
  await env?.close();
  await removeBundle();
});

describe('publish with SBOMs', () => {
  it('into a directory, with the caches and keys of the node config: prints the SBOM files, byte-identical to the library\'s', async () => {
    const run = await runCli(['publish', 'acme/to-dir', 'lockfile.lock', '--to', 'out', '-o', 'json'], { config: env.config, cwd: env.dir });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const generation = join(env.dir, 'out', 'acme', 'to-dir', 'generations', '1');
    expect(run.json<PublishJson>()).toMatchObject({ reference: 'acme/to-dir:1', target: `dir ${join(env.dir, 'out')}`, sboms: FILES.map((file) => ({ file, location: join(generation, file) })) });
    expect(await tree(generation)).toEqual(['manifest.lock', ...FILES]);
    for (const file of FILES) expect((await readFile(join(generation, file))).equals(await readFile(join(reference, 'acme', 'to-dir', 'generations', '1', file)))).toBe(true);
    expect(run.stdout).not.toContain(CACHE_TOKEN);
  });

  it('to an HTTP hub, with --cache and --trusted-key: the human output names each SBOM by its URL on the hub', async () => {
    const to = ['--to', `${hub.url}/envs`, '--token-file', tokenFile, '--cache', env.cache.url, '--trusted-key', env.fixtures.publicKey];
    const run = await runCli(['publish', 'acme/to-hub', 'lockfile.lock', ...to], { config: bareConfig, cwd: env.dir });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const urls = FILES.map((file) => `${hub.url}/envs/acme/to-hub/generations/1/${file}`);
    expect(run.stdout).toBe([`acme/to-hub:1`, `acme/to-hub@sha256:${createHash('sha256').update(env.fixtures.lockfile.bytes).digest('hex')}`, ...urls.map((u) => `sbom: ${u}`), ''].join('\n'));
    for (const [i, url] of urls.entries()) {
      const served = Buffer.from(await (await fetch(url, { headers: { authorization: `Bearer ${HUB_TOKEN}` } })).arrayBuffer());
      expect(served.equals(await readFile(join(reference, 'acme', 'to-hub', 'generations', '1', FILES[i]!)))).toBe(true);
    }
  });

  it('publishes nothing when the caches cannot describe the closure: no file in the directory, no PUT to the hub', async () => {
    const untrusted = ['--cache', env.cache.url, '--trusted-key', 'other-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY='];
    const dirRun = await runCli(['publish', 'acme/refused', 'lockfile.lock', '--to', 'out', ...untrusted, '-o', 'json'], { config: bareConfig, cwd: env.dir });
    expect([dirRun.code, dirRun.stdout, dirRun.error().code]).toEqual([1, '', 'FLOXK8S_ENV_PUBLISH_SBOM_FAILED']);
    expect(dirRun.error().message).toContain('FLOXK8S_NARINFO_');
    expect(await tree(join(env.dir, 'out', 'acme', 'refused'))).toEqual([]);

    hub.requests.length = 0;
    const hubRun = await runCli(['publish', 'acme/refused', 'lockfile.lock', '--to', `${hub.url}/envs`, '--token-file', tokenFile, ...untrusted], { config: bareConfig, cwd: env.dir });
    expect(hubRun.code).toBe(1);
    expect(hubRun.stderr).toMatch(/^flox-k8s: error FLOXK8S_ENV_PUBLISH_SBOM_FAILED: acme\/refused generation 1: cannot describe its closure on x86_64-linux \(FLOXK8S_NARINFO_/);
    expect(hub.requests.filter((r) => r.method === 'PUT')).toEqual([]);
  });

  it('--no-sbom publishes the lockfile alone and asks no cache; SBOM flags with it, or a bad --sbom-system, are usage errors', async () => {
    const before = env.cache.requests.length;
    const run = await runCli(['publish', 'acme/bare', 'lockfile.lock', '--to', 'out', '--no-sbom', '-o', 'json'], { config: env.config, cwd: env.dir });
    expect(run.code).toBe(0);
    expect(run.json<PublishJson>().sboms).toEqual([]);
    expect(await tree(join(env.dir, 'out', 'acme', 'bare', 'generations'))).toEqual(['1', '1/manifest.lock']);
    expect(env.cache.requests.length).toBe(before);

    await mkdir(join(env.dir, 'usage'), { recursive: true });
    for (const args of [['--no-sbom', '--cache', env.cache.url], ['--no-sbom', '--sbom-system', 'x86_64-linux'], ['--sbom-system', 'not a system']]) {
      const bad = await runCli(['publish', 'acme/usage', 'lockfile.lock', '--to', 'usage', ...args, '-o', 'json'], { config: env.config, cwd: env.dir });
      expect([bad.code, bad.error().code]).toEqual([2, 'FLOXK8S_CLI_USAGE']);
    }
    expect(await tree(join(env.dir, 'usage'))).toEqual([]);
  });
});
