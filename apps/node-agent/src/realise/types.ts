/** Phases the agent times, as exported in `flox_agent_realise_phase_seconds`. */
export type Phase = 'resolve' | 'fetch' | 'verify' | 'unpack' | 'profile';
export const phases: readonly Phase[] = ['resolve', 'fetch', 'verify', 'unpack', 'profile'];

/** One closure to realise (the body of the socket request, and what prefetch computes). */
export interface RealiseJob {
  storePaths: string[];
  environment: string;
  digest: string;
}

export interface RealiseProgressEvent {
  /** `resolve` (totals known), `fetch` (bytes of one path), `unpack` (a path fetched), `present` (realised by someone else). */
  phase?: string;
  storePath?: string;
  bytes?: number;
  totalBytes?: number;
  /** With `resolve`: how many store paths must be fetched. */
  totalPaths?: number;
  /** The whole realise so far (`@flox-k8s/store`'s RealiseTally): every event carries it, so a caller joining late sees it too. */
  pathsDone?: number;
  pathsTotal?: number;
  narBytesDone?: number;
  narBytesTotal?: number;
}

export interface RealiseOutcome {
  closure: string[];
  fetched: string[];
  present: string[];
  bytesDownloaded: number;
  /** Uncompressed NAR bytes this realise added to the store. */
  narBytes: number;
  /** Milliseconds per phase. */
  durations: Partial<Record<Phase, number>>;
  /** Compressed bytes fetched, per cache URL. */
  bytesByCache: Record<string, number>;
}

/** Realises closures into the node store (implemented on `@flox-k8s/store`). */
export interface ClosureRealiser {
  readonly storeRoot: string;
  realise(job: RealiseJob, options: { signal: AbortSignal; onProgress: (event: RealiseProgressEvent) => void }): Promise<RealiseOutcome>;
}
