import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHub, type ServedHub } from '@flox-k8s/nix-fixtures';
import type { PublishJson, ResolveJson } from '../src/index.ts';
import { HELLO_STORE_PATHS, helloLockfile } from './lockfile.ts';
import { removeBundle, runCli, writeConfig } from './run-cli.ts';

const TOKEN = 'tok-3b1f9c07e5d2';
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let dir: string;
let config: string;
let hub: ServedHub;
let tokenFile: string;
const first = helloLockfile();
const second = helloLockfile('second generation');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-cli-publish-'));
  config = await writeConfig(dir);
  await writeFile(join(dir, 'first.lock'), first);
  await writeFile(join(dir, 'second.lock'), second);
  tokenFile = join(dir, 'hub-token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  hub = await serveHub(join(dir, 'http-hub'), { token: TOKEN });
});
afterAll(async () => {
  await hub.close();
  await removeBundle();
  await rm(dir, { recursive: true, force: true });
});

type Target = { kind: 'dir' | 'hub'; to: string[]; source: string[] };
const targets = (): Target[] => [
  { kind: 'dir', to: ['--to', 'dir-hub'], source: ['--source', 'dir-hub'] },
  { kind: 'hub', to: ['--to', `${hub.url}/envs`, '--token-file', tokenFile], source: ['--source', `${hub.url}/envs`, '--token-file', tokenFile] },
];

