// The admission webhook over real HTTPS: AdmissionReview v1 bodies for every workload kind,
// environments from a real loopback hub and a directory, SBOMs published or computed from a
// real signed Nix cache; allowed, denied and patched answers (the JSONPatch applied and the
// result checked); hostile requests; certificate and policy reloads.
import { connect } from 'node:tls';
import { request as httpsRequest } from 'node:https';
import { rm, writeFile } from 'node:fs/promises';
import fastJsonPatch from 'fast-json-patch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLog } from '../src/log.ts';
import { startWebhook, type RunningWebhook } from '../src/webhook.ts';
import { WORKLOAD_KINDS, type WorkloadKind } from './objects.ts';
import { admissionReview, floxWorkload, post, POLICY, responseOf, selfSignedPair, startHarness, type Harness } from './webhook-harness.ts';

let h: Harness;
let webhook: RunningWebhook;
const logs: Array<Record<string, unknown>> = [];

const review = (path: '/validate' | '/mutate', kind: WorkloadKind, env: string | undefined, operation = 'CREATE') =>
  post(webhook.url, path, admissionReview(kind, floxWorkload(kind, env), operation), h.tls.cert);

/** The pod (template) annotations of an object of `kind`. */
function annotationsOf(kind: WorkloadKind, object: Record<string, unknown>): Record<string, string> {
  const at = (o: unknown, ...path: string[]): unknown => path.reduce((x, k) => (x as Record<string, unknown>)[k], o);
  const pod = kind === 'Pod' ? object : kind === 'CronJob' ? at(object, 'spec', 'jobTemplate', 'spec', 'template') : at(object, 'spec', 'template');
  return at(pod, 'metadata', 'annotations') as Record<string, string>;
}

beforeAll(async () => {
  h = await startHarness();
  webhook = await startWebhook(h.config(), jsonLog('debug', (line) => logs.push(JSON.parse(line) as Record<string, unknown>)), { timeoutCheckMs: 100 });
}, 300_000);

afterAll(async () => {
  await webhook?.close();
  await h?.close();
  if (h) await rm(h.dir, { recursive: true, force: true });
});

