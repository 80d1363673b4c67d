import { isCI } from './env.ts';
import { HarnessPrerequisiteError } from './errors.ts';

/**
 * Why an e2e suite cannot run here (not root), or `undefined` when it can. Under CI=true a missing
 * privilege is an error, never a skip: use as `describe.skipIf(requireRoot())`.
 */
export function requireRoot(): string | undefined {
  const root = process.getuid?.() === 0;
  if (root) return undefined;
  if (isCI()) throw new HarnessPrerequisiteError('e2e suites need root (containerd, runc, mounts); CI must run them as root');
  return 'e2e suites need root (containerd, runc, mounts); skipped outside CI';
}
