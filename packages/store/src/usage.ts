import type { PathRegistry } from './registry.ts';

/** What a store holds now. */
export interface StoreUsage {
  /** Valid paths (in `store/` with their record). */
  paths: number;
  /** Sum of their NarSize: what GC's watermarks count. */
  narBytes: number;
}

// Records are immutable and cached by the registry, so after the first call this is two
// directory listings; a record whose path is gone (a GC in another process) is not counted.
export function storeUsage(registry: PathRegistry): StoreUsage {
  let narBytes = 0;
  const infos = registry.scan();
  for (const info of infos.values()) narBytes += info.narSize;
  return { paths: infos.size, narBytes };
}
