// Every running flox container is a GC root, however its closure was realised (in-process,
// by the node agent, from a cached plan). At `runc create` the interposer records one root per
// container, naming the container and runc's state directory; GC keeps it while the process
// creating it runs or runc's state for the container exists, and releases it after `runc
// delete`. Nothing runs on delete (the runc front's pass-through path stays Node-free), no
// agent has to renew anything, and a reboot ends every root (runc's state lives in /run).
//
// This module is what the interposer's warm path loads: node: modules and small store files
// only (no zod, no binary-cache client). GC reads the roots in root-reader.ts.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from './atomic-file.ts';
import { StoreAbortedError, StoreOptionsError, errnoIn, writeFailure } from './errors.ts';
import { isLocked } from './file-lock.ts';
import { ownerTag, processStartTime, selfOwner, type ProcessOwner } from './process-owner.ts';

/** A container's root as stored. */
export interface ContainerRoot {
  /** runc's container id (containerd's). */
  containerId: string;
  /** runc's `--root`, as the host sees it: the container is live while `<runcRoot>/<containerId>` exists. */
  runcRoot: string;
  /** The process that becomes `runc create` (the runc front): live while it runs, before runc wrote its state. */
  creator: ProcessOwner;
  /** Store paths the container mounts (with their closures). */
  roots: string[];
  /** The environment reference, for people reading the file. */
  environment?: string | undefined;
  /** ms since the epoch. */
  createdAt: number;
}

/** runc's container id syntax (libcontainer: `^[\w+-\.]+$`), minus the `.` and `..` it would take as paths. */
export const CONTAINER_ID: RegExp = /^(?!\.{1,2}$)[\w+.-]{1,1024}$/;

/** The directory of container roots under a store root. */
export function containerRootsDir(storeRoot: string): string {
  return join(storeRoot, 'roots', 'containers');
}

/** `<sha256 of runcRoot NUL containerId>.json`: one file per container, whatever its id's length. */
export function containerRootName(runcRoot: string, containerId: string): string {
  return `${createHash('sha256').update(`${runcRoot}\0${containerId}`).digest('hex')}.json`;
}

export interface ContainerRootInput {
  containerId: string;
  runcRoot: string;
  /** PID of the process that becomes `runc create` (default: this one). */
  creatorPid?: number;
  roots: readonly string[];
  environment?: string;
}

/**
 * Records (or replaces) the root of the container about to be created. Not fsynced: a power
 * loss ends the container too, and a file torn by it is recognised as of a previous boot.
 * Fails with `FLOXK8S_STORE_DISK_FULL` / `FLOXK8S_STORE_WRITE_FAILED`, leaving the old file.
 */
export function writeContainerRoot(storeRoot: string, input: ContainerRootInput): string {
  if (!CONTAINER_ID.test(input.containerId)) throw new StoreOptionsError(`container root: expected a runc container id, found ${JSON.stringify(input.containerId.slice(0, 80))}`);
  if (!input.runcRoot.startsWith('/') || input.runcRoot.split('/').includes('..')) {
    throw new StoreOptionsError(`container root: expected runc's --root as an absolute path, found ${JSON.stringify(input.runcRoot)}`);
  }
  const self = selfOwner();
  const pid = input.creatorPid ?? self.pid;
  const start = pid === self.pid ? self.start : processStartTime(pid);
  if (start === undefined) throw new StoreOptionsError(`container root of ${input.containerId}: its creating process ${pid} is gone`);
  const root: ContainerRoot = {
    containerId: input.containerId,
    runcRoot: input.runcRoot,
    creator: { pid, start, boot: self.boot },
    roots: [...input.roots],
    ...(input.environment === undefined ? {} : { environment: input.environment }),
    createdAt: Date.now(),
  };
  const dir = containerRootsDir(storeRoot);
  const name = containerRootName(input.runcRoot, input.containerId);
  const write = (): void => writeFileAtomic({ dir, name, tmpName: `.${name}.${ownerTag()}.tmp`, data: JSON.stringify(root), durable: false, what: `the root of container ${input.containerId}` });
  if (!madeRootsDirs.has(dir)) makeRootsDir(dir);
  try {
    write();
  } catch (err) {
    // Removed since this process made it: made again, written again.
    if (errnoIn(err) !== 'ENOENT') throw err;
    makeRootsDir(dir);
    write();
  }
  return join(dir, name);
}

// The roots directory is made once per process, not on every create (a long-lived writer, the
// node agent's patch service, would pay a mkdir and a stat per container start).
const madeRootsDirs = new Set<string>();

function makeRootsDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw writeFailure(err, 'creating the container roots directory', dir);
  }
  madeRootsDirs.add(dir);
}

/**
 * Resolves once no GC holds the store's lock. A GC that read its roots before a container
 * root was written may still delete what that root names; a caller that checks paths after
 * this (the warm path's cached plan) sees the store as every later GC will leave it.
 */
export async function waitWhileGcRuns(storeRoot: string, signal?: AbortSignal): Promise<void> {
  const gcLock = join(storeRoot, 'gc.lock');
  for (let delay = 2; isLocked(gcLock); delay = Math.min(delay * 2, 50)) {
    if (signal?.aborted) throw new StoreAbortedError('aborted while waiting for a GC to finish', { cause: signal.reason });
    await sleep(delay);
  }
}
