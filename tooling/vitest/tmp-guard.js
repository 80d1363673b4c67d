// Global setup of a guarded project (floxProject(name, test, { guardTmp: true })): the
// project's workers get a private TMPDIR (config below), created here and required to be
// empty when the run ends. A test that leaves a temp file or directory behind fails the
// run, naming it. Scoped to one project and one vitest process, so other suites and other
// runs on the same machine (their own /tmp entries) never count.
import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';

/** @param {import('vitest/node').TestProject} project */
export default function setup(project) {
  const dir = project.config.env?.['TMPDIR'];
  if (typeof dir !== 'string' || dir === '') throw new Error(`tmp guard: project ${project.name} has no test.env.TMPDIR`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  // Like /tmp: anyone may create entries (tests run children as other users), only the owner remove them.
  chmodSync(dir, 0o1777);
  return () => {
    const left = readdirSync(dir);
    rmSync(dir, { recursive: true, force: true });
    if (left.length > 0) throw new Error(`tests of ${project.name} left ${left.length} temp entr${left.length === 1 ? 'y' : 'ies'} behind: ${left.sort().join(', ')}`);
  };
}
