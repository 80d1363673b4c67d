import { readFile } from 'node:fs/promises';

/** The JSON lines of a log file (the shim's), or none when it does not exist yet. */
export async function readJsonLines(file: string): Promise<Array<Record<string, unknown>>> {
  return (await readFile(file, 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
