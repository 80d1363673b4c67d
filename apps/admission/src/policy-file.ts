// The SBOM policy from its file (a ConfigMap volume, updated in place by the kubelet):
// read at start (a bad policy stops the start: the webhook fails closed), then polled;
// a bad new version is reported and the policy in force kept.
import { readFileSync } from 'node:fs';
import { PolicyInvalidError } from './errors.ts';
import { NO_POLICY, parsePolicy, type Policy } from './policy.ts';

export interface PolicyHolder {
  current(): Policy;
  stop(): void;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new PolicyInvalidError(`cannot read the policy file ${path}: ${(cause as Error).message}`, { cause });
  }
}

/** Load the policy (none without a file) and keep it current. */
export function policyFromFile(path: string | undefined, intervalMs: number, events: { loaded(rules: number): void; rejected(error: unknown): void }): PolicyHolder {
  if (path === undefined) return { current: () => NO_POLICY, stop: () => undefined };
  let text = read(path);
  let policy = parsePolicy(text, path);
  events.loaded(policy.rules);
  const timer = setInterval(() => {
    try {
      const next = read(path);
      if (next === text) return;
      text = next;
      policy = parsePolicy(next, path);
      events.loaded(policy.rules);
    } catch (error) {
      events.rejected(error);
    }
  }, intervalMs);
  timer.unref();
  return { current: () => policy, stop: () => clearInterval(timer) };
}
