// pnpm --filter @flox-k8s/admission run image -- [OUT.tar]: bundle the webhook and write its
// OCI image tarball (no Docker); `ctr -n k8s.io images import OUT.tar` or push it.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { admissionImage } from '../src/image/admission-image.ts';
import { bundleAdmission } from '../src/image/bundle.ts';

const out = resolve(process.argv.slice(2).filter((a) => a !== '--')[0] ?? 'admission-image.tar');
const image = await admissionImage({ nodeBinary: process.execPath, bundle: await bundleAdmission(), caCertificates: '/etc/ssl/certs/ca-certificates.crt' });
await writeFile(out, image.tarball);
process.stdout.write(`${JSON.stringify({ file: out, name: image.name.full, manifestDigest: image.manifestDigest, bytes: image.tarball.length })}\n`);
