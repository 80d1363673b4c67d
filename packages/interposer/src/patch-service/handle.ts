import { closeSync, readFileSync, readlinkSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ACCEPT_AFTER_MS, FRONT_SCRIPT_NAME, REPLY_ACCEPTED, REPLY_DECLINE, REPLY_OK, claimFile, parsePatchRequest, replyFail, replyFifo, type PatchSubcommand } from '@flox-k8s/agent-protocol';
import type { ShimConfig } from '@flox-k8s/config';
import { parseRuncArgv, type RuncGlobals } from '../argv.ts';
import type { InterposeState, StoreViewMounter } from '../context.ts';
import { CreateTimeoutError } from '../errors.ts';
import { callerGlobals, failure, interposeRunc, type CallerPath, type InterposeOutcome, type InterposerModules } from '../interpose.ts';
import type { Logger } from '../log.ts';
import { claimPid, lstatOrUndefined, openReply } from './fifo.ts';

/** What became of one request line (for the agent's metric and log). */
export interface PatchRequestReport {
  subcommand: PatchSubcommand | undefined;
  pid: number | undefined;
  /** ok/fail: answered; timeout: failed by createTimeoutMs; dropped: not answered (see reason). */
  outcome: 'ok' | 'fail' | 'timeout' | 'dropped';
  /** Why it was dropped, or the failure's error code. */
  reason?: string;
  ms: number;
}

export interface HandlerDeps {
  dir: string;
  config: ShimConfig;
  log: Logger;
  modules: InterposerModules;
  /** How long the front may take to open its end of the reply FIFO. */
  replyOpenTimeoutMs: number;
  /** The installed front (`…/libexec/flox-k8s/runc`); when absent, any front named `runc` (or its script `runc.sh`). */
  front: string | undefined;
  /** Read the front's files through /proc/<pid>/root (the agent runs in its own mount namespace). */
  callerRoot: boolean;
  /** The NAR fetch worker module for in-process realises. */
  fetchWorker: URL | undefined;
  /** Mounts the store views of large closures after their creates (absent: never). */
  storeViews?: StoreViewMounter | undefined;
  /** Told when a front's claim is served: the FIFO leaves the pool, whose held write end (if any) comes back. */
  onClaimed: (slot: string) => number | undefined;
}

class Dropped extends Error {}

