/** Resolves with the first value of `fn` that is neither undefined nor false; rejects naming `what` after `ms` (default 20 s). */
export declare function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms?: number, intervalMs?: number): Promise<T>;
