// pnpm --filter @flox-k8s/node-agent run image -- [OUT.tar]: build the agent image tarball (no Docker).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { agentImage } from '../src/image/agent-image.ts';
import { bundleAgent } from '../src/image/bundle.ts';
import { buildShimLayout } from '../src/image/shim-layout.ts';

const out = resolve(process.argv.slice(2).find((a) => a !== '--') ?? 'node-agent-image.tar');
const scratch = await mkdtemp(join(tmpdir(), 'flox-agent-image-'));
try {
  const image = await agentImage({
    nodeBinary: process.execPath,
    agentBundle: await bundleAgent(),
    shimLayoutDir: await buildShimLayout('/opt/flox-k8s', join(scratch, 'shim')),
    caCertificates: '/etc/ssl/certs/ca-certificates.crt',
    // nsenter restarts the host's containerd; xz and bzip2 are the NAR decoders
    // @flox-k8s/nar runs as subprocesses (measured faster than in-process ones).
    // mkfifo: the patch service makes its request FIFO (Node has no mkfifo(3)).
    tools: ['/usr/bin/nsenter', '/usr/bin/xz', '/usr/bin/bzip2', '/usr/bin/mkfifo'],
  });
  await writeFile(out, image.tarball);
  process.stdout.write(`${JSON.stringify({ file: out, name: image.name.full, manifestDigest: image.manifestDigest, bytes: image.tarball.length })}\n`);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
