import { readFile } from 'node:fs/promises';

/** One line of a CRI container log: `<RFC3339Nano time> <stdout|stderr> <P|F> <content>`. */
export interface CriLogEntry {
  time: string;
  stream: 'stdout' | 'stderr';
  /** `P`: the content continues in the next entry; `F`: the content ended with a newline (stripped). */
  partial: boolean;
  content: Buffer;
}

/** A container log split back into its streams, byte for byte as the container wrote them. */
export interface ContainerLog {
  entries: CriLogEntry[];
  stdout: Buffer;
  stderr: Buffer;
}

/** Parse CRI log bytes (as written by containerd for kubelet). Lines that do not fit the format are skipped. */
export function parseCriLog(bytes: Uint8Array): ContainerLog {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: CriLogEntry[] = [];
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end === -1) end = buf.length;
    const line = buf.subarray(start, end);
    start = end + 1;
    const s1 = line.indexOf(0x20);
    const s2 = s1 === -1 ? -1 : line.indexOf(0x20, s1 + 1);
    if (s2 === -1) continue;
    const stream = line.subarray(s1 + 1, s2).toString('latin1');
    if (stream !== 'stdout' && stream !== 'stderr') continue;
    const s3 = line.indexOf(0x20, s2 + 1);
    const tag = line.subarray(s2 + 1, s3 === -1 ? line.length : s3).toString('latin1');
    const content = s3 === -1 ? Buffer.alloc(0) : line.subarray(s3 + 1);
    entries.push({ time: line.subarray(0, s1).toString('latin1'), stream, partial: tag.split(':').includes('P'), content: Buffer.from(content) });
  }
  const join = (stream: 'stdout' | 'stderr'): Buffer =>
    Buffer.concat(entries.filter((e) => e.stream === stream).flatMap((e) => (e.partial ? [e.content] : [e.content, Buffer.from('\n')])));
  return { entries, stdout: join('stdout'), stderr: join('stderr') };
}

/** Read and parse a container's CRI log file; an absent file reads as empty. */
export async function readContainerLog(path: string): Promise<ContainerLog> {
  const bytes = await readFile(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return Buffer.alloc(0);
    throw err;
  });
  return parseCriLog(bytes);
}
