import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NarError } from './errors.ts';
import { unpackNar } from './nar-unpack.ts';
import { removeTree } from './remove-tree.ts';
import { HOSTILE_NARS } from '@flox-k8s/hostile-nars';

describe('hostile NARs', () => {
  let box: string;
  let victim: string;
  beforeAll(async () => {
    box = await mkdtemp(join(tmpdir(), 'nar-hostile-'));
    victim = join(box, 'victim');
    await mkdir(victim);
  });
  afterAll(async () => {
    await removeTree(box);
  });

  it.each(HOSTILE_NARS)('rejects %s', async (_name, nar, code, limits) => {
    const dest = join(box, 'dest');
    const err: unknown = await unpackNar(Readable.from([nar]), dest, limits ? { limits } : {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NarError);
    expect(err).toMatchObject({ code });
    // Nothing left in dest, nothing written beside it or through a symlink into the victim.
    expect(await readdir(box)).toEqual(['victim']);
    expect(await readdir(victim)).toEqual([]);
  });
});