describe.each(WORKLOAD_KINDS)('%s', (kind) => {
  it('is allowed with an environment that exists and passes the policy', async () => {
    const answer = await review('/validate', kind, 'acme/hello:1');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    expect(responseOf(answer)).toEqual({ uid: expect.any(String), allowed: true });
  });

  it('is pinned to the lockfile digest by the mutating webhook: the JSONPatch applies and changes only the annotation', async () => {
    const object = floxWorkload(kind, 'acme/hello:1');
    const body = admissionReview(kind, object);
    const answer = await post(webhook.url, '/mutate', body, h.tls.cert);
    const response = responseOf(answer);
    expect(response).toMatchObject({ uid: (body['request'] as { uid: string }).uid, allowed: true, patchType: 'JSONPatch' });
    const patch = JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8')) as fastJsonPatch.Operation[];
    const pointer = { Pod: '/metadata', CronJob: '/spec/jobTemplate/spec/template/metadata' }[kind as string] ?? '/spec/template/metadata';
    expect(patch).toEqual([{ op: 'replace', path: `${pointer}/annotations/flox.dev~1environment`, value: `acme/hello@sha256:${h.digests['hello:1']}` }]);
    const patched = fastJsonPatch.applyPatch(structuredClone(object), patch, true, false).newDocument;
    expect(annotationsOf(kind, patched)).toEqual({ 'flox.dev/environment': `acme/hello@sha256:${h.digests['hello:1']}` });
    annotationsOf(kind, object)['flox.dev/environment'] = `acme/hello@sha256:${h.digests['hello:1']}`;
    expect(patched).toEqual(object);
    // The pinned object is what the validating webhook then sees: allowed, and not patched again.
    const pinned = post(webhook.url, '/validate', admissionReview(kind, patched), h.tls.cert);
    expect(responseOf(await pinned)).toEqual({ uid: expect.any(String), allowed: true });
    expect(responseOf(await post(webhook.url, '/mutate', admissionReview(kind, patched), h.tls.cert)).patch).toBeUndefined();
  });

  it('is denied, naming the reference, when the environment does not exist', async () => {
    const response = responseOf(await review('/validate', kind, 'acme/nope:3'));
    expect(response.allowed).toBe(false);
    expect(response.status).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(response.status!.message).toMatch(/^flox\.dev\/environment in [a-zA-Z.]*metadata\.annotations "acme\/nope:3" does not exist: environment generation 3 of acme\/nope not found in hub http:\/\/127\.0\.0\.1:\d+, dir \//);
    // The mutating webhook refuses it too: there is no digest to pin.
    expect(responseOf(await review('/mutate', kind, 'acme/nope:3')).allowed).toBe(false);
  });

  it('is denied by the SBOM policy, naming the package and its version', async () => {
    const response = responseOf(await review('/validate', kind, 'acme/old:1'));
    expect(response.allowed).toBe(false);
    expect(response.status!.message).toContain(
      `"acme/old:1" (acme/old@sha256:${h.digests['old']}) is denied by SBOM policy rule "hello-flox-too-old": package hello-flox 0.9 (${h.fixtures.storePaths.script}) matches hello-flox <1.0 on x86_64-linux: hello-flox before 1.0 greets the wrong planet`,
    );
  });
});

describe('environments and policy rules', () => {
  it('pins a live reference to the live generation\'s digest', async () => {
    const response = responseOf(await review('/mutate', 'Deployment', 'acme/hello'));
    expect(JSON.parse(Buffer.from(response.patch!, 'base64').toString())).toEqual([
      { op: 'replace', path: '/spec/template/metadata/annotations/flox.dev~1environment', value: `acme/hello@sha256:${h.digests['hello:2']}` },
    ]);
  });

  it('resolves through the directory source too', async () => {
    expect(responseOf(await review('/validate', 'Pod', 'ops/local:1')).allowed).toBe(true);
  });

  it('denies by store path and by licence expression, naming the component', async () => {
    const tree = responseOf(await review('/validate', 'Job', 'acme/fixture:1'));
    expect(tree.status!.message).toContain(`denied by SBOM policy rule "no-fixture-tree": package flox-fixture-tree 1.0 (${h.fixtures.storePaths.tree}) matches ${h.fixtures.storePaths.tree} on x86_64-linux`);
    const agpl = responseOf(await review('/validate', 'StatefulSet', 'acme/agpl:1'));
    expect(agpl.status!.message).toContain(`denied by SBOM policy rule "no-agpl": package hello-flox 1.0 (${h.fixtures.storePaths.script}) matches license AGPL-3.0-only OR AGPL-3.0-or-later`);
  });

  it('denies an environment without packages for the cluster\'s systems', async () => {
    const response = responseOf(await review('/validate', 'Pod', 'acme/darwin:1'));
    expect(response.status!.message).toContain("has no packages for the cluster's systems (x86_64-linux); it has aarch64-darwin");
  });

  it('uses the published SBOM when there is one, and the caches\' narinfos otherwise', async () => {
    const narinfos = (): number => h.cache.count(/\.narinfo$/);
    const before = narinfos();
    expect(responseOf(await review('/validate', 'Pod', `acme/hello@sha256:${h.digests['hello:2']}`)).allowed).toBe(true);
    expect(narinfos()).toBe(before);
    expect(h.hubRequests).toContain('/acme/hello/generations/2/sbom.x86_64-linux.cdx.json');
    const agplDigest = `acme/agpl@sha256:${h.digests['agpl']}`;
    expect(responseOf(await review('/validate', 'Pod', agplDigest)).allowed).toBe(false);
    expect(h.hubRequests).toContain('/acme/agpl/generations/1/sbom.x86_64-linux.cdx.json');
  });

  it('leaves pods without the annotation, other operations and other kinds alone', async () => {
    expect(responseOf(await review('/validate', 'Pod', undefined))).toEqual({ uid: expect.any(String), allowed: true });
    expect(responseOf(await review('/validate', 'Pod', 'acme/nope:1', 'DELETE')).allowed).toBe(true);
    const service = admissionReview('Pod', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } });
    (service['request'] as { kind: unknown }).kind = { group: '', version: 'v1', kind: 'Service' };
    expect(responseOf(await post(webhook.url, '/validate', service, h.tls.cert))).toEqual({ uid: expect.any(String), allowed: true, warnings: ['flox-admission does not judge v1/Service; check the webhook\'s rules'] });
  });

  it('judges UPDATEs like CREATEs', async () => {
    expect(responseOf(await review('/validate', 'Deployment', 'acme/old:1', 'UPDATE')).allowed).toBe(false);
  });

  it('answers a malformed reference inside the AdmissionReview with 400', async () => {
    const response = responseOf(await review('/validate', 'Pod', '../../etc/passwd'));
    expect(response).toMatchObject({ allowed: false, status: { code: 400, reason: 'BadRequest' } });
    expect(response.status!.message).toContain('"../../etc/passwd" is not an environment reference');
  });
});

