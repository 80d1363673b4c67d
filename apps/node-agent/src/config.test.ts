import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAgentConfig, parseAgentConfig, readAgentEnv } from './config.ts';
import { stageLayout } from '@flox-k8s/shim-layout';
import { standInShimPrograms } from './install/test-shim-programs.ts';
import { assertShimLayoutFor, hostShimLayout, installOptionsFrom } from './install/install-options.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-agent-config-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('agent config', () => {
  it('extends the shim config with defaults for every agent setting', () => {
    const config = parseAgentConfig({});
    expect(config.storeRoot).toBe('/var/lib/flox-k8s');
    expect(config.agentSocket).toBe('/run/flox-k8s/agent.sock');
    expect(config.agent).toMatchObject({ runtimeClassName: 'flox', metricsPort: 9464, realiseGraceSeconds: 600, gc: { highWatermark: 0.85, lowWatermark: 0.7 } });
    expect(config.agent.installer.restartCommand).toEqual(['nsenter', '--target', '1', '--mount', '--uts', '--ipc', '--net', '--pid', '--', 'systemctl', 'restart', 'containerd']);
  });

  it('names the bad path in a coded error', () => {
    const bad = (input: unknown): unknown => {
      try {
        parseAgentConfig(input, 'agent.json');
      } catch (error) {
        return { code: (error as { code: string }).code, message: (error as Error).message };
      }
      return undefined;
    };
    expect(bad({ agent: { gc: { highWatermark: 0.5, lowWatermark: 0.6 } } })).toMatchObject({ code: 'FLOXK8S_AGENT_CONFIG_INVALID', message: expect.stringContaining('agent.gc') });
    expect(bad({ agent: { installer: { installDir: 'relative' } } })).toMatchObject({ message: expect.stringContaining('agent.installer.installDir') });
    expect(bad({ storeRoot: '/a/../b' })).toMatchObject({ message: expect.stringContaining('storeRoot') });
    expect(bad({ agent: { unknown: 1 } })).toMatchObject({ code: 'FLOXK8S_AGENT_CONFIG_INVALID' });
    expect(bad({ agent: { realiseGraceSeconds: -1 } })).toMatchObject({ message: expect.stringContaining('agent.realiseGraceSeconds') });
  });

  it('loads a file, and rejects one that is not JSON', async () => {
    await writeFile(join(dir, 'ok.json'), JSON.stringify({ agent: { metricsPort: 1234 } }));
    expect(loadAgentConfig(join(dir, 'ok.json')).agent.metricsPort).toBe(1234);
    expect(loadAgentConfig(join(dir, 'missing.json')).agent.metricsPort).toBe(9464);
    await writeFile(join(dir, 'bad.json'), '{');
    expect(() => loadAgentConfig(join(dir, 'bad.json'))).toThrow(expect.objectContaining({ code: 'FLOXK8S_AGENT_CONFIG_INVALID' }));
  });

  it('reads NODE_NAME and the config path from the environment', () => {
    expect(readAgentEnv({ NODE_NAME: 'n1', FLOXK8S_AGENT_CONFIG: '/x.json' })).toEqual({ configPath: '/x.json', nodeName: 'n1', kubeconfig: undefined });
  });

  it('writes the shim config for the host and copies Secret files to 0600 files under installDir', async () => {
    await writeFile(join(dir, 'hub-token'), 'tok\n');
    await writeFile(join(dir, 'cache-cred'), 'user:pw\n');
    const config = parseAgentConfig({
      caches: [{ url: 'https://cache.example', credentialsFile: join(dir, 'cache-cred'), credentialsType: 'basic' }],
      sources: [
        { type: 'hub', url: 'https://hub.example', tokenFile: join(dir, 'hub-token') },
        { type: 'floxmeta', url: 'https://api.flox.dev/git', tokenFile: join(dir, 'hub-token') },
      ],
    });
    const options = await installOptionsFrom(config, '/usr/bin/node');
    const shim = JSON.parse(String(options.files?.['etc/config.json']?.content)) as Record<string, unknown>;
    expect(shim).not.toHaveProperty('agent');
    expect(shim['caches']).toEqual([{ url: 'https://cache.example', credentialsFile: '/opt/flox-k8s/secrets/1', credentialsType: 'basic' }]);
    expect(shim['sources']).toEqual([
      { type: 'hub', url: 'https://hub.example', tokenFile: '/opt/flox-k8s/secrets/2', timeoutMs: 10_000, deadlineMs: 60_000 },
      // The FloxHub token too; the node-local cache sits beside the store the shim and the agent share.
      expect.objectContaining({ type: 'floxmeta', tokenFile: '/opt/flox-k8s/secrets/3', cacheDir: '/var/lib/flox-k8s/floxmeta' }),
    ]);
    expect(options.files?.['secrets/3']?.mode).toBe(0o600);
    expect(options.files?.['secrets/1']).toEqual({ content: await readFile(join(dir, 'cache-cred')), mode: 0o600 });
    expect(options.files?.['secrets/2']?.mode).toBe(0o600);
    expect(options.nodeBinary).toBe('/usr/bin/node');
  });
});

describe('assertShimLayoutFor', () => {
  it('accepts a layout built for the install dir and rejects another', async () => {
    const programs = await standInShimPrograms(join(dir, 'programs'));
    const layout = await stageLayout({ programs, ...hostShimLayout('/opt/flox-k8s'), fromSource: false }, join(dir, 'layout'));
    await assertShimLayoutFor(layout, '/opt/flox-k8s');
    await expect(assertShimLayoutFor(layout, '/srv/flox')).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_INSTALL_STATE' });
    await expect(assertShimLayoutFor(join(dir, 'none'), '/opt/flox-k8s')).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_INSTALL_STATE' });
  }, 60_000);
});
