/** What a failed zod parse reports: its issues, each with a path and a message. */
export interface IssueList {
  readonly issues: ReadonlyArray<{ readonly path: readonly PropertyKey[]; readonly message: string }>;
}

/** One line naming up to five failing paths, e.g. `caches[0].url: expected an http(s):// URL`. */
export function formatIssues(error: IssueList): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`)
    .join('; ');
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}