describe('hostile requests', () => {
  const raw = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) => post(webhook.url, path, body, h.tls.cert, headers);

  it.each([
    ['malformed JSON', '/validate', '{"apiVersion": "admission.k8s.io/v1", ', {}, 400, 'FLOXK8S_ADMISSION_REVIEW_INVALID'],
    ['an AdmissionReview of another version', '/validate', JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }), {}, 400, 'FLOXK8S_ADMISSION_REVIEW_INVALID'],
    ['another kind of object', '/mutate', JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: {} }), {}, 400, 'FLOXK8S_ADMISSION_REVIEW_INVALID'],
    ['a request without a uid', '/validate', JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE' } }), {}, 400, 'FLOXK8S_ADMISSION_REVIEW_INVALID'],
    ['a body over the limit', '/validate', Buffer.alloc(300 * 1024, 32), {}, 413, 'FLOXK8S_ADMISSION_BODY_TOO_LARGE'],
    ['another content type', '/validate', '{}', { 'content-type': 'text/plain' }, 415, 'FLOXK8S_ADMISSION_REVIEW_INVALID'],
    ['an unknown path', '/admit', '{}', {}, 404, 'FLOXK8S_ADMISSION_REVIEW_INVALID'],
  ])('answers %s with a coded error and keeps serving', async (_what, path, body, headers, status, code) => {
    const answer = await raw(path, body, headers);
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual({ error: { code, message: expect.any(String) } });
    expect(responseOf(await review('/validate', 'Pod', 'acme/hello:1')).allowed).toBe(true);
  });

  it('cuts off a body that grows past the limit without a Content-Length', async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(`${webhook.url}/validate`, { method: 'POST', ca: h.tls.cert, agent: false, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += String(c)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      for (let i = 0; i < 40; i++) req.write(Buffer.alloc(16 * 1024, 32));
      req.end();
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'FLOXK8S_ADMISSION_BODY_TOO_LARGE' } });
  });

  it('gives a client that sends too slowly 408 after the request timeout', async () => {
    const started = performance.now();
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(webhook.url).port), ca: h.tls.cert }, () => {
        socket.write('POST /validate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"apiVersion":');
      });
      let out = '';
      socket.on('data', (c: Buffer) => (out += String(c)));
      socket.on('end', () => resolve(out));
      socket.on('error', reject);
    });
    const elapsed = performance.now() - started;
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(text).toContain('"code":"FLOXK8S_ADMISSION_REQUEST_TIMEOUT"');
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(10_000);
    expect(responseOf(await review('/validate', 'Pod', 'acme/hello:1')).allowed).toBe(true);
  });

  it('refuses GET on the review endpoints and serves health', async () => {
    const get = (path: string) =>
      new Promise<number>((resolve, reject) => {
        httpsRequest(`${webhook.url}${path}`, { ca: h.tls.cert, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
    expect(await get('/validate')).toBe(405);
    expect(await get('/healthz')).toBe(200);
    expect(await get('/readyz')).toBe(200);
  });
});

describe('reloads', () => {
  const peerFingerprint = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(webhook.url).port), rejectUnauthorized: false }, () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.end();
      });
      socket.on('error', reject);
    });

  it('serves a renewed certificate without a restart, and keeps the old one when the new pair is broken', async () => {
    const before = await peerFingerprint();
    const renewed = await selfSignedPair('renewed.flox-system.svc');
    await writeFile(h.tls.keyFile, renewed.key);
    await writeFile(h.tls.certFile, renewed.cert);
    const deadline = Date.now() + 10_000;
    while ((await peerFingerprint()) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const after = await peerFingerprint();
    expect(after).not.toBe(before);
    expect(logs.some((l) => l['msg'] === 'TLS certificate reloaded')).toBe(true);
    // A key that does not match the certificate (as mid-rotation): reported, the renewed pair stays.
    await writeFile(h.tls.keyFile, (await selfSignedPair()).key);
    const logged = Date.now() + 10_000;
    while (!logs.some((l) => l['msg'] === 'TLS pair not usable; serving the previous one') && Date.now() < logged) await new Promise((r) => setTimeout(r, 50));
    expect(logs.find((l) => l['msg'] === 'TLS pair not usable; serving the previous one')).toMatchObject({ code: 'FLOXK8S_ADMISSION_TLS_INVALID' });
    expect(await peerFingerprint()).toBe(after);
    await writeFile(h.tls.keyFile, renewed.key);
    h.tls.cert = renewed.cert;
  });

  it('applies a changed policy, and keeps the previous one when the new one is invalid', async () => {
    const before = responseOf(await review('/validate', 'Pod', 'acme/hello:1'));
    expect(before.allowed).toBe(true);
    await writeFile(h.policyFile, `${POLICY.replace('STORE_PATH_TREE', h.fixtures.storePaths.tree)}  - name: no-busybox\n    package: flox-fixture-busybox\n`);
    const until = async (allowed: boolean): Promise<ReturnType<typeof responseOf>> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const r = responseOf(await review('/validate', 'Pod', 'acme/hello:1'));
        if (r.allowed === allowed || Date.now() > deadline) return r;
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    const denied = await until(false);
    expect(denied.status!.message).toContain('denied by SBOM policy rule "no-busybox": package flox-fixture-busybox 1.0');
    await writeFile(h.policyFile, 'rules:\n  - package: openssl\n    versions: "^3"\n');
    const deadline = Date.now() + 10_000;
    while (!logs.some((l) => l['msg'] === 'SBOM policy rejected; the previous one stays in force') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(logs.find((l) => l['msg'] === 'SBOM policy rejected; the previous one stays in force')).toMatchObject({ code: 'FLOXK8S_ADMISSION_POLICY_INVALID' });
    expect(responseOf(await review('/validate', 'Pod', 'acme/hello:1')).allowed).toBe(false);
    await writeFile(h.policyFile, POLICY.replace('STORE_PATH_TREE', h.fixtures.storePaths.tree));
    expect((await until(true)).allowed).toBe(true);
  });
});
