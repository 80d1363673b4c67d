// pnpm --filter @flox-k8s/node-agent run image -- --shim-layout DIR [OUT.tar]: build the agent
// image tarball (no Docker). The image carries the shim the agent installs on each host: a
// layout staged for /opt/flox-k8s/shim by the shim's own CLI (`pnpm agent-image` at the root
// runs both steps: `install-layout --prefix /opt/flox-k8s/shim --stage DIR`, then this).
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { AGENT_IMAGE_TOOLS, agentImage } from '../src/image/agent-image.ts';
import { bundleAgent } from '../src/image/bundle.ts';

const { values, positionals } = parseArgs({ args: process.argv.slice(2).filter((a) => a !== '--'), options: { 'shim-layout': { type: 'string' } }, allowPositionals: true });
const shimLayout = values['shim-layout'];
if (shimLayout === undefined) {
  process.stderr.write('image: --shim-layout DIR is required (a shim layout staged for /opt/flox-k8s/shim; see `pnpm agent-image`)\n');
  process.exit(2);
}
const out = resolve(positionals[0] ?? 'node-agent-image.tar');
const image = await agentImage({
  nodeBinary: process.execPath,
  agentBundle: await bundleAgent(),
  shimLayoutDir: resolve(shimLayout),
  caCertificates: '/etc/ssl/certs/ca-certificates.crt',
  tools: [...AGENT_IMAGE_TOOLS],
});
await writeFile(out, image.tarball);
process.stdout.write(`${JSON.stringify({ file: out, name: image.name.full, manifestDigest: image.manifestDigest, bytes: image.tarball.length })}\n`);