describe('publish and resolve', () => {
  it.each(['dir', 'hub'] as const)('%s: publish prints owner/name:N and owner/name@sha256:…; resolve gives generation, digest and store paths per system', async (kind) => {
    const target = targets().find((t) => t.kind === kind) as Target;
    // These store paths are in no cache here: publish the lockfiles alone (publish-sbom.test.ts has the SBOMs).
    const one = await runCli(['publish', `acme/hello-${kind}`, 'first.lock', ...target.to, '--no-sbom'], { config, cwd: dir });
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout).toBe(`acme/hello-${kind}:1\nacme/hello-${kind}@sha256:${sha256(first)}\n`);

    const two = await runCli(['publish', `acme/hello-${kind}`, '-', ...target.to, '--no-sbom', '--output', 'json'], { config, cwd: dir, stdin: second });
    expect(two.code).toBe(0);
    expect(two.json<PublishJson>()).toEqual({
      environment: `acme/hello-${kind}`,
      generation: 2,
      digest: sha256(second),
      reference: `acme/hello-${kind}:2`,
      pinned: `acme/hello-${kind}@sha256:${sha256(second)}`,
      target: kind === 'dir' ? `dir ${join(dir, 'dir-hub')}` : `hub ${hub.url}/envs`,
      sboms: [],
    });

    const live = await runCli(['resolve', `acme/hello-${kind}`, ...target.source, '-o', 'json'], { config, cwd: dir });
    expect(live.code).toBe(0);
    expect(live.json<ResolveJson>()).toEqual({
      reference: `acme/hello-${kind}`,
      environment: `acme/hello-${kind}`,
      generation: 2,
      digest: sha256(second),
      pinnedGeneration: `acme/hello-${kind}:2`,
      pinned: `acme/hello-${kind}@sha256:${sha256(second)}`,
      source: kind === 'dir' ? `dir ${join(dir, 'dir-hub')}` : `hub ${hub.url}/envs`,
      systems: HELLO_STORE_PATHS,
    });

    const pinned = await runCli(['resolve', `acme/hello-${kind}@sha256:${sha256(first)}`, ...target.source, '--system', 'aarch64-linux'], { config, cwd: dir });
    expect(pinned.code).toBe(0);
    expect(pinned.stdout).toBe(
      [
        `acme/hello-${kind}:1`,
        `acme/hello-${kind}@sha256:${sha256(first)}`,
        `source: ${kind === 'dir' ? `dir ${join(dir, 'dir-hub')}` : `hub ${hub.url}/envs`}`,
        'aarch64-linux: 1 store path',
        `  ${HELLO_STORE_PATHS['aarch64-linux']?.[0]}`,
        '',
      ].join('\n'),
    );
  });

  it('resolves through the sources of the node config file when no --source is given', async () => {
    const nodeConfig = await writeConfig(dir, { sources: [{ type: 'hub', url: `${hub.url}/envs`, tokenFile }] });
    const run = await runCli(['resolve', 'acme/hello-hub:1', '-o', 'json'], { config: nodeConfig });
    expect(run.code).toBe(0);
    expect(run.json<ResolveJson>()).toMatchObject({ generation: 1, digest: sha256(first), source: `hub ${hub.url}/envs` });
  });

  it('fails with the resolver\'s codes: not found, a wrong digest pin, a hub that refuses the token (which is never printed)', async () => {
    const notFound = await runCli(['resolve', 'acme/absent', '--source', 'dir-hub', '-o', 'json'], { config, cwd: dir });
    expect(notFound.code).toBe(1);
    expect(notFound.stdout).toBe('');
    expect(notFound.error()).toMatchObject({ code: 'FLOXK8S_ENV_NOT_FOUND' });

    const mismatch = await runCli(['resolve', `acme/hello-dir@sha256:${'0'.repeat(64)}`, '--source', 'dir-hub'], { config, cwd: dir });
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/^flox-k8s: error FLOXK8S_ENV_DIGEST_MISMATCH: /);

    const wrongToken = join(dir, 'wrong-token');
    await writeFile(wrongToken, 'not-the-token-7781\n');
    for (const args of [
      ['resolve', 'acme/hello-hub', '--source', `${hub.url}/envs`, '--token-file', wrongToken],
      ['publish', 'acme/hello-hub', 'first.lock', '--to', `${hub.url}/envs`, '--token-file', wrongToken],
    ]) {
      const human = await runCli(args, { config, cwd: dir });
      expect(human.code).toBe(1);
      expect(human.stderr).toMatch(/^flox-k8s: error FLOXK8S_ENV_SOURCE_FAILED: .*HTTP 401; check the hub token file/);
      const json = await runCli([...args, '-o', 'json'], { config, cwd: dir });
      expect(json.error().code).toBe('FLOXK8S_ENV_SOURCE_FAILED');
      expect(human.stdout + human.stderr + json.stdout + json.stderr).not.toContain('not-the-token-7781');
    }
    expect(hub.requests.some((r) => r.authorization === 'Bearer not-the-token-7781')).toBe(true);
  });

  it('never prints a password given in a hub URL', async () => {
    const url = hub.url.replace('http://', 'http://ci-user:hunter2-pw@');
    for (const args of [['resolve', 'acme/hello-hub', '--source', `${url}/envs`], ['publish', 'acme/hello-hub', 'first.lock', '--to', `${url}/envs`, '-o', 'json']]) {
      const run = await runCli(args, { config, cwd: dir });
      expect(run.code).toBe(1);
      expect(run.stdout + run.stderr).not.toContain('hunter2-pw');
      expect(run.stdout + run.stderr).toContain('FLOXK8S_ENV_SOURCE_FAILED');
    }
  });

  it('masks the password of a hub URL in what a successful publish prints', async () => {
    const open = await serveHub(join(dir, 'open-hub'));
    try {
      const url = `${open.url.replace('http://', 'http://ci-user:hunter2-pw@')}/envs`;
      const run = await runCli(['publish', 'acme/open', 'first.lock', '--to', url, '--no-sbom', '-o', 'json'], { config, cwd: dir });
      expect(run.code).toBe(0);
      expect(run.json<PublishJson>().target).toBe(`hub ${open.url.replace('http://', 'http://***@')}/envs`);
      expect(run.stdout + run.stderr).not.toContain('hunter2-pw');
    } finally {
      await open.close();
    }
  });

  it('rejects an invalid lockfile or an unreadable file before publishing anything', async () => {
    await writeFile(join(dir, 'bad.lock'), '{"lockfile-version": 1, "manifest": {}, "packages": "no"}');
    const bad = await runCli(['publish', 'acme/bad', 'bad.lock', '--to', 'dir-hub', '-o', 'json'], { config, cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.error().code).toMatch(/^FLOXK8S_LOCKFILE_/);
    const missing = await runCli(['publish', 'acme/bad', 'nowhere.lock', '--to', 'dir-hub'], { config, cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`flox-k8s: error FLOXK8S_CLI_FILE: cannot read lockfile ${join(dir, 'nowhere.lock')}: ENOENT\n`);
    await expect(readFile(join(dir, 'dir-hub', 'acme', 'bad', 'live'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
