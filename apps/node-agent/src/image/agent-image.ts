import { readFile } from 'node:fs/promises';
import { FETCH_PROCESS_ENV } from '@flox-k8s/nar/process-env';
import { buildImage, libraryPath, sharedLibraries, type BuiltImage, type LayerEntry } from '@flox-k8s/oci-image';
import { AGENT_BUNDLE_FILES, type AgentBundle } from './bundle.ts';

// The ldd rule is @flox-k8s/oci-image's (the admission webhook's image needs it too).
export { sharedLibraries };

export const AGENT_IMAGE_NAME = 'docker.io/flox-k8s/node-agent:0.0.0';
/**
 * Host programs the image carries, each with its shared libraries. nsenter restarts the host's
 * containerd. xz brings liblzma.so.5 with it (its shared library), through which @flox-k8s/nar
 * decodes xz in the agent (koffi, beside the bundle); xz itself and bzip2 are the decoders it runs
 * as subprocesses when that library does not load, and for bzip2. mkfifo: the patch service makes
 * its request FIFO (Node has no mkfifo(3)). sync: the store's `sync -f` with `storeSync: syncfs`
 * (Node has no syncfs(2)).
 */
export const AGENT_IMAGE_TOOLS: readonly string[] = ['/usr/bin/nsenter', '/usr/bin/xz', '/usr/bin/bzip2', '/usr/bin/mkfifo', '/usr/bin/sync'];
/**
 * Shared libraries the agent loads itself (koffi, dlopen(3)) that no tool above links: libzstd, through
 * which @flox-k8s/nar decodes zstd (Node's zlib when it does not load). Sonames, found on the host
 * building the image (`ldconfig -p`) and stored at the same path, with their own libraries.
 */
export const AGENT_IMAGE_LIBRARIES: readonly string[] = ['libzstd.so.1'];
const AGENT_DIR = '/opt/flox-node-agent';
export const AGENT_BUNDLE_PATH = `${AGENT_DIR}/${AGENT_BUNDLE_FILES.agent}`;
export const SHIM_LAYOUT_PATH = '/opt/flox-node-agent/shim-layout';
const NODE_PATH = '/usr/local/bin/node';
const CA_PATH = '/etc/ssl/certs/ca-certificates.crt';

export interface AgentImageInputs {
  name?: string;
  /** The Node binary run by the agent and copied to the host for the runc interposer. */
  nodeBinary: string;
  /** `bundleAgent()` output. */
  agentBundle: AgentBundle;
  /** A shim install layout staged for the host's `<installDir>/shim` (`hostShimLayout` + `@flox-k8s/shim-layout`'s stageLayout). */
  shimLayoutDir: string;
  /** PEM bundle of CA certificates (Debian: /etc/ssl/certs/ca-certificates.crt). */
  caCertificates: string;
  /** Host programs the agent runs inside its container (nsenter), with their shared libraries. */
  tools: string[];
  /** Sonames of shared libraries the agent loads itself (default AGENT_IMAGE_LIBRARIES). */
  libraries?: readonly string[];
}

async function fileEntry(hostPath: string, imagePath: string, mode = 0o755): Promise<LayerEntry> {
  // Symlinked libraries are stored as files at the path the loader asks for.
  return { type: 'file', path: imagePath.replace(/^\//, ''), content: await readFile(hostPath), mode };
}

/**
 * The agent's OCI image, built without Docker: base layer (shared libraries, CA bundle, nsenter),
 * Node, the shim layout, the agent bundle. Deterministic: the same inputs give the same digest.
 */
export async function agentImage(inputs: AgentImageInputs): Promise<BuiltImage> {
  const libraries = new Set<string>();
  const loaded = await Promise.all((inputs.libraries ?? AGENT_IMAGE_LIBRARIES).map((soname) => libraryPath(soname)));
  for (const lib of loaded) libraries.add(lib);
  for (const binary of [inputs.nodeBinary, ...inputs.tools, ...loaded]) for (const lib of await sharedLibraries(binary)) libraries.add(lib);
  const base: LayerEntry[] = [
    ...(await Promise.all([...libraries].sort().map((lib) => fileEntry(lib, lib)))),
    await fileEntry(inputs.caCertificates, CA_PATH, 0o644),
    ...(await Promise.all([...inputs.tools].sort().map((tool) => fileEntry(tool, `/usr/bin/${tool.split('/').pop()}`)))),
    { type: 'directory', path: 'tmp', mode: 0o1777 },
  ];
  return buildImage({
    name: inputs.name ?? AGENT_IMAGE_NAME,
    layers: [
      { entries: base },
      { entries: [await fileEntry(inputs.nodeBinary, NODE_PATH)] },
      { directory: inputs.shimLayoutDir, prefix: SHIM_LAYOUT_PATH },
      {
        entries: [
          ...(Object.keys(AGENT_BUNDLE_FILES) as Array<keyof typeof AGENT_BUNDLE_FILES>).map((name) => ({
            type: 'file' as const,
            path: `${AGENT_DIR.slice(1)}/${AGENT_BUNDLE_FILES[name]}`,
            content: Buffer.from(inputs.agentBundle[name]),
            mode: 0o644,
          })),
          // koffi beside the bundle: xz and zstd decode through the image's liblzma (xz's own library) and libzstd.
          ...inputs.agentBundle.runtime.map((file) => ({ type: 'file' as const, path: `${AGENT_DIR.slice(1)}/${file.path}`, content: Buffer.from(file.content), mode: file.mode })),
        ],
      },
    ],
    config: {
      entrypoint: [NODE_PATH, AGENT_BUNDLE_PATH],
      cmd: ['run'],
      // How a process that fetches NARs runs (@flox-k8s/nar's FETCH_PROCESS_ENV, the one home of
      // these settings: V8's young generation, glibc's mmap threshold, arenas and huge pages), here
      // as well as in the DaemonSet, so the image run by hand behaves as benchmarked. No Node flag
      // in the entrypoint: flags there would override the DaemonSet's NODE_OPTIONS.
      env: ['PATH=/usr/local/bin:/usr/bin:/bin', `SSL_CERT_FILE=${CA_PATH}`, `NODE_EXTRA_CA_CERTS=${CA_PATH}`, ...Object.entries(FETCH_PROCESS_ENV).map(([name, value]) => `${name}=${value}`)],
      workingDir: '/',
      labels: { 'org.opencontainers.image.title': 'flox-k8s node agent' },
    },
  });
}
