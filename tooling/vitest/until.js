// Polling for tests that watch another process (an agent's metrics, a service's reports).

/**
 * Resolves with the first value of `fn` that is neither undefined nor false, polling every
 * `intervalMs`; rejects naming `what` after `ms`.
 * @template T
 * @param {string} what
 * @param {() => T | undefined | false | Promise<T | undefined | false>} fn
 * @param {number} [ms]
 * @param {number} [intervalMs]
 * @returns {Promise<T>}
 */
export async function until(what, fn, ms = 20_000, intervalMs = 20) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
