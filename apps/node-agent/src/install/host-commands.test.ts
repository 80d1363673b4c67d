import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
      imageListCommand: ['/bin/echo', 'REF TYPE DIGEST'],
      imageImportCommand: ['/bin/sh', '-c', `cat > ${join(dir, 'imported.tar')}`],
      imageRemoveCommand: ['/bin/sh', '-c', `echo "$0" > ${join(dir, 'removed')}`],
    });
    expect(await actions.containerdVersion()).toContain('v1.7.24');
    expect(await actions.containerdConfigDefault()).toBe('version = 2\n');
    await actions.restartContainerd();
    // The image tarball goes to the import command's stdin, byte for byte; rm gets the name as its last argument.
    const tarball = Buffer.alloc(3 << 20, 7);
    await actions.importImage(tarball);
    expect((await readFile(join(dir, 'imported.tar'))).equals(tarball)).toBe(true);
    await actions.removeImage('docker.io/flox/empty:1.0.0');
    expect(await readFile(join(dir, 'removed'), 'utf8')).toBe('docker.io/flox/empty:1.0.0\n');
    expect(await actions.listImages()).toBe('REF TYPE DIGEST\n');
  });

  it('fails with a coded error when a command fails or containerd does not come back', async () => {
    const failing = commandActions({
      versionCommand: ['/bin/sh', '-c', 'echo nope >&2; exit 3'],
      configDefaultCommand: ['/nonexistent/containerd'],
      restartCommand: ['/bin/true'],
      healthCommand: ['/bin/false'],
      restartTimeoutSeconds: 1,
      imageListCommand: ['/bin/false'],
      imageImportCommand: ['/bin/sh', '-c', 'echo "ctr: unexpected EOF" >&2; exit 1'],
      imageRemoveCommand: ['/nonexistent/ctr'],
    });
    await expect(failing.containerdVersion()).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_HOST_COMMAND_FAILED', message: expect.stringContaining('nope') });
    await expect(failing.containerdConfigDefault()).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_HOST_COMMAND_FAILED' });
    await expect(failing.restartContainerd()).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_HOST_COMMAND_FAILED' });
    await expect(failing.importImage(new Uint8Array(10))).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_HOST_COMMAND_FAILED', message: expect.stringContaining('unexpected EOF') });
    await expect(failing.removeImage('x')).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_HOST_COMMAND_FAILED' });
    await expect(failing.listImages()).rejects.toMatchObject({ code: 'FLOXK8S_AGENT_HOST_COMMAND_FAILED' });
  });
});
