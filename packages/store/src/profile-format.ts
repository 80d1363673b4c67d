/**
 * Version of what a profile holds besides its links (the activation assets: envrc, wrapper,
 * scripts). It is part of a profile's directory name, so a store used by a newer version builds
 * fresh profiles instead of reusing ones whose assets mean something else. Bump it whenever the
 * assets change meaning (2: the wrapper sends the hook's stdout to stderr and survives broken
 * scripts; 3: the profile holds the store view, the container's `/nix/store`). Caches of plans
 * built on profiles (the shim's) carry the same number.
 */
export const PROFILE_FORMAT: number = 3;
