import { chmodSync, constants, lstatSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { CLAIMS_DIR, MAX_REQUEST_LINE, REPLIES_DIR, requestFifo } from '@flox-k8s/agent-protocol';
import type { ShimConfig } from '@flox-k8s/config';
import type { StoreViewMounter } from '../context.ts';
import * as create from '../create.ts';
import { PatchServiceError } from '../errors.ts';
import * as exec from '../exec.ts';
import type { InterposerModules } from '../interpose.ts';
import type { Logger } from '../log.ts';
import { ensureFifo, removeStaleReplies } from './fifo.ts';
import { handlePatchRequest, type PatchRequestReport } from './handle.ts';
import { ReplyPool } from './pool.ts';

export interface PatchServiceOptions {
  /** The rendezvous directory (config `patchServiceDir`); made root-only (0700). */
  dir: string;
  /** The shim config the per-create entry point would load (store, sources, timeouts). */
  config: ShimConfig;
  log: Logger;
  /** Called once per request line, after it was answered or dropped. */
  onRequest?: (report: PatchRequestReport) => void;
  /** The FIFO failed, or `onRequest` threw: logged and reported here; the service keeps reading. */
  onError?: (error: unknown) => void;
  /** The installed runc front; when absent, any script named `runc` is taken for it. */
  front?: string;
  /** Reach the front's files through /proc/<pid>/root (default true: works in the host's mount namespace too). */
  callerRoot?: boolean;
  /** How long a front may take to open its reply FIFO (default 1000 ms: its own watchdog's bound). */
  replyOpenTimeoutMs?: number;
  /** The mkfifo command to run (default: mkfifo(3) through koffi, or `mkfifo` on PATH where that does not load). */
  mkfifo?: string;
  /** Reply FIFOs kept ready for fronts to claim (default 32). */
  replyPoolSize?: number;
  /** The NAR fetch worker module for in-process realises (see InterposerContext). */
  fetchWorker?: URL | undefined;
  /** Mounts the store views of large closures on the host (view-mounter.ts); absent: every create binds each path. */
  storeViews?: StoreViewMounter | undefined;
}

export interface PatchService {
  /** The request FIFO the fronts write to. */
  fifo: string;
  /** Requests being served now. */
  readonly inFlight: number;
  /** Stops reading and removes the request FIFO (when it is still ours), so fronts go straight to their own Node. */
  close(): Promise<void>;
}

const modules: InterposerModules = { create: () => Promise.resolve(create), exec: () => Promise.resolve(exec) };
const STALE_SWEEP_MS = 60_000;
const CLOSE_GRACE_MS = 2000;

/**
 * The node agent's patch service: a long-lived, warm process that does what the runc
 * front's per-create Node process would do (same code: interposeRunc), so a warm
 * container start pays no Node start-up. See protocol.ts for the hand-off.
 */
export async function listenPatchService(options: PatchServiceOptions): Promise<PatchService> {
  const { dir, log } = options;
  mkdirSync(join(dir, REPLIES_DIR), { recursive: true, mode: 0o700 });
  mkdirSync(join(dir, CLAIMS_DIR), { recursive: true, mode: 0o700 });
  const dirStat = lstatSync(dir);
  if (!dirStat.isDirectory() || dirStat.uid !== process.getuid?.()) {
    throw new PatchServiceError(`${dir} must be a directory owned by this user (uid ${process.getuid?.()}); remove it or set patchServiceDir elsewhere`);
  }
  // Only root may ask for patches or plant replies.
  chmodSync(dir, 0o700);
  chmodSync(join(dir, REPLIES_DIR), 0o700);
  chmodSync(join(dir, CLAIMS_DIR), 0o700);
  const failed = (msg: string, error: unknown): void => {
    log.log('error', msg, { error });
    options.onError?.(error);
  };
  const mkfifo = options.mkfifo;
  const pool = new ReplyPool({ dir, mkfifo, size: options.replyPoolSize, onError: (error) => failed('reply FIFO pool refill failed', error) });
  // A previous service's pool goes, but not what a live front has claimed.
  removeStaleReplies(dir, pool);
  // Ready before the request FIFO appears, so the first fronts find FIFOs to claim.
  await pool.refill();
  const fifo = requestFifo(dir);
  const ours = ensureFifo(fifo, mkfifo);
  // O_RDWR: never blocks, and the read end never sees EOF when fronts close theirs.
  const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  const socket = new Socket({ fd, readable: true, writable: false });
  const deps = {
    dir,
    config: options.config,
    log,
    modules,
    replyOpenTimeoutMs: options.replyOpenTimeoutMs ?? 1000,
    front: options.front,
    callerRoot: options.callerRoot ?? true,
    fetchWorker: options.fetchWorker,
    storeViews: options.storeViews,
    onClaimed: (slot: string) => pool.take(slot),
  };
  const pending = new Set<Promise<void>>();
  // A refill without mkfifo(3) starts a `mkfifo` process: forking this process blocks its event
  // loop (bench:warm-start's profile: 13 ms per refill, inside the answer of the create that claimed
  // the FIFO). So it waits until no request is being served; meanwhile fronts take what is left,
  // then make their own FIFOs.
  const refillWhenIdle = (): void => {
    if (pending.size > 0) return;
    setImmediate(() => {
      if (pending.size === 0) void pool.refill();
    });
  };
  let buffered = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const served = handlePatchRequest(line, deps)
        .then((report) => options.onRequest?.(report))
        .catch((error: unknown) => failed('patch request report failed', error))
        .finally(() => {
          pending.delete(served);
          refillWhenIdle();
        });
      pending.add(served);
    }
    if (buffered.length > MAX_REQUEST_LINE) {
      log.log('warn', 'patch request dropped', { reason: 'too-long', line: buffered.slice(0, 80) });
      buffered = '';
      try {
        options.onRequest?.({ subcommand: undefined, pid: undefined, outcome: 'dropped', reason: 'too-long', ms: 0 });
      } catch (error) {
        failed('patch request report failed', error);
      }
    }
  });
  socket.on('error', (error) => failed('patch service FIFO failed', error));
  const sweep = setInterval(() => {
    removeStaleReplies(dir, pool);
    void pool.refill();
  }, STALE_SWEEP_MS);
  sweep.unref();
  log.log('info', 'patch service listening', { fifo });
  return {
    fifo,
    get inFlight() {
      return pending.size;
    },
    async close() {
      clearInterval(sweep);
      socket.destroy();
      await pool.drain();
      // A newer agent may already have made its own FIFO here: remove only ours.
      try {
        const now = lstatSync(fifo);
        if (now.ino === ours.ino && now.dev === ours.dev) unlinkSync(fifo);
      } catch {
        // gone already
      }
      // Fronts being served hold their reply open: give them a moment for their answer.
      // Past that, they see EOF when this process exits and run their own Node instead.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...pending]), new Promise((r) => (timer = setTimeout(r, CLOSE_GRACE_MS)))]);
      clearTimeout(timer);
    },
  };
}
