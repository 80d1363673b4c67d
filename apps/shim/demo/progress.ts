import { open } from 'node:fs/promises';

/** What the demo shows of the shim's JSON-line log while a container is created. */
export interface ShimLogLine {
  msg?: unknown;
  [key: string]: unknown;
}

/**
 * Follows the shim's log file (JSON lines, appended by the interposer) from its current end,
 * calling `onLine` for each new line until `stop()`: the demo's view of a cold start that
 * happens in another process (the interposer under containerd).
 */
export async function followShimLog(file: string, onLine: (line: ShimLogLine) => void, intervalMs = 250): Promise<{ stop(): Promise<void> }> {
  let offset = await open(file, 'r').then(
    async (h) => {
      try {
        return (await h.stat()).size;
      } finally {
        await h.close();
      }
    },
    () => 0,
  );
  let partial = '';
  const poll = async (): Promise<void> => {
    const handle = await open(file, 'r').catch(() => undefined);
    if (handle === undefined) return;
    try {
      const { size } = await handle.stat();
      if (size <= offset) return;
      const buffer = Buffer.alloc(size - offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      offset += bytesRead;
      const lines = (partial + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const text of lines) {
        try {
          onLine(JSON.parse(text) as ShimLogLine);
        } catch {
          // not a JSON line: not ours to show
        }
      }
    } finally {
      await handle.close();
    }
  };
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(poll);
  }, intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
      await poll();
    },
  };
}

const mb = (bytes: unknown): string => (Number(bytes) / 1e6).toFixed(1);

/** One line for a `realise progress` log entry: paths and MB done of the total. */
export function describeProgress(line: ShimLogLine): string | undefined {
  if (line.msg !== 'realise progress') return undefined;
  return `fetching ${String(line['pathsDone'])}/${String(line['pathsTotal'])} store paths, ${mb(line['narBytesDone'])} of ${mb(line['narBytesTotal'])} MB (${String(line['via'])})`;
}
