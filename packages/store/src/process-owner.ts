import { readFileSync } from 'node:fs';

/** Who holds a lock or a temp area: enough to tell, after a crash, whether the holder is gone. */
export interface ProcessOwner {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22): defeats PID reuse. */
  start: string;
  /** Kernel boot id: every owner from a previous boot is dead. */
  boot: string;
}

let bootIdCache: string | undefined;

function bootId(): string {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootIdCache = 'unknown';
    }
  }
  return bootIdCache;
}

/** Start time of `pid`, or undefined when no such process exists. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return undefined; // a zombie holds nothing any more
  return fields[19];
}

let bootTimeCache: number | undefined;

/** When this boot began (ms since the epoch; `btime` of /proc/stat), 0 when unknown. */
export function bootTimeMs(): number {
  if (bootTimeCache === undefined) {
    try {
      const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
      bootTimeCache = m?.[1] === undefined ? 0 : Number(m[1]) * 1000;
    } catch {
      bootTimeCache = 0;
    }
  }
  return bootTimeCache;
}

let selfCache: ProcessOwner | undefined;

/** This process, as recorded in lock files and temp names. */
export function selfOwner(): ProcessOwner {
  selfCache ??= { pid: process.pid, start: processStartTime(process.pid) ?? '0', boot: bootId() };
  return selfCache;
}

/** True while the recorded owner process still runs (same boot, same PID, same start time). */
export function ownerAlive(owner: ProcessOwner): boolean {
  if (owner.boot !== bootId()) return false;
  if (owner.pid === process.pid) return owner.start === selfOwner().start;
  return processStartTime(owner.pid) === owner.start;
}

/** `<pid>-<start>` prefix for temp names, so debris of dead processes can be told apart from live work. */
export function ownerTag(owner: ProcessOwner = selfOwner()): string {
  return `${owner.pid}-${owner.start}`;
}

/** Parses an `ownerTag` prefix of a file name back to an owner on this boot. */
export function ownerFromTag(name: string): ProcessOwner | undefined {
  const m = /^(\d+)-(\d+)-/.exec(name);
  if (!m?.[1] || !m[2]) return undefined;
  return { pid: Number(m[1]), start: m[2], boot: bootId() };
}
