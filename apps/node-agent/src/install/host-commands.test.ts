import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandActions } from './host-commands.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-agent-cmd-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('commandActions', () => {
  it('restarts, then polls the health command until it passes', async () => {
    const marker = join(dir, 'up');
    const actions = commandActions({
      versionCommand: ['/bin/echo', 'containerd github.com/containerd/containerd v1.7.24 x'],
      configDefaultCommand: ['/bin/echo', 'version = 2'],
      // "containerd" comes back a moment after the restart command returns
      restartCommand: ['/bin/sh', '-c', `(sleep 0.3; touch ${marker}) >/dev/null 2>&1 &`],
      healthCommand: ['/bin/sh', '-c', `test -e ${marker}`],
      restartTimeoutSeconds: 10,
    });
    expect(await actions.containerdVersion()).toContain('v1.7.24');
    expect(await actions.containerdConfigDefault()).toBe('version = 2\n');
    await actions.restartContainerd();
  });

  it('fails with a coded error when a command fails or containerd does not come back', async () => {
    const failing = commandActions({
      versionCommand: ['/bin/sh', '-c', 'echo nope >&2; exit 3'],
      configDefaultCommand: ['/nonexistent/containerd'],
      restartCommand: ['/bin/true'],
      healthCommand: ['/bin/false'],
      restartTimeoutSeconds: 1,
    });
    await expect(failing.containerdVersion()).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_HOST_COMMAND_FAILED', message: expect.stringContaining('nope') });
    await expect(failing.containerdConfigDefault()).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_HOST_COMMAND_FAILED' });
    await expect(failing.restartContainerd()).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_HOST_COMMAND_FAILED' });
  });
});
