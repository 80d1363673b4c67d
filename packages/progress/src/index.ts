/**
 * `@flox-k8s/progress`: how far a Nix closure realise has come (paths and bytes done of
 * total), as one line for events, logs and terminals, and a per-key throttle to rate-limit them.
 * @module
 */
export { RealiseTally, type ProgressSnapshot, type StoreProgressEvent } from './tally.ts';
export { formatMegabytes, formatProgress, formatSeconds } from './format.ts';
export { Throttle } from './throttle.ts';
