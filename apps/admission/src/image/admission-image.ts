import { readFile } from 'node:fs/promises';
import { buildImage, sharedLibraries, type BuiltImage, type LayerEntry } from '@flox-k8s/oci-image';

export const ADMISSION_IMAGE_NAME = 'docker.io/flox-k8s/admission:0.0.0';
export const ADMISSION_BUNDLE_PATH = '/opt/flox-admission/admission.mjs';
const NODE_PATH = '/usr/local/bin/node';
const CA_PATH = '/etc/ssl/certs/ca-certificates.crt';

export interface AdmissionImageInputs {
  name?: string;
  /** The Node binary that runs the webhook. */
  nodeBinary: string;
  /** `bundleAdmission()` output. */
  bundle: Uint8Array;
  /** PEM bundle of CA certificates (hub and cache TLS; Debian: /etc/ssl/certs/ca-certificates.crt). */
  caCertificates: string;
}

async function fileEntry(hostPath: string, imagePath: string, mode = 0o755): Promise<LayerEntry> {
  // Symlinked libraries are stored as files at the path the loader asks for.
  return { type: 'file', path: imagePath.replace(/^\//, ''), content: await readFile(hostPath), mode };
}

/**
 * The webhook's OCI image, without Docker: Node's shared libraries and the CA bundle, Node,
 * the bundle; runs as an unprivileged user (65532) with nothing else in it. Deterministic:
 * the same inputs give the same digest.
 */
export async function admissionImage(inputs: AdmissionImageInputs): Promise<BuiltImage> {
  const libraries = await sharedLibraries(inputs.nodeBinary);
  const base: LayerEntry[] = [
    ...(await Promise.all(libraries.map((lib) => fileEntry(lib, lib)))),
    await fileEntry(inputs.caCertificates, CA_PATH, 0o644),
    { type: 'directory', path: 'tmp', mode: 0o1777 },
  ];
  return buildImage({
    name: inputs.name ?? ADMISSION_IMAGE_NAME,
    layers: [
      { entries: base },
      { entries: [await fileEntry(inputs.nodeBinary, NODE_PATH)] },
      { entries: [{ type: 'file', path: ADMISSION_BUNDLE_PATH.slice(1), content: Buffer.from(inputs.bundle), mode: 0o644 }] },
    ],
    config: {
      entrypoint: [NODE_PATH, ADMISSION_BUNDLE_PATH],
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', `SSL_CERT_FILE=${CA_PATH}`, `NODE_EXTRA_CA_CERTS=${CA_PATH}`],
      workingDir: '/',
      user: '65532:65532',
      labels: { 'org.opencontainers.image.title': 'flox-k8s admission webhook' },
    },
  });
}
