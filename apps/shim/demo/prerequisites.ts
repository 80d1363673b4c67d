import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DemoPrerequisiteError } from '../src/errors.ts';

const run = promisify(execFile);

export interface DemoHost {
  /** The containerd generation to run, from the installed containerd's version. */
  generation: '1.6' | '1.7' | '2.1';
  containerdVersion: string;
}

async function onPath(name: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(':')) {
    if (dir === '') continue;
    const file = join(dir, name);
    if (await access(file, constants.X_OK).then(() => true, () => false)) return file;
  }
  return undefined;
}

/** Checks root, containerd, runc and the runc v2 shim; names exactly what is missing. */
export async function checkDemoHost(path: string): Promise<DemoHost> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (run it with sudo, or as root): containerd and runc need it');
  const containerd = await onPath('containerd', path);
  if (containerd === undefined) missing.push('containerd (apt-get install containerd)');
  if ((await onPath('containerd-shim-runc-v2', path)) === undefined) missing.push('containerd-shim-runc-v2 (part of the containerd package)');
  if ((await onPath('runc', path)) === undefined) missing.push('runc (apt-get install runc)');
  if (missing.length > 0) {
    throw new DemoPrerequisiteError(`cannot run the demo here; missing: ${missing.join('; ')}`);
  }
  const { stdout } = await run(containerd as string, ['--version']);
  const version = /\bv?(\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (version === null) throw new DemoPrerequisiteError(`cannot tell the containerd version from "${stdout.trim()}"`);
  const [major, minor] = [Number(version[1]), Number(version[2])];
  const generation = major >= 2 ? '2.1' : minor >= 7 ? '1.7' : '1.6';
  if (major === 1 && minor < 6) {
    throw new DemoPrerequisiteError(`containerd ${version[0]} is too old: the flox runtime needs containerd 1.6 or newer`);
  }
  return { generation, containerdVersion: version[0] };
}
