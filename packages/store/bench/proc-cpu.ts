import { readFileSync } from 'node:fs';

/** Seconds from two adjacent clock-tick fields of /proc/<pid>/stat (counted after the command name; 100 Hz on Linux). */
function statCpu(pid: number | 'self', field: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[field]) + Number(fields[field + 1])) / 100;
}

/** utime + stime of a process. */
export const processCpu = (pid: number): number => statCpu(pid, 11);
/** cutime + cstime of this process: the CPU of its reaped children. */
export const childrenCpu = (): number => statCpu('self', 13);
