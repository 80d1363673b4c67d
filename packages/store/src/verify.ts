import { existsSync } from 'node:fs';
import { dumpNar, hashNar } from '@flox-k8s/nar';
import type { PathRegistry } from './registry.ts';

/** What `store.verify` found. */
export interface VerifyResult {
  /** True when every path matches its NarHash/NarSize, has its references, and nothing is unregistered. */
  ok: boolean;
  checked: number;
  corrupt: Array<{ storePath: string; expected: { narHash: string; narSize: number }; actual: { narHash: string; narSize: number } }>;
  /** Valid paths whose references are not valid. */
  incomplete: Array<{ storePath: string; missing: string[] }>;
  /** Directories in the store without metadata (never produced by this package). */
  unregistered: string[];
}

/** Re-hashes every valid path (NAR serialisation of the host copy) against its recorded NarHash. */
export async function verifyStore(registry: PathRegistry, storeDir: string, concurrency = 2): Promise<VerifyResult> {
  const infos = registry.scan();
  const result: VerifyResult = { ok: true, checked: 0, corrupt: [], incomplete: [], unregistered: [] };
  const prefix = `${storeDir}/`;
  for (const entry of registry.storeEntries()) {
    if (!infos.has(entry)) result.unregistered.push(entry);
  }
  for (const info of infos.values()) {
    const missing = info.references.filter((r) => !infos.has(r.slice(prefix.length)));
    if (missing.length > 0) result.incomplete.push({ storePath: info.storePath, missing });
  }
  const queue = [...infos.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [base, info] = next;
      let actual;
      try {
        actual = await hashNar(dumpNar(registry.hostPath(base)));
      } catch (err) {
        if (!existsSync(registry.hostPath(base))) continue; // collected by a concurrent GC
        throw err;
      }
      result.checked++;
      if (actual.narHash !== info.narHash || actual.narSize !== info.narSize) {
        result.corrupt.push({
          storePath: info.storePath,
          expected: { narHash: info.narHash, narSize: info.narSize },
          actual: { narHash: actual.narHash, narSize: actual.narSize },
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  result.corrupt.sort((a, b) => (a.storePath < b.storePath ? -1 : 1));
  result.ok = result.corrupt.length === 0 && result.incomplete.length === 0 && result.unregistered.length === 0;
  return result;
}
