// 50 AdmissionReviews at once against a webhook that has just started (every lookup and SBOM
// cold), then 50 more (warm): every answer must arrive and be right. The latencies are
// printed (`FLOX_ADMISSION_LATENCY …`) for the record, not asserted: timing on a shared
// 2-core machine is not a test result.
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLog } from '../src/log.ts';
import { startWebhook, type RunningWebhook } from '../src/webhook.ts';
import { WORKLOAD_KINDS } from './objects.ts';
import { admissionReview, floxWorkload, post, responseOf, startHarness, type Harness } from './webhook-harness.ts';

let h: Harness;
let webhook: RunningWebhook;

beforeAll(async () => {
  h = await startHarness();
  // The shipped review budget (4 s, under the webhook configurations' timeoutSeconds: 5): every answer must be a real one.
  webhook = await startWebhook(h.config({ limits: { maxBodyBytes: 256 * 1024, requestTimeoutMs: 10_000, reviewTimeoutMs: 4_000 } }), jsonLog('error', () => undefined));
}, 300_000);

afterAll(async () => {
  await webhook?.close();
  await h?.close();
  if (h) await rm(h.dir, { recursive: true, force: true });
});

type Expect = { allowed: true; pinnedTo?: string } | { allowed: false; says: string };

function cases(): Array<{ path: '/validate' | '/mutate'; env: string; expect: Expect }> {
  const d = h.digests;
  const all: Array<{ path: '/validate' | '/mutate'; env: string; expect: Expect }> = [
    { path: '/validate', env: 'acme/hello:1', expect: { allowed: true } },
    { path: '/mutate', env: 'acme/hello:1', expect: { allowed: true, pinnedTo: `acme/hello@sha256:${d['hello:1']}` } },
    { path: '/mutate', env: 'acme/hello', expect: { allowed: true, pinnedTo: `acme/hello@sha256:${d['hello:2']}` } },
    { path: '/validate', env: 'ops/local:1', expect: { allowed: true } },
    { path: '/validate', env: 'acme/nope:1', expect: { allowed: false, says: 'does not exist' } },
    { path: '/validate', env: 'acme/old:1', expect: { allowed: false, says: 'rule "hello-flox-too-old": package hello-flox 0.9' } },
    { path: '/validate', env: 'acme/agpl:1', expect: { allowed: false, says: 'rule "no-agpl": package hello-flox 1.0' } },
    { path: '/validate', env: `acme/fixture@sha256:${d['fixture']}`, expect: { allowed: false, says: 'rule "no-fixture-tree": package flox-fixture-tree 1.0' } },
  ];
  return Array.from({ length: 50 }, (_, i) => all[i % all.length]!);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function burst(label: string): Promise<void> {
  const list = cases();
  const started = performance.now();
  const answers = await Promise.all(
    list.map((c, i) => {
      const kind = WORKLOAD_KINDS[i % WORKLOAD_KINDS.length]!;
      return post(webhook.url, c.path, admissionReview(kind, floxWorkload(kind, c.env)), h.tls.cert);
    }),
  );
  const wall = performance.now() - started;
  expect(answers).toHaveLength(50);
  answers.forEach((answer, i) => {
    const c = list[i]!;
    expect(answer.status, `${i} ${c.env}`).toBe(200);
    const response = responseOf(answer);
    expect(response.allowed, `${i} ${c.path} ${c.env}: ${response.status?.message ?? ''}`).toBe(c.expect.allowed);
    if (c.expect.allowed && c.expect.pinnedTo !== undefined) {
      expect((JSON.parse(Buffer.from(response.patch!, 'base64').toString()) as Array<{ value: string }>)[0]!.value).toBe(c.expect.pinnedTo);
    }
    if (!c.expect.allowed) expect(response.status!.message).toContain(c.expect.says);
  });
  const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
  const figure = { label, reviews: ms.length, p50: percentile(ms, 50), p90: percentile(ms, 90), p99: percentile(ms, 99), max: ms.at(-1)!, wall };
  console.log(`FLOX_ADMISSION_LATENCY ${JSON.stringify(Object.fromEntries(Object.entries(figure).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 10) / 10 : v])))}`);
}

describe('50 concurrent AdmissionReviews', () => {
  it('all arrive and are right, cold (first lookups, SBOMs published and computed)', async () => {
    await burst('cold');
  }, 60_000);

  it('all arrive and are right, warm', async () => {
    await burst('warm');
  }, 60_000);
});
