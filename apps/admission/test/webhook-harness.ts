// What the webhook tests run against: real Nix-built closures in a signed loopback cache,
// environments published into a loopback HTTP hub (some with their SBOMs) and a directory
// source, a self-signed TLS pair made for 127.0.0.1, the policy file, and an HTTPS client
// that posts AdmissionReview v1 bodies as the API server does.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishEnvironment } from '@flox-k8s/environments';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { generate } from 'selfsigned';
import { parseAdmissionConfig, type AdmissionConfig } from '../src/config.ts';
import { RESOURCES, workload, type WorkloadKind } from './objects.ts';

/** A fixture lockfile variant: only hello-flox (closure: script, busybox, data), optionally with another version or licence. */
export function helloVariant(bytes: Uint8Array, change: { version?: string; license?: string } = {}): Uint8Array {
  const lock = JSON.parse(Buffer.from(bytes).toString()) as { manifest: { install: Record<string, unknown> }; packages: Array<Record<string, unknown>> };
  lock.packages = lock.packages.filter((p) => p['install_id'] === 'hello-flox').map((p) => ({ ...p, ...(change.version ? { version: change.version } : {}), ...(change.license ? { license: change.license } : {}) }));
  lock.manifest.install = { 'hello-flox': lock.manifest.install['hello-flox'] };
  return new TextEncoder().encode(`${JSON.stringify(lock, null, 2)}\n`);
}

export interface Harness {
  fixtures: NixFixtures;
  cache: ServedCache;
  dir: string;
  hubUrl: string;
  hubRequests: string[];
  /** Digests of the published environments by name. */
  digests: Record<string, string>;
  tls: { certFile: string; keyFile: string; cert: string };
  policyFile: string;
  config(overrides?: Record<string, unknown>): AdmissionConfig;
  close(): Promise<void>;
}

export const POLICY = `# flox-admission SBOM policy (test)
rules:
  - name: hello-flox-too-old
    package: hello-flox
    versions: "<1.0"
    message: hello-flox before 1.0 greets the wrong planet
  - name: no-fixture-tree
    storePath: STORE_PATH_TREE
  - name: no-agpl
    license: AGPL-3.0-only OR AGPL-3.0-or-later
`;

/** A self-signed certificate for 127.0.0.1 and localhost. */
export async function selfSignedPair(commonName = 'flox-admission.flox-system.svc'): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  return { cert: pems.cert, key: pems.private };
}

export async function startHarness(): Promise<Harness> {
  const fixtures = await nixFixtures();
  const cache = await serveCache(fixtures.caches.zstd);
  const dir = await mkdtemp(join(tmpdir(), 'flox-admission-'));
  const hubDir = join(dir, 'hub');
  const sbom = { caches: [{ url: cache.url }], trustedKeys: [fixtures.publicKey] };
  const bytes = fixtures.lockfile.bytes;
  const digests: Record<string, string> = {};
  // acme/hello has SBOMs published beside it (two generations: :1 and live :2); the others do not.
  digests['hello:1'] = (await publishEnvironment(hubDir, 'acme', 'hello', helloVariant(bytes), { sbom })).digest;
  digests['hello:2'] = (await publishEnvironment(hubDir, 'acme', 'hello', helloVariant(bytes, { version: '1.1' }), { sbom })).digest;
  digests['fixture'] = (await publishEnvironment(hubDir, 'acme', 'fixture', bytes)).digest;
  digests['old'] = (await publishEnvironment(hubDir, 'acme', 'old', helloVariant(bytes, { version: '0.9' }))).digest;
  digests['agpl'] = (await publishEnvironment(hubDir, 'acme', 'agpl', helloVariant(bytes, { license: 'AGPL-3.0-only' }))).digest;
  digests['darwin'] = (await publishEnvironment(hubDir, 'acme', 'darwin', new TextEncoder().encode(Buffer.from(helloVariant(bytes)).toString().replaceAll('x86_64-linux', 'aarch64-darwin')))).digest;
  digests['local'] = (await publishEnvironment(join(dir, 'local'), 'ops', 'local', helloVariant(bytes))).digest;

  const hubRequests: string[] = [];
  const hub: Server = createServer((req, res) => {
    hubRequests.push(req.url ?? '');
    readFile(join(hubDir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))).then(
      (body) => res.writeHead(200).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  const hubUrl = `http://127.0.0.1:${(hub.address() as { port: number }).port}`;

  const pair = await selfSignedPair();
  const tls = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), cert: pair.cert };
  await writeFile(tls.certFile, pair.cert);
  await writeFile(tls.keyFile, pair.key, { mode: 0o600 });
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, POLICY.replace('STORE_PATH_TREE', fixtures.storePaths.tree));

  return {
    fixtures,
    cache,
    dir,
    hubUrl,
    hubRequests,
    digests,
    tls,
    policyFile,
    config: (overrides = {}) =>
      parseAdmissionConfig({
        listen: { host: '127.0.0.1', port: 0 },
        tls: { certFile: tls.certFile, keyFile: tls.keyFile, reloadIntervalSeconds: 0.1 },
        sources: [{ type: 'hub', url: hubUrl }, { type: 'dir', path: join(dir, 'local') }],
        caches: [{ url: cache.url }],
        trustedKeys: [fixtures.publicKey],
        systems: ['x86_64-linux'],
        rewriteToDigest: true,
        policyFile,
        policyReloadSeconds: 0.1,
        // A review budget far above what any test needs: a loaded machine must not turn checks into timeouts.
        limits: { maxBodyBytes: 256 * 1024, requestTimeoutMs: 1_000, reviewTimeoutMs: 20_000 },
        ...overrides,
      }),
    close: async () => {
      hub.closeAllConnections();
      await new Promise((r) => hub.close(r));
      await cache.close();
    },
  };
}

/** An AdmissionReview v1 request for `object` of `kind`, as the API server sends it. */
export function admissionReview(kind: WorkloadKind, object: Record<string, unknown>, operation = 'CREATE'): Record<string, unknown> {
  const { group, resource } = RESOURCES[kind];
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group, version: 'v1', kind },
      resource: { group, version: 'v1', resource },
      requestKind: { group, version: 'v1', kind },
      requestResource: { group, version: 'v1', resource },
      name: 'echo',
      namespace: 'team-a',
      operation,
      userInfo: { username: 'system:serviceaccount:team-a:deployer', groups: ['system:authenticated'] },
      object,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/** A flox workload of `kind` naming `env`. */
export function floxWorkload(kind: WorkloadKind, env: string | undefined): Record<string, unknown> {
  return workload(kind, { env, runtimeClassName: 'flox' });
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

/** POST `body` (an object, or raw text/bytes) to the webhook over HTTPS, trusting `ca`. */
export function post(url: string, path: string, body: unknown, ca: string, headers: Record<string, string> = {}): Promise<Answer> {
  const data = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${url}${path}`, { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), ms: performance.now() - started });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** The `response` of an AdmissionReview answer. */
export function responseOf(answer: Answer): { uid: string; allowed: boolean; patchType?: string; patch?: string; status?: { code: number; reason: string; message: string }; warnings?: string[] } {
  return (answer.body as { response: ReturnType<typeof responseOf> }).response;
}
