/** How one doctor check came out. `problem` makes `doctor` exit 1. */
export type CheckStatus = 'ok' | 'problem' | 'warning' | 'skipped';

/** One line of the doctor's report (and one object of its JSON `checks`). */
export interface Check {
  /** Stable id: `containerd.version`, `runtime.entry`, … */
  id: string;
  status: CheckStatus;
  /** One line: what was found. */
  summary: string;
  /** For problems and warnings: a stable `FLOXK8S_DOCTOR_…` code (or the code of the error behind it). */
  code?: string;
  /** Further lines (files read, a block of TOML to add). */
  details?: string[];
  /** What to do about it. */
  next?: string;
}

export const ok = (id: string, summary: string, details?: string[]): Check => ({ id, status: 'ok', summary, ...(details ? { details } : {}) });
export const skipped = (id: string, summary: string, next?: string): Check => ({ id, status: 'skipped', summary, ...(next ? { next } : {}) });

export function problem(id: string, code: string, summary: string, next: string, details?: string[]): Check {
  return { id, status: 'problem', code, summary, next, ...(details ? { details } : {}) };
}

export function warning(id: string, code: string, summary: string, next: string, details?: string[]): Check {
  return { id, status: 'warning', code, summary, next, ...(details ? { details } : {}) };
}

const LABEL: Record<CheckStatus, string> = { ok: 'ok     ', problem: 'PROBLEM', warning: 'warning', skipped: 'skipped' };

/** The report for people: one line per check, indented details and next steps. */
export function renderReport(checks: readonly Check[]): string {
  const lines: string[] = [];
  for (const check of checks) {
    lines.push(`${LABEL[check.status]}  ${check.id}: ${check.summary}${check.code === undefined ? '' : ` [${check.code}]`}`);
    for (const detail of check.details ?? []) lines.push(...detail.split('\n').map((l) => `           ${l}`));
    if (check.next !== undefined) {
      const [first, ...more] = check.next.split('\n');
      lines.push(`           next: ${first}`, ...more.map((l) => `             ${l}`));
    }
  }
  const problems = checks.filter((c) => c.status === 'problem').length;
  const warnings = checks.filter((c) => c.status === 'warning').length;
  lines.push('', problems === 0 ? `no problems${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}` : `${problems} problem${problems === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
  return `${lines.join('\n')}\n`;
}
