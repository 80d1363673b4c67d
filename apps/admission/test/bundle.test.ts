// What ships: the webhook bundled into one file (as the image carries it), started as its
// own Node process with a config file, answering a real HTTPS AdmissionReview; a bad config
// stops it with a coded log line; SIGTERM ends it cleanly. And the image is deterministic.
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { publishEnvironment } from '@flox-k8s/environments';
import { nixFixtures } from '@flox-k8s/nix-fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admissionImage } from '../src/image/admission-image.ts';
import { bundleAdmission } from '../src/image/bundle.ts';
import { admissionReview, floxWorkload, helloVariant, post, responseOf, selfSignedPair } from './webhook-harness.ts';

let dir: string;
let bundle: Uint8Array;
let cert: string;
let digest: string;

function run(config: string): { lines: AsyncIterableIterator<string>; exited: Promise<number | null>; kill(): void } {
  const child = spawn(process.execPath, [join(dir, 'admission.mjs')], { env: { PATH: process.env['PATH'] ?? '/usr/bin', FLOXK8S_ADMISSION_CONFIG: config }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { lines: createInterface({ input: child.stdout })[Symbol.asyncIterator](), exited, kill: () => child.kill('SIGTERM') };
}

async function lineWith(lines: AsyncIterableIterator<string>, msg: string): Promise<Record<string, unknown>> {
  for (;;) {
    const next = await lines.next();
    if (next.done) throw new Error(`the webhook ended before logging ${JSON.stringify(msg)}`);
    const record = JSON.parse(next.value) as Record<string, unknown>;
    if (record['msg'] === msg) return record;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flox-admission-bundle-'));
  bundle = await bundleAdmission();
  await writeFile(join(dir, 'admission.mjs'), bundle);
  const fixtures = await nixFixtures();
  digest = (await publishEnvironment(join(dir, 'envs'), 'acme', 'hello', helloVariant(fixtures.lockfile.bytes))).digest;
  const pair = await selfSignedPair();
  cert = pair.cert;
  await mkdir(join(dir, 'tls'));
  await writeFile(join(dir, 'tls', 'tls.crt'), pair.cert);
  await writeFile(join(dir, 'tls', 'tls.key'), pair.key);
  await writeFile(
    join(dir, 'config.json'),
    JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      tls: { certFile: join(dir, 'tls', 'tls.crt'), keyFile: join(dir, 'tls', 'tls.key') },
      sources: [{ type: 'dir', path: join(dir, 'envs') }],
      rewriteToDigest: true,
    }),
  );
  await writeFile(join(dir, 'bad.json'), JSON.stringify({ listen: { port: 'eighty' } }));
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the bundled webhook', () => {
  it('serves AdmissionReviews over HTTPS from its config file, and stops on SIGTERM', async () => {
    const webhook = run(join(dir, 'config.json'));
    try {
      const serving = await lineWith(webhook.lines, 'flox admission webhook serving');
      const url = serving['url'] as string;
      const answer = responseOf(await post(url, '/mutate', admissionReview('Deployment', floxWorkload('Deployment', 'acme/hello:1')), cert));
      expect(answer).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
      expect(JSON.parse(Buffer.from(answer.patch!, 'base64').toString())[0].value).toBe(`acme/hello@sha256:${digest}`);
      expect(await lineWith(webhook.lines, 'admitted')).toMatchObject({ mode: 'mutate', kind: 'Deployment', patched: true });
    } finally {
      webhook.kill();
    }
    expect(await webhook.exited).toBe(0);
  }, 60_000);

  it('refuses to start on a bad config, with a coded log line and exit code 1', async () => {
    const webhook = run(join(dir, 'bad.json'));
    expect(await lineWith(webhook.lines, 'flox-admission failed to start')).toMatchObject({ code: 'FLOXK8S_ADMISSION_CONFIG_INVALID' });
    expect(await webhook.exited).toBe(1);
  }, 60_000);
});

describe('admissionImage', () => {
  it('is deterministic and holds node, its libraries, the CA bundle and the bundle', async () => {
    // busybox-static stands in for Node here (a static binary: no libraries to copy).
    const inputs = { nodeBinary: '/bin/busybox', bundle, caCertificates: '/etc/ssl/certs/ca-certificates.crt' };
    const a = await admissionImage(inputs);
    const b = await admissionImage(inputs);
    expect(a.manifestDigest).toBe(b.manifestDigest);
    expect(Buffer.from(a.tarball).equals(Buffer.from(b.tarball))).toBe(true);
    expect(a.name.full).toBe('docker.io/flox-k8s/admission:0.0.0');
    expect(a.layers).toHaveLength(3);
    const other = await admissionImage({ ...inputs, bundle: new TextEncoder().encode('console.log(1)\n') });
    expect(other.manifestDigest).not.toBe(a.manifestDigest);
    expect(other.layers.slice(0, 2)).toEqual(a.layers.slice(0, 2));
  }, 120_000);
});
