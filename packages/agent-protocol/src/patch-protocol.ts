import { join } from 'node:path';

// The hand-off between the runc front (sh) and the patch service, over FIFOs in a
// root-only directory. A request is one line `<create|exec> <pid> <slot>` written to
// the request FIFO; lines are far below PIPE_BUF, so concurrent writers never interleave.
// `<slot>` names the reply FIFO `replies/<slot>`: one the service made ahead of time
// (`p…`, claimed by the front with a no-clobber create of `claims/<slot>` holding its
// pid: no process started on the hot path), or `<pid>` when the pool was empty and the
// front made its own. A line without a slot is the older form: reply on `replies/<pid>`.
// The service reads the front's argv and cwd from /proc/<pid>, and answers on the reply
// FIFO: `ok` (runc may run: the spec is patched, or there was nothing to patch: every create
// comes here while the service is up) or `fail <line>`, after `accepted` when that answer is
// not ready within ACCEPT_AFTER_MS (a create that realises); or just `decline` (not served:
// the front decides and patches with its own Node). A front waits a second for the first line.

/**
 * Who may ask. The front is installed as `runc` in the layout's front directory: either the
 * sh script itself (it runs as `/bin/sh <front> <runc argv>`), or a compiled program (it runs as
 * `<front> <runc argv>`, `/proc/<pid>/exe` is it) with the script beside it under this name,
 * which the compiled front execs for every case it does not handle itself.
 */
export const FRONT_SCRIPT_NAME = 'runc.sh';
/** The compiled front's settings beside it: `runc=<real runc>` and `patcher=<this directory>` lines. */
export const FRONT_CONFIG_NAME = 'runc-front.conf';

/** The request FIFO inside the service directory. */
export const REQUEST_FIFO = 'requests';
/** Directory of the reply FIFOs: the service's pool (`p…`) and fronts' own (`<pid>`). */
export const REPLIES_DIR = 'replies';
/** Directory of the claims on reply FIFOs: `claims/<slot>` holds the claiming front's pid. */
export const CLAIMS_DIR = 'claims';
/** Reply FIFOs the service makes ahead of time are named with this prefix. */
export const POOL_PREFIX = 'p';
/** Longest request line the service accepts (bytes, without the newline). */
export const MAX_REQUEST_LINE = 64;

export type PatchSubcommand = 'create' | 'exec';

export interface PatchRequest {
  subcommand: PatchSubcommand;
  pid: number;
  /** The reply FIFO's name under replies/; undefined in the older form (reply on `replies/<pid>`, no claim). */
  slot: string | undefined;
}

const SLOT = `${POOL_PREFIX}[0-9a-z]{1,12}-[0-9]{1,10}|[1-9][0-9]{0,9}`;
const REQUEST = new RegExp(`^(create|exec) ([1-9][0-9]{0,9})(?: (${SLOT}))?$`);

/** A request line, or undefined when it is not one. */
export function parsePatchRequest(line: string): PatchRequest | undefined {
  const match = REQUEST.exec(line);
  if (match === null) return undefined;
  return { subcommand: match[1] as PatchSubcommand, pid: Number(match[2]), slot: match[3] };
}

/** Whether `name` is a reply slot of the service's pool. */
export function isPoolSlot(name: string): boolean {
  return new RegExp(`^${POOL_PREFIX}[0-9a-z]{1,12}-[0-9]{1,10}$`).test(name);
}

export function requestFifo(dir: string): string {
  return join(dir, REQUEST_FIFO);
}

export function replyFifo(dir: string, slot: string | number): string {
  return join(dir, REPLIES_DIR, String(slot));
}

export function claimFile(dir: string, slot: string): string {
  return join(dir, CLAIMS_DIR, slot);
}

/**
 * How long the service works on a request before it says `accepted` (and the front, which waits
 * a second for a first line, then waits for the answer without a bound of its own): well inside
 * that second, and longer than a warm create takes, whose answer is then its only line.
 */
export const ACCEPT_AFTER_MS = 100;

export const REPLY_ACCEPTED = 'accepted\n';
export const REPLY_OK = 'ok\n';
export const REPLY_DECLINE = 'decline\n';

/** The final line of a failed request (the front prints what follows `fail `). */
export function replyFail(message: string): string {
  return `fail ${message.replace(/[\r\n]+/g, ' ')}\n`;
}
