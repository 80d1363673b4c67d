import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nixFixtures, serveCache, type ServedCache } from '@flox-k8s/nix-fixtures';
import { narOf, prng, writeSignedCache } from '@flox-k8s/hostile-nars';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAR_CODEC } from '../test/nar-codec.ts';
import { fetchNarOnce, WholeNarBudget } from './fetch-nar.ts';
import { parseNarinfo, type Narinfo } from './narinfo.ts';
import { removeTree } from './remove-tree.ts';

// The peak RSS of a realise was a third dead buffers: socket reads of the NAR bodies and the
// batches joined from them, which V8 frees only at its next GC. fetchNarOnce frees every one of
// them once it is copied, hashed and decoded. These tests watch the very chunks undici hands to
// the response body (an interceptor records them) and check that each of them whose memory is
// its own came back detached, on both paths, and that the NAR still unpacks and verifies.

/** Whether a chunk is the whole of an ArrayBuffer of its own (not Buffer's shared pool): the ones that can be freed. */
const ownMemory = (c: Uint8Array): boolean => c.byteOffset === 0 && c.byteLength === c.buffer.byteLength && c.buffer.byteLength > Buffer.poolSize >>> 1;

/** A dispatcher that records every body chunk undici delivers that has memory of its own, as it arrives. */
function recordingAgent(seen: Uint8Array[]): { dispatcher: Dispatcher; close: () => Promise<void> } {
  const agent = new Agent({ connections: 1 });
  const dispatcher = agent.compose((dispatch) => (opts, handler) => {
    // A proxy, not a subclass: undici's handlers keep private fields. Whichever handler API it has
    // (onResponseData, or the older onData), the chunk is recorded before it reaches the body.
    const wrapped = new Proxy(handler, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        if (prop === 'onResponseData') {
          return (controller: unknown, chunk: Uint8Array) => {
            if (ownMemory(chunk)) seen.push(chunk);
            return (value as (c: unknown, b: Uint8Array) => unknown).call(target, controller, chunk);
          };
        }
        if (prop === 'onData') {
          return (chunk: Uint8Array) => {
            if (ownMemory(chunk)) seen.push(chunk);
            return (value as (b: Uint8Array) => unknown).call(target, chunk);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
    return dispatch(opts, wrapped);
  });
  return { dispatcher, close: () => agent.close() };
}

describe('fetchNarOnce frees the received bytes it owns', () => {
  let tmp: string;
  let server: ServedCache;
  let narinfo: Narinfo;
  let nar: Buffer;
  beforeAll(async () => {
    const fx = await nixFixtures();
    tmp = mkdtempSync(join(tmpdir(), 'nar-frees-'));
    // ~3 MiB of NAR that zstd cannot shrink much: dozens of socket reads of up to 64 KiB.
    const rng = prng(11);
    const noise = Buffer.from(Array.from({ length: 3 << 20 }, () => Math.floor(rng() * 256)));
    nar = narOf({ type: 'directory', entries: [['blob', { type: 'regular', contents: noise }], ['small', { type: 'regular', contents: 'hi\n' }]] });
    const [storePath] = writeSignedCache(join(tmp, 'cache'), [{ name: 'noise', nar, compression: 'zstd' }], readFileSync(fx.secretKeyFile, 'utf8'), NAR_CODEC);
    narinfo = parseNarinfo(readFileSync(join(tmp, 'cache', `${(storePath as string).slice(11, 43)}.narinfo`), 'utf8'));
    server = await serveCache(join(tmp, 'cache'));
  });
  afterAll(async () => {
    await server.close();
    await removeTree(tmp);
  });

  it.each([
    ['streamed', undefined],
    ['whole', new WholeNarBudget(64 << 20, 64 << 20)],
  ])('%s: every socket read of its own memory is detached afterwards; the NAR verifies', async (name, whole) => {
    const seen: Uint8Array[] = [];
    const { dispatcher, close } = recordingAgent(seen);
    try {
      const got = await fetchNarOnce({
        dispatcher,
        url: `${server.url}/${narinfo.url}`,
        headers: {},
        narinfo,
        dest: join(tmp, `out-${name}`),
        signal: undefined,
        decoders: undefined,
        whole,
        limits: {},
        onProgress: () => {},
      });
      expect(got).toEqual({ narHash: narinfo.narHash, narSize: nar.length, fileSize: narinfo.fileSize });
      expect(readFileSync(join(tmp, `out-${name}`, 'small'), 'utf8')).toBe('hi\n');
    } finally {
      await close();
    }
    expect(seen.length).toBeGreaterThan(8);
    expect(seen.filter((c) => !(c.buffer as ArrayBuffer).detached).length).toBe(0);
  });
});