/** Serves one request line; never throws. */
export async function handlePatchRequest(line: string, deps: HandlerDeps): Promise<PatchRequestReport> {
  const started = performance.now();
  const request = parsePatchRequest(line);
  const report = (outcome: PatchRequestReport['outcome'], reason?: string): PatchRequestReport => ({
    subcommand: request?.subcommand,
    pid: request?.pid,
    outcome,
    ...(reason === undefined ? {} : { reason }),
    ms: Math.round((performance.now() - started) * 10) / 10,
  });
  if (request === undefined) return dropped(deps, report('dropped', 'malformed'), { line: line.slice(0, 80) });
  let fd: number | undefined;
  const reply = replyFifo(deps.dir, request.slot ?? request.pid);
  // The older request form has no claim: its FIFO is named by the pid.
  const claim = request.slot === undefined ? undefined : claimFile(deps.dir, request.slot);
  const release = (): void => {
    unlinkQuietly(reply);
    if (claim !== undefined) unlinkQuietly(claim);
  };
  let replyChecked = false;
  let answering = false;
  try {
    const stat = lstatOrUndefined(reply);
    if (stat === undefined) throw new Dropped('no-reply-fifo');
    if (!stat.isFIFO() || stat.uid !== process.getuid?.()) throw new Dropped('reply-not-our-fifo');
    // Only root writes in the claims directory; the claim names the front that asks.
    if (claim !== undefined && claimPid(claim) !== String(request.pid)) throw new Dropped('not-claimed');
    // A pool FIFO's end is held already: the answer goes in without waiting for the front's open.
    fd = request.slot === undefined ? undefined : deps.onClaimed(request.slot);
    replyChecked = true;
    const callerPath: CallerPath = deps.callerRoot ? (p) => (p.startsWith('/') ? `/proc/${request.pid}/root${p}` : p) : (p) => p;
    const runcArgv = frontRuncArgv(request.pid, callerArgv(request.pid), deps.front, callerPath);
    const cwd = readlinkSync(`/proc/${request.pid}/cwd`);
    let globals: RuncGlobals | undefined;
    try {
      const inv = parseRuncArgv(runcArgv, cwd);
      if (inv.subcommand !== request.subcommand) throw new Dropped('subcommand-mismatch');
      globals = inv.globals;
    } catch (error) {
      if (error instanceof Dropped) throw error;
      // interposeRunc reports a bad argv as the failure line
    }

    fd ??= await openReply(reply, deps.replyOpenTimeoutMs).catch((error: unknown) => {
      throw new Dropped(`reply-open-${(error as NodeJS.ErrnoException).code ?? 'failed'}`);
    });
    answering = true;
    // What the answer does not need waits for it, so it runs beside runc instead of before it:
    // the names of the FIFO and claim (the front holds its end open; pool names are never reused,
    // so a late watchdog finds nothing to write to) and the request's log lines (a log write is an
    // open, a write and a close). A create not answered within ACCEPT_AFTER_MS (it realises) does
    // both when it says `accepted`, and its log lines flow from then on.
    const log = new HeldLog(deps.log);
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      release();
      log.release();
    };
    // `accepted` only when the answer is not ready soon (a cold create realises): a warm create's
    // answer is its one line. Each line wakes the front, and a wake-up in the middle of the work
    // cost the work itself (bench:warm-start: the front woke twice per create).
    const replyFd = fd;
    const accept = setTimeout(() => {
      writeQuietly(replyFd, REPLY_ACCEPTED);
      settle();
    }, ACCEPT_AFTER_MS);

    const state: InterposeState = {
      loadedAt: started,
      entry: 'service',
      creatorPid: request.pid,
      context: (fields) => ({ config: deps.config, log: withFields(log, { pid: request.pid, ...fields }), fetchWorker: deps.fetchWorker, storeViews: deps.storeViews }),
    };
    try {
      const outcome = await withTimeout(
        interposeRunc(runcArgv, cwd, deps.modules, state, callerPath),
        deps.config.createTimeoutMs,
        () => failure(new CreateTimeoutError(`not patched within createTimeoutMs (${deps.config.createTimeoutMs} ms)`), state, globals === undefined ? undefined : callerGlobals(globals, callerPath)),
      ).finally(() => clearTimeout(accept));
      writeQuietly(fd, outcome.value.ok ? REPLY_OK : replyFail(outcome.value.message));
      return report(outcome.timedOut ? 'timeout' : outcome.value.ok ? 'ok' : 'fail', outcome.value.ok ? undefined : outcome.value.code);
    } finally {
      settle();
    }
  } catch (error) {
    if (error instanceof Dropped) {
      // A reply FIFO of ours whose front we will not serve (say, a pid seen through another
      // pid namespace): tell it to use its own Node now rather than after its watchdog.
      if (replyChecked && fd === undefined) void decline(reply, deps.replyOpenTimeoutMs, release);
      else if (replyChecked && !answering && fd !== undefined) {
        release();
        writeQuietly(fd, REPLY_DECLINE);
      }
      return dropped(deps, report('dropped', error.message), { line });
    }
    deps.log.log('error', 'patch request failed', { line, error });
    return report('dropped', 'internal');
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function decline(reply: string, timeoutMs: number, release: () => void): Promise<void> {
  try {
    const fd = await openReply(reply, timeoutMs);
    release();
    writeQuietly(fd, REPLY_DECLINE);
    closeSync(fd);
  } catch {
    // nobody listening: its watchdog sends it on
  }
}

function dropped(deps: HandlerDeps, report: PatchRequestReport, fields: Record<string, unknown>): PatchRequestReport {
  deps.log.log('warn', 'patch request dropped', { ...fields, reason: report.reason });
  return report;
}

/**
 * The runc argv of a front, from its process's argv: the compiled front runs as
 * `<front> <runc argv>` (`/proc/<pid>/exe` is the installed front, or any program named `runc`
 * when none is configured), the script as `/bin/sh <front or front dir/runc.sh> <runc argv>`.
 * Anything else is not ours to answer.
 */
function frontRuncArgv(pid: number, argv: string[], front: string | undefined, callerPath: CallerPath): string[] {
  if (argv.length >= 1 && runsCompiledFront(pid, front, callerPath)) return argv.slice(1);
  const script = argv[1];
  if (script !== undefined) {
    const ours = front === undefined ? ['runc', FRONT_SCRIPT_NAME].includes(basename(script)) : script === front || script === join(dirname(front), FRONT_SCRIPT_NAME);
    if (ours) return argv.slice(2);
  }
  throw new Dropped('not-the-front');
}

function runsCompiledFront(pid: number, front: string | undefined, callerPath: CallerPath): boolean {
  try {
    if (front === undefined) return basename(readlinkSync(`/proc/${pid}/exe`)) === 'runc';
    // The same file (through /proc/<pid>/exe: whatever mount namespace the front runs in).
    const exe = statSync(`/proc/${pid}/exe`);
    const installed = statSync(callerPath(front));
    return exe.dev === installed.dev && exe.ino === installed.ino;
  } catch {
    return false;
  }
}

/** argv of a live process (NUL-separated in /proc/<pid>/cmdline). */
function callerArgv(pid: number): string[] {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    throw new Dropped('no-process');
  }
  const argv = raw.split('\0');
  if (argv.at(-1) === '') argv.pop();
  return argv;
}

/** The front may be gone (killed, or it gave up): EPIPE is not ours to report. */
function writeQuietly(fd: number, line: string): void {
  try {
    writeSync(fd, line);
  } catch {
    // the front left; it did not run runc on our word
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // the front removes it itself when it gives up
  }
}

/** Keeps the lines logged to it until `release`, then passes them on, in order, and every later one at once. */
class HeldLog implements Logger {
  readonly #inner: Logger;
  #held: Array<Parameters<Logger['log']>> | undefined = [];

  constructor(inner: Logger) {
    this.#inner = inner;
  }

  log(...line: Parameters<Logger['log']>): void {
    if (this.#held === undefined) this.#inner.log(...line);
    else this.#held.push(line);
  }

  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const line of held) this.#inner.log(...line);
  }
}

function withFields(log: Logger, base: Record<string, unknown>): Logger {
  return { log: (level, msg, fields = {}) => log.log(level, msg, { ...base, ...fields }) };
}

async function withTimeout(
  work: Promise<InterposeOutcome>,
  ms: number,
  onTimeout: () => InterposeOutcome,
): Promise<{ value: InterposeOutcome; timedOut: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ value: InterposeOutcome; timedOut: boolean }>((resolve) => {
    timer = setTimeout(() => resolve({ value: onTimeout(), timedOut: true }), ms);
  });
  try {
    return await Promise.race([work.then((value) => ({ value, timedOut: false })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
