import type { LockfileIssue } from './errors.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Render a zod-style path as `packages[3].outputs.out` (odd keys as `["a b"]`). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key).slice(0, 60))}]`;
  }
  return out;
}

/** Turn zod issues (paths relative to `prefix`) into readable {@link LockfileIssue}s. */
export function toIssues(prefix: readonly PropertyKey[], issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): LockfileIssue[] {
  return issues.map((issue) => ({ path: formatPath([...prefix, ...issue.path]), message: tidy(issue.message) }));
}

// zod 4 words type errors as "Invalid input: expected string, received number";
// we keep the "expected …, found …" part, which is what our messages say.
function tidy(message: string): string {
  return message.replace(/^Invalid input: /, '').replace(/, received /, ', found ');
}
