// The stub image `flox/empty:1.0.0` in containerd's `k8s.io` namespace, so a pod naming it with
// `imagePullPolicy: IfNotPresent` (kubelet's default for a tagged image) never asks a registry.
// Built here (@flox-k8s/oci-image: deterministic, so the digest says whether it is already there)
// and imported through the host's `ctr`, like every other host command of the installer.
import { stubImage, type BuiltImage } from '@flox-k8s/oci-image';
import { StubImageError } from '../errors.ts';

/** What the installer asks of containerd's image store (the `k8s.io` namespace). */
export interface ImageActions {
  /** Output of `ctr -n k8s.io images ls` (a header, then `REF TYPE DIGEST SIZE PLATFORMS LABELS` rows). */
  listImages(): Promise<string>;
  /** `ctr -n k8s.io images import -` of this OCI image tarball. */
  importImage(tarball: Uint8Array): Promise<void>;
  /** `ctr -n k8s.io images rm <name>`. */
  removeImage(name: string): Promise<void>;
}

/** What install records about the stub image, so uninstall removes it only if install put it there. */
export interface StubImageRecord {
  name: string;
  digest: string;
  /** False when the node already had this very image (an operator loaded it): uninstall leaves it. */
  imported: boolean;
}

/** Image name → target digest, from `ctr images ls`. */
export function imageDigests(listing: string): Map<string, string> {
  const images = new Map<string, string>();
  for (const line of listing.split('\n').slice(1)) {
    const [ref, , digest] = line.trim().split(/\s+/);
    if (ref !== undefined && ref !== '' && digest?.startsWith('sha256:')) images.set(ref, digest);
  }
  return images;
}

/** The node's architecture as OCI names it. */
export function ociArchitecture(arch: string = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[arch] ?? arch;
}

/**
 * Imports the stub image unless containerd already has it with the same digest; checks it is
 * listed afterwards. `previous` is what an earlier install recorded (an image it imported stays
 * "imported" however often install runs again).
 */
export async function ensureStubImage(actions: ImageActions, previous?: StubImageRecord, image?: BuiltImage): Promise<StubImageRecord> {
  const stub = image ?? (await stubImage({ architecture: ociArchitecture() }));
  const name = stub.name.full;
  const before = imageDigests(await actions.listImages()).get(name);
  if (before === stub.manifestDigest) {
    return { name, digest: before, imported: previous?.name === name && previous.digest === before ? previous.imported : false };
  }
  await actions.importImage(stub.tarball);
  const after = imageDigests(await actions.listImages()).get(name);
  if (after !== stub.manifestDigest) {
    throw new StubImageError(`expected containerd to list ${name} with digest ${stub.manifestDigest} after importing it, found ${after ?? 'no such image'}; check the image import command`);
  }
  return { name, digest: after, imported: true };
}

/** Uninstall: removes the stub image if install imported it and it is still that image. */
export async function removeStubImage(actions: ImageActions, record: StubImageRecord | undefined): Promise<'removed' | 'kept' | 'absent'> {
  if (record === undefined) return 'absent';
  const now = imageDigests(await actions.listImages()).get(record.name);
  if (now === undefined) return 'absent';
  if (!record.imported || now !== record.digest) return 'kept';
  await actions.removeImage(record.name);
  return 'removed';
}
