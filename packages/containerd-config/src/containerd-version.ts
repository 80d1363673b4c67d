import { ContainerdVersionError } from './errors.ts';

/** What the installer needs to know about the host's containerd. */
export interface ContainerdInfo {
  version: string;
  major: number;
  minor: number;
  patch: number;
  /** Config format a fresh config file gets: 2 for 1.x, 3 for 2.x. */
  configVersion: 2 | 3;
  /** `runtime_path` is honoured from 1.6.21 / 1.7.1 on; 1.6.20 and 1.7.0 ignore it. */
  supportsRuntimePath: boolean;
}

// Debian prints `containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3`,
// upstream `containerd github.com/containerd/containerd/v2 v2.1.9 <commit>`.
const versionPattern = /\bv?(\d+)\.(\d+)\.(\d+)(?:[-~+][0-9A-Za-z.~+-]*)?/;

/** Read the output of `containerd --version`. */
export function parseContainerdVersion(output: string): ContainerdInfo {
  const line = output.split('\n').find((l) => l.trim().length > 0) ?? '';
  const rest = line.replace(/^\S*containerd\S*\s+\S+\s+/, '');
  const match = versionPattern.exec(rest) ?? versionPattern.exec(line);
  if (!match) {
    throw new ContainerdVersionError(
      `expected "containerd --version" to print a version like "containerd <module> v1.7.24 <commit>", found ${JSON.stringify(line.slice(0, 200))}; set installer.containerdVersion in the agent config to override`,
    );
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  const patch = Number(match[3]);
  if (major < 1 || (major === 1 && minor < 6)) {
    throw new ContainerdVersionError(
      `expected containerd 1.6 or newer, found ${major}.${minor}.${patch}; upgrade containerd on this node`,
    );
  }
  const supportsRuntimePath = major >= 2 || minor >= 8 || (minor === 6 && patch >= 21) || (minor === 7 && patch >= 1);
  return {
    version: `${major}.${minor}.${patch}`,
    major,
    minor,
    patch,
    configVersion: major >= 2 ? 3 : 2,
    supportsRuntimePath,
  };
}
