// What a served request does after its answer, seen from inside the service: a warm create's log
// lines and the release of its FIFO and claim come once the answer is written (they run beside
// runc, not before it); a create that takes longer says `accepted` and lets them go then.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ACCEPT_AFTER_MS, CLAIMS_DIR, REPLIES_DIR, claimFile, replyFifo } from '@flox-k8s/agent-protocol';
import { parseConfig } from '@flox-k8s/config';
import type { InterposerModules } from '../interpose.ts';
import type { Logger } from '../log.ts';
import { makeFifos } from './fifo.ts';
import { handlePatchRequest, type HandlerDeps } from './handle.ts';

let dir: string;
let front: ChildProcess | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flox-handle-'));
});
afterEach(() => {
  front?.kill('SIGKILL');
  front = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** What the service sees of one front: a process named `runc` asking `create`, its claimed FIFO and bundle. */
async function frontAsking(): Promise<{ pid: number; slot: string; readEnd: number; writeEnd: number }> {
  mkdirSync(join(dir, REPLIES_DIR), { recursive: true });
  mkdirSync(join(dir, CLAIMS_DIR), { recursive: true });
  const bundle = join(dir, 'bundle');
  mkdirSync(join(bundle, 'rootfs'), { recursive: true });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: ['x'], env: [], cwd: '/' }, root: { path: 'rootfs' }, annotations: { 'flox.dev/environment': 'acme/app' } }));
  // The script front as the service knows it: `/bin/sh …/runc create --bundle <b> <id>`.
  const script = join(dir, 'runc');
  // No exec: the shell stays the process, with the front's argv.
  writeFileSync(script, '#!/bin/sh\nsleep 30\n');
  chmodSync(script, 0o755);
  front = spawn('/bin/sh', [script, 'create', '--bundle', bundle, 'c1'], { stdio: 'ignore' });
  const pid = front.pid as number;
  // Until the child is the shell running the script (bounded).
  for (let i = 0; i < 200 && !readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(script); i++) await new Promise((r) => setTimeout(r, 10));
  const slot = 'ptest-0';
  const reply = replyFifo(dir, slot);
  expect(await makeFifos([reply], undefined)).toBeUndefined();
  // As the pool holds it (read-write), and as the front reads it.
  const writeEnd = openSync(reply, constants.O_RDWR | constants.O_NONBLOCK);
  const readEnd = openSync(reply, constants.O_RDONLY | constants.O_NONBLOCK);
  writeFileSync(claimFile(dir, slot), `${pid}\n`);
  return { pid, slot, readEnd, writeEnd };
}

/** What the front has been sent so far (non-blocking). */
function sent(fd: number): string {
  const buffer = Buffer.alloc(256);
  try {
    return buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, null));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return '';
    throw error;
  }
}

function deps(modules: InterposerModules, log: Logger, writeEnd: number): HandlerDeps {
  const config = parseConfig({ storeRoot: join(dir, 'store'), agentSocket: join(dir, 'agent.sock') });
  return { dir, config, log, modules, replyOpenTimeoutMs: 500, front: undefined, callerRoot: false, fetchWorker: undefined, onClaimed: () => writeEnd };
}

describe('handlePatchRequest after its answer', () => {
  it('a warm create: the answer is written before its log lines, and its FIFO and claim go after it', async () => {
    const { pid, slot, readEnd, writeEnd } = await frontAsking();
    // At each log line: what the front had been sent; while the create works: whether the names are there.
    const seen: Array<{ msg: string; sent: string }> = [];
    const log: Logger = { log: (_level, msg) => seen.push({ msg, sent: sent(readEnd) }) };
    let namesWhileWorking: boolean | undefined;
    const modules: InterposerModules = {
      create: () =>
        Promise.resolve({
          interposeCreate: async (_inv, _spec, state) => {
            namesWhileWorking = existsSync(replyFifo(dir, slot)) && existsSync(claimFile(dir, slot));
            state.context({ containerId: 'c1', environment: 'acme/app' }).log.log('info', 'container patched');
          },
        }),
      exec: () => Promise.reject(new Error('not an exec')),
    };
    const report = await handlePatchRequest(`create ${pid} ${slot}`, deps(modules, log, writeEnd));
    expect(report).toMatchObject({ subcommand: 'create', pid, outcome: 'ok' });
    expect(seen).toEqual([{ msg: 'container patched', sent: 'ok\n' }]);
    expect(namesWhileWorking).toBe(true);
    expect(existsSync(replyFifo(dir, slot))).toBe(false);
    expect(existsSync(claimFile(dir, slot))).toBe(false);
    closeSync(readEnd);
  });

  it('a create that takes longer: `accepted`, then its log lines as they come, then the answer', async () => {
    const { pid, slot, readEnd, writeEnd } = await frontAsking();
    const seen: Array<{ msg: string; sent: string; names: boolean }> = [];
    const log: Logger = { log: (_level, msg) => seen.push({ msg, sent: sent(readEnd), names: existsSync(replyFifo(dir, slot)) }) };
    const modules: InterposerModules = {
      create: () =>
        Promise.resolve({
          interposeCreate: async (_inv, _spec, state) => {
            const { log: contextLog } = state.context({ containerId: 'c1', environment: 'acme/app' });
            contextLog.log('info', 'realising');
            await new Promise((r) => setTimeout(r, ACCEPT_AFTER_MS + 150));
            contextLog.log('info', 'container patched');
          },
        }),
      exec: () => Promise.reject(new Error('not an exec')),
    };
    const report = await handlePatchRequest(`create ${pid} ${slot}`, deps(modules, log, writeEnd));
    expect(report.outcome).toBe('ok');
    // The first line waited for `accepted` (the names went just before it); the second came before the answer.
    expect(seen).toEqual([
      { msg: 'realising', sent: 'accepted\n', names: false },
      { msg: 'container patched', sent: '', names: false },
    ]);
    expect(sent(readEnd)).toBe('ok\n');
    closeSync(readEnd);
  });
});
