// The patch service's checks on reply FIFOs, exercised with the service running as a non-root
// user (65534): a reply FIFO of another user (root), a symlinked reply path, a regular file,
// and a FIFO swapped for a symlink between the service's lstat and its open (O_NOFOLLOW) are
// each refused and reported (the agent counts reports), and the service keeps serving: the
// real sh front, run as that user too, is answered after all of them. Root only: it switches
// users (setpriv, process.setuid), no machine change.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '@flox-k8s/vitest-config/until';
import type { PatchRequestReport } from '@flox-k8s/interposer';
import { installLayout, type InstallLayout } from '@flox-k8s/shim-layout';
import { shimPrograms } from '../src/programs.ts';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env['CI'] === 'true') throw new Error('the patch-service owner test switches users: it needs root, and CI runs as root');
const asNobody = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];

describe.skipIf(!isRoot)('patch service run by a non-root user: reply FIFO checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flox-patch-owner-'));
  const serviceDir = join(dir, 'svc', 'patcher');
  const replies = join(serviceDir, 'replies');
  const recorded = join(dir, 'runc-calls');
  const fakeFront = join(dir, 'fake', 'runc');
  let layout: InstallLayout;
  let service: ChildProcess;
  let raceFront: ChildProcess;
  let sleeper: ChildProcess;
  const lines: Array<{ report?: PatchRequestReport; opening?: string; listening?: string; uid?: number }> = [];

  beforeAll(async () => {
    // Everything the user must reach: traversable; its own directory for the service.
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'svc'));
    chownSync(join(dir, 'svc'), NOBODY, NOBODY);
    writeFileSync(recorded, '');
    chownSync(recorded, NOBODY, NOBODY);
    const runc = join(dir, 'fake-runc');
    writeFileSync(runc, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${recorded}'\nexit 0\n`, { mode: 0o755 });
    layout = await installLayout({ programs: shimPrograms, prefix: join(dir, 'install'), runc, fromSource: true, compileCache: join(dir, 'cc'), patchServiceDir: serviceDir });
    // A process that looks like a front to the service (`/bin/sh …/runc exec …`) but never opens its reply.
    mkdirSync(join(dir, 'fake'));
    writeFileSync(fakeFront, 'sleep 600\n', { mode: 0o755 });
    raceFront = spawn(asNobody[0] as string, [...asNobody.slice(1), '/bin/sh', fakeFront, 'exec', 'race'], { cwd: dir, stdio: 'ignore' });
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    service = spawn(
      process.execPath,
      ['--conditions=@flox-k8s/source', join(import.meta.dirname, 'patch-service-as-user.ts'), serviceDir, String(NOBODY), String(NOBODY), '--pause-open', String(raceFront.pid)],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PATH: '/usr/bin:/bin' } },
    );
    let buffered = '';
    service.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        lines.push(JSON.parse(buffered.slice(0, nl)) as (typeof lines)[number]);
        buffered = buffered.slice(nl + 1);
      }
    });
    const listening = await until('the service to listen', () => lines.find((l) => l.listening !== undefined));
    expect(listening.uid).toBe(NOBODY);
  }, 300_000);

  afterAll(async () => {
    for (const child of [raceFront, sleeper]) child?.kill();
    if (service !== undefined && service.exitCode === null) {
      service.kill('SIGTERM');
      await new Promise((r) => service.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${serviceDir}-store`, { recursive: true, force: true });
  });

  const reports = (): PatchRequestReport[] => lines.flatMap((l) => (l.report === undefined ? [] : [l.report]));

  function request(line: string): void {
    const fd = openSync(join(serviceDir, 'requests'), constants.O_RDWR | constants.O_NONBLOCK);
    writeSync(fd, `${line}\n`);
    closeSync(fd);
  }

  /** Sends one request and waits for its report. */
  async function served(line: string): Promise<PatchRequestReport> {
    const before = reports().length;
    request(line);
    await until(`the report of "${line}"`, () => reports().length > before);
    return reports()[before] as PatchRequestReport;
  }

  it.each([
    ['a FIFO of another user (root)', (path: string) => execFileSync('mkfifo', ['-m', '600', path])],
    ['a symlink to a FIFO of the service user', (path: string) => {
      execFileSync('mkfifo', ['-m', '600', join(dir, 'theirs.fifo')]);
      chownSync(join(dir, 'theirs.fifo'), NOBODY, NOBODY);
      symlinkSync(join(dir, 'theirs.fifo'), path);
    }],
    ['a regular file of the service user', (path: string) => {
      writeFileSync(path, '');
      chownSync(path, NOBODY, NOBODY);
    }],
  ])('refuses %s as the reply path', async (_what, plant) => {
    const path = join(replies, String(sleeper.pid));
    plant(path);
    try {
      expect(await served(`create ${sleeper.pid}`)).toMatchObject({ subcommand: 'create', pid: sleeper.pid, outcome: 'dropped', reason: 'reply-not-our-fifo' });
    } finally {
      rmSync(path, { force: true });
      rmSync(join(dir, 'theirs.fifo'), { force: true });
    }
  });

  it('refuses a reply FIFO swapped for a symlink after its check (the open is O_NOFOLLOW); the decoy gets nothing', async () => {
    const path = join(replies, String(raceFront.pid));
    execFileSync('mkfifo', ['-m', '600', path]);
    chownSync(path, NOBODY, NOBODY);
    // A FIFO of the service user with a reader: an open that followed the symlink would succeed.
    const decoy = join(dir, 'decoy.fifo');
    execFileSync('mkfifo', ['-m', '600', decoy]);
    chownSync(decoy, NOBODY, NOBODY);
    const reader = openSync(decoy, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const before = reports().length;
      request(`exec ${raceFront.pid}`);
      // The service has checked the FIFO (lstat, owner, the front's argv) and is about to open it.
      await until('the service to open the reply', () => lines.some((l) => l.opening === path));
      unlinkSync(path);
      symlinkSync(decoy, path);
      writeFileSync(`${serviceDir}.go`, '');
      await until('the report', () => reports().length > before);
      expect(reports()[before]).toMatchObject({ subcommand: 'exec', pid: raceFront.pid, outcome: 'dropped', reason: 'reply-open-ELOOP' });
      // Nothing was written to the decoy (EOF or EAGAIN, never bytes).
      let read = 0;
      try {
        read = readSync(reader, Buffer.alloc(64));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      }
      expect(read).toBe(0);
    } finally {
      closeSync(reader);
      rmSync(path, { force: true });
      rmSync(decoy, { force: true });
      rmSync(`${serviceDir}.go`, { force: true });
    }
  });

  it('keeps serving: the real front, run as the same user, is answered and runs runc', async () => {
    const before = reports().length;
    const args = ['exec', 'after-the-bogus-ones'];
    const front = spawn(asNobody[0] as string, [...asNobody.slice(1), layout.interposer, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: '/usr/bin:/bin' } });
    let stderr = '';
    front.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const status = await new Promise((r) => front.on('close', r));
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(readFileSync(recorded, 'utf8')).toBe(`${args.join(' ')}\n`);
    expect(reports().slice(before)).toMatchObject([{ subcommand: 'exec', outcome: 'ok' }]);
    expect(service.exitCode).toBeNull();
  });
});
