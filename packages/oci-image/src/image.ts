import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { ImageInputInvalidError } from './errors.ts';
import { buildLayer, sha256, type LayerBlob, type LayerCompression, type LayerEntry } from './layer.ts';
import { entriesFromDirectory } from './directory.ts';
import { parseImageName, type ImageName } from './name.ts';
import { packTar } from './tar.ts';

/** A layer's content: listed entries, or a host directory copied under `prefix`. */
export type LayerSource = { entries: readonly LayerEntry[] } | { directory: string; prefix?: string };

/** The runtime defaults of the image (the OCI config's `config` object). */
export interface ImageRuntimeConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  user?: string;
  stopSignal?: string;
  labels?: Record<string, string>;
}

export interface BuildImageOptions {
  /** Tagged name, normalised like CRI does: `flox/empty:1.0.0` is stored as `docker.io/flox/empty:1.0.0`. */
  name: string;
  layers: readonly LayerSource[];
  config?: ImageRuntimeConfig;
  /** Default `gzip`. */
  compression?: LayerCompression;
  /** Default `amd64`; fixed rather than read from the host so the digest does not depend on where it is built. */
  architecture?: string;
  /** Seconds since the epoch for every tar entry and the config's `created`; default 0. */
  mtime?: number;
}

/** A finished image: the OCI image-layout tarball plus the digests a test or installer needs. */
export interface BuiltImage {
  name: ImageName;
  manifestDigest: string;
  configDigest: string;
  layers: Array<Omit<LayerBlob, 'bytes'>>;
  /** OCI image layout (+ docker-archive `manifest.json`) as a tar, ready for `ctr images import`. */
  tarball: Uint8Array;
}

const optionsSchema = z.object({
  name: z.string().min(1),
  layers: z.array(z.union([
    z.object({ entries: z.array(z.looseObject({ type: z.enum(['file', 'directory', 'symlink']), path: z.string().min(1) })) }),
    z.object({ directory: z.string().min(1), prefix: z.string().optional() }),
  ])),
  config: z.object({
    entrypoint: z.array(z.string()).optional(),
    cmd: z.array(z.string()).optional(),
    env: z.array(z.string().regex(/^[^=]+=/, 'expected NAME=value')).optional(),
    workingDir: z.string().optional(),
    user: z.string().optional(),
    stopSignal: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  }).optional(),
  compression: z.enum(['gzip', 'zstd', 'none']).optional(),
  architecture: z.string().min(1).optional(),
  mtime: z.number().int().nonnegative().optional(),
});

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

function runtimeConfig(c: ImageRuntimeConfig): Record<string, unknown> {
  // Fixed key order: the config's bytes, and so its digest, must not depend on how the caller built the object.
  const out: Record<string, unknown> = {};
  if (c.user !== undefined) out.User = c.user;
  if (c.env !== undefined) out.Env = [...c.env];
  if (c.entrypoint !== undefined) out.Entrypoint = [...c.entrypoint];
  if (c.cmd !== undefined) out.Cmd = [...c.cmd];
  if (c.workingDir !== undefined) out.WorkingDir = c.workingDir;
  if (c.labels !== undefined) out.Labels = Object.fromEntries(Object.entries(c.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (c.stopSignal !== undefined) out.StopSignal = c.stopSignal;
  return out;
}

/** Build an image deterministically: the same options give the same bytes and digests. */
export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new ImageInputInvalidError(`image options${path === '' ? '' : `.${path}`}: ${issue?.message ?? 'invalid'}`);
  }
  const name = parseImageName(options.name);
  const mtime = options.mtime ?? 0;
  const compression = options.compression ?? 'gzip';
  const architecture = options.architecture ?? 'amd64';
  const blobs: LayerBlob[] = [];
  for (const source of options.layers) {
    const entries = 'entries' in source ? source.entries : await entriesFromDirectory(source.directory, source.prefix);
    blobs.push(await buildLayer(entries, compression, { mtime }));
  }
  const created = new Date(mtime * 1000).toISOString().replace('.000Z', 'Z');
  const config = json({
    created,
    architecture,
    os: 'linux',
    config: runtimeConfig(options.config ?? {}),
    rootfs: { type: 'layers', diff_ids: blobs.map((b) => b.diffId) },
    history: blobs.map(() => ({ created, created_by: 'flox-k8s image writer' })),
  });
  const configDigest = sha256(config);
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: blobs.map((b) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size })),
  });
  const manifestDigest = sha256(manifest);
  const index = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: manifestDigest,
      size: manifest.length,
      platform: { architecture, os: 'linux' },
      // containerd's importer names the image from io.containerd.image.name; other tools read ref.name.
      annotations: { 'io.containerd.image.name': name.full, 'org.opencontainers.image.ref.name': name.tag },
    }],
  });
  const blobPath = (digest: string): string => `blobs/sha256/${digest.slice('sha256:'.length)}`;
  const dockerManifest = json([{ Config: blobPath(configDigest), RepoTags: [name.familiar], Layers: blobs.map((b) => blobPath(b.digest)) }]);

  const files = new Map<string, Uint8Array>();
  files.set('oci-layout', json({ imageLayoutVersion: '1.0.0' }));
  files.set('index.json', index);
  files.set('manifest.json', dockerManifest);
  files.set(blobPath(configDigest), config);
  files.set(blobPath(manifestDigest), manifest);
  for (const b of blobs) files.set(blobPath(b.digest), b.bytes);
  const tarball = await outerTar(files, mtime);
  return { name, manifestDigest, configDigest, layers: blobs.map(({ bytes: _bytes, ...rest }) => rest), tarball };
}

function outerTar(files: Map<string, Uint8Array>, mtime: number): Promise<Buffer> {
  const common = { mtime: new Date(mtime * 1000), uid: 0, gid: 0, uname: '', gname: '' };
  return packTar([
    { header: { ...common, name: 'blobs', type: 'directory', mode: 0o755 } },
    { header: { ...common, name: 'blobs/sha256', type: 'directory', mode: 0o755 } },
    ...[...files.keys()].sort().map((path) => {
      const body = files.get(path)!;
      return { header: { ...common, name: path, type: 'file' as const, mode: 0o644, size: body.length }, body };
    }),
  ]);
}

/** Build the image and write its tarball to `file` atomically (temp file + rename). */
export async function writeImage(options: BuildImageOptions, file: string): Promise<BuiltImage> {
  const image = await buildImage(options);
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, image.tarball);
    await rename(tmp, file);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw cause;
  }
  return image;
}
