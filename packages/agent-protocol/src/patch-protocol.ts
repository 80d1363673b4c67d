import { join } from 'node:path';

// The hand-off between the runc front (sh) and the patch service, over FIFOs in a
// root-only directory. A request is one line `<create|exec> <pid>` written to the
// request FIFO; lines are far below PIPE_BUF, so concurrent writers never interleave.
// The service reads the front's argv and cwd from /proc/<pid>, and answers on the
// FIFO `replies/<pid>` that the front made: `accepted` at once, then `ok` (runc may
// run: the spec is patched, or there was nothing to patch) or `fail <line>`; or just
// `decline` (not served: the front patches with its own Node).

/** The request FIFO inside the service directory. */
export const REQUEST_FIFO = 'requests';
/** Directory of the per-request reply FIFOs, named by the front's pid. */
export const REPLIES_DIR = 'replies';
/** Longest request line the service accepts (bytes, without the newline). */
export const MAX_REQUEST_LINE = 64;

export type PatchSubcommand = 'create' | 'exec';

export interface PatchRequest {
  subcommand: PatchSubcommand;
  pid: number;
}

/** A request line, or undefined when it is not one. */
export function parsePatchRequest(line: string): PatchRequest | undefined {
  const match = /^(create|exec) ([1-9][0-9]{0,9})$/.exec(line);
  if (match === null) return undefined;
  return { subcommand: match[1] as PatchSubcommand, pid: Number(match[2]) };
}

export function requestFifo(dir: string): string {
  return join(dir, REQUEST_FIFO);
}

export function replyFifo(dir: string, pid: number): string {
  return join(dir, REPLIES_DIR, String(pid));
}

export const REPLY_ACCEPTED = 'accepted\n';
export const REPLY_OK = 'ok\n';
export const REPLY_DECLINE = 'decline\n';

/** The final line of a failed request (the front prints what follows `fail `). */
export function replyFail(message: string): string {
  return `fail ${message.replace(/[\r\n]+/g, ' ')}\n`;
}
