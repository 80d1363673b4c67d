import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stubImage, testBusyboxImage, testPauseImage, type BuiltImage } from '@flox-k8s/oci-image';

/** The images every private containerd gets: the sandbox image, plain busybox and the flox stub. */
export interface TestImages {
  pause: BuiltImage;
  busybox: BuiltImage;
  stub: BuiltImage;
}

let built: Promise<TestImages> | undefined;

/** Build (once per process; deterministic, so every process gets the same digests) the test images. */
export function testImages(): Promise<TestImages> {
  built ??= (async () => ({ pause: await testPauseImage(), busybox: await testBusyboxImage(), stub: await stubImage() }))();
  return built;
}

/** Run `fn` with `tarball` on disk (as given, or written to a temp file that is removed afterwards). */
export async function withTarballFile<T>(tarball: string | Uint8Array, fn: (path: string) => Promise<T>): Promise<T> {
  if (typeof tarball === 'string') return fn(tarball);
  const path = join(tmpdir(), `flox-k8s-image-${randomBytes(6).toString('hex')}.tar`);
  await writeFile(path, tarball);
  try {
    return await fn(path);
  } finally {
    await rm(path, { force: true });
  }
}
