// Outcome checks for the hostile fetch corpus, shared by the fetch-path tests
// of @flox-k8s/nar and the fetch-worker test of @flox-k8s/store.
import { lstatSync, mkdtempSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { FetchCase } from './hostile-corpus.ts';

/** Fetches `storePath` into a fresh directory; returns the outcome and that directory. */
/** The two calls of nar's `BinaryCacheClient` a case goes through. */
export interface NarFetcher {
  narinfo(storePath: string): Promise<unknown>;
  fetchNar(narinfo: never, dest: string): Promise<unknown>;
}

export async function fetchCase(client: NarFetcher, storePath: string, under: string): Promise<{ outcome: unknown; box: string }> {
  const box = mkdtempSync(join(under, 'case-'));
  const outcome = await client.fetchNar((await client.narinfo(storePath)) as never, join(box, 'out')).catch((e: unknown) => e);
  return { outcome, box };
}

/** The outcome is the case's code (or one of them), or the accepted symlink root; a rejected case leaves nothing. */
export function expectOutcome(c: FetchCase, outcome: unknown, box: string): void {
  const what = `${c.compression}: ${c.title}`;
  if (c.code === undefined) {
    expect(outcome, what).toMatchObject({ narSize: c.nar.length });
    if (c.symlinkTarget !== undefined) {
      expect(lstatSync(join(box, 'out')).isSymbolicLink(), what).toBe(true);
      expect(readlinkSync(join(box, 'out')), what).toBe(c.symlinkTarget);
    }
    return;
  }
  const codes = typeof c.code === 'string' ? [c.code] : c.code;
  expect(codes, `${what}: got ${(outcome as Error)?.message}`).toContain((outcome as { code?: string }).code);
  expect(readdirSync(box), what).toEqual([]);
}

