import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigInvalidError } from './errors.ts';
import { cacheConfigs, loadConfig, NIXOS_CACHE_KEY, parseConfig, storeFsyncOption } from './index.ts';

const dir = mkdtempSync(join(tmpdir(), 'flox-shim-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config', () => {
  it('fills every default', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      storeRoot: '/var/lib/flox-k8s',
      trustedKeys: [NIXOS_CACHE_KEY],
      caches: [{ url: 'https://cache.nixos.org', priority: 40 }],
      sources: [],
      agentSocket: '/run/flox-k8s/agent.sock',
      logFile: '/var/log/flox-k8s/shim.log',
    });
    expect(config.system).toMatch(/^[a-z0-9_]+-linux$/);
  });

  it('mounted store views: on by default for closures of 64 paths or more, bounded, and off with maxMounts 0', () => {
    expect(parseConfig({}).storeViewMounts).toEqual({ minPaths: 64, maxMounts: 8192 });
    expect(parseConfig({ storeViewMounts: { maxMounts: 0 } }).storeViewMounts).toEqual({ minPaths: 64, maxMounts: 0 });
    for (const bad of [{ maxMounts: -1 }, { maxMounts: 100_001 }, { minPaths: 0 }, { minPaths: 1.5 }, { minpaths: 10 }]) {
      expect(() => parseConfig({ storeViewMounts: bad })).toThrow(expect.objectContaining({ code: 'FLOXK8S_CONFIG_INVALID', message: expect.stringContaining('storeViewMounts') as unknown }));
    }
  });

  it('storeSync: auto by default, and what each value asks of the store', () => {
    expect(parseConfig({}).storeSync).toBe('auto');
    expect(storeFsyncOption(parseConfig({}))).toBeUndefined();
    expect(storeFsyncOption(parseConfig({ storeSync: 'fsync' }))).toBe(true);
    expect(storeFsyncOption(parseConfig({ storeSync: 'syncfs' }))).toBe('syncfs');
    for (const bad of ['none', 'SYNCFS', true, 1]) {
      expect(() => parseConfig({ storeSync: bad })).toThrow(expect.objectContaining({ code: 'FLOXK8S_CONFIG_INVALID', message: expect.stringContaining('storeSync') as unknown }));
    }
  });

  it('names the failing path', () => {
    let error: unknown;
    try {
      parseConfig({ caches: [{ url: 'ftp://x' }], sources: [{ type: 'dir', path: 'relative' }] }, 'cfg.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect((error as ConfigInvalidError).code).toBe('FLOXK8S_CONFIG_INVALID');
    expect((error as Error).message).toContain('caches[0].url: expected an http(s):// URL');
    expect((error as Error).message).toContain('sources[0].path');
  });

  it('rejects unknown keys, bad keys and ".." paths', () => {
    expect(() => parseConfig({ storRoot: '/x' })).toThrow(expect.objectContaining({ code: 'FLOXK8S_CONFIG_INVALID' }));
    expect(() => parseConfig({ trustedKeys: ['nokey'] })).toThrow(/trustedKeys\[0\]/);
    expect(() => parseConfig({ storeRoot: '/var/../etc' })).toThrow(/storeRoot/);
  });

  it('treats a missing default file as defaults but a missing explicit file as an error', () => {
    expect(loadConfig(join(dir, 'absent.json')).storeRoot).toBe('/var/lib/flox-k8s');
    expect(() => loadConfig(join(dir, 'absent.json'), { required: true })).toThrow(expect.objectContaining({ code: 'FLOXK8S_CONFIG_INVALID' }));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ nope');
    expect(() => loadConfig(bad)).toThrow(/not valid JSON/);
  });

  it('reads cache credentials from files', async () => {
    const token = join(dir, 'token');
    const basic = join(dir, 'basic');
    writeFileSync(token, 'sekrit\n');
    writeFileSync(basic, 'alice:pw:with:colons\n');
    const config = parseConfig({
      caches: [
        { url: 'https://a.example', credentialsFile: token },
        { url: 'https://b.example', priority: 10, credentialsFile: basic, credentialsType: 'basic' },
      ],
    });
    expect(await cacheConfigs(config)).toEqual([
      { url: 'https://a.example', credentials: { bearer: 'sekrit' } },
      { url: 'https://b.example', priority: 10, credentials: { username: 'alice', password: 'pw:with:colons' } },
    ]);
  });

  it('takes a floxmeta source with defaults, its cache beside the store unless named', () => {
    const config = parseConfig({
      storeRoot: '/srv/flox',
      sources: [
        { type: 'floxmeta', url: 'https://api.flox.dev/git', tokenFile: '/var/run/secrets/flox.dev/floxhub-token' },
        { type: 'floxmeta', url: 'http://127.0.0.1:9/git', cacheDir: '/var/cache/floxmeta', liveTtlMs: 5000 },
      ],
    });
    expect(config.sources).toEqual([
      {
        type: 'floxmeta',
        url: 'https://api.flox.dev/git',
        tokenFile: '/var/run/secrets/flox.dev/floxhub-token',
        cacheDir: '/srv/flox/floxmeta',
        liveTtlMs: 0,
        timeoutMs: 30_000,
        maxFetchBytes: 64 * 1024 * 1024,
      },
      { type: 'floxmeta', url: 'http://127.0.0.1:9/git', cacheDir: '/var/cache/floxmeta', liveTtlMs: 5000, timeoutMs: 30_000, maxFetchBytes: 64 * 1024 * 1024 },
    ]);
  });

  it('rejects a floxmeta URL carrying credentials and a relative token file', () => {
    expect(() => parseConfig({ sources: [{ type: 'floxmeta', url: 'https://oauth:tok@api.flox.dev/git' }] })).toThrow(/sources\[0\]\.url: put the token in tokenFile/);
    expect(() => parseConfig({ sources: [{ type: 'floxmeta', url: 'https://api.flox.dev/git', tokenFile: 'token' }] })).toThrow(/sources\[0\]\.tokenFile/);
    expect(() => parseConfig({ sources: [{ type: 'floxmeta', url: 'https://api.flox.dev/git', liveTtlMs: -1 }] })).toThrow(/liveTtlMs/);
  });
});
