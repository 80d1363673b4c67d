import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvironmentRegistry, type RealisedEnvironment } from './registry.ts';

let dir: string;
let clock: number;
const now = (): number => clock++;

const env = (text: string, reference = 'acme/a:1'): RealisedEnvironment => {
  const lockfile = new TextEncoder().encode(text);
  return { digest: createHash('sha256').update(lockfile).digest('hex'), reference, generation: 1, system: 'x86_64-linux', storePaths: ['/nix/store/0123456789abcdfghijklmnpqrsvwxyz-a-1'], lockfile };
};
// As the prefetcher passes it: a whole PodSummary, of which only uid, namespace and name are kept.
const pod = (uid: string) => ({ uid, namespace: 'apps', name: `pod-${uid}`, nodeName: 'node-a', annotations: { 'flox.dev/environment': 'x' }, labels: {} });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flox-agent-registry-'));
  clock = 1_000;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('EnvironmentRegistry', () => {
  it('keeps lockfiles, references and pods across a restart', () => {
    const a = env('{"a":1}');
    const r = EnvironmentRegistry.open(dir, {}, now);
    r.recordRealised(a, pod('u1'));
    r.recordRealised({ ...a, reference: 'acme/a' }, pod('u2'));
    const again = EnvironmentRegistry.open(dir, {}, now);
    expect(again.recovery.removed).toEqual([]);
    expect(again.record(a.digest)).toMatchObject({ references: ['acme/a', 'acme/a:1'], generation: 1, storePaths: a.storePaths });
    expect(Buffer.from(again.lockfile(a.digest)!).toString()).toBe('{"a":1}');
    expect(again.podsUsing(a.digest).map((p) => [p.uid, p.reference])).toEqual([['u1', 'acme/a:1'], ['u2', 'acme/a']]);
  });

  it('keeps the digest a pod was first seen with when its live reference later resolves elsewhere', () => {
    const r = EnvironmentRegistry.open(dir, {}, now);
    const first = env('{"v":1}', 'acme/a');
    const second = env('{"v":2}', 'acme/a');
    r.recordRealised(first, pod('u1'));
    r.recordRealised(second, pod('u1'));
    expect(r.podsUsing(first.digest).map((p) => p.uid)).toEqual(['u1']);
    expect(r.podsUsing(second.digest)).toEqual([]);
  });

  it('forgets deleted pods, and pods missing from the first list after a restart', () => {
    const a = env('{"a":1}');
    const r = EnvironmentRegistry.open(dir, {}, now);
    r.recordRealised(a, pod('u1'));
    r.recordRealised(a, pod('u2'));
    r.recordRealised(a, pod('u3'));
    r.podGone('u1');
    const again = EnvironmentRegistry.open(dir, {}, now);
    again.retainPods(['u3', 'u-new']);
    expect(again.podsUsing(a.digest).map((p) => p.uid)).toEqual(['u3']);
    expect(EnvironmentRegistry.open(dir, {}, now).podsUsing(a.digest).map((p) => p.uid)).toEqual(['u3']);
  });

  it('removes what a crash or a bad disk left: temp files, a record without its lockfile, a lockfile whose bytes are not its name, garbage JSON', () => {
    const a = env('{"a":1}');
    const b = env('{"b":2}');
    const c = env('{"c":3}');
    const r = EnvironmentRegistry.open(dir, {}, now);
    r.recordRealised(a, pod('u1'));
    r.recordRealised(b);
    r.recordRealised(c);
    writeFileSync(join(dir, `${a.digest}.json.123-abcd.tmp`), '{"half');
    rmSync(join(dir, `${b.digest}.lock`));
    writeFileSync(join(dir, `${c.digest}.lock`), '{"c":4}');
    writeFileSync(join(dir, `${'d'.repeat(64)}.json`), 'not json');
    writeFileSync(join(dir, `${'e'.repeat(64)}.lock`), 'orphan');
    const again = EnvironmentRegistry.open(dir, {}, now);
    expect(again.recovery.removed.sort()).toEqual(
      [`${a.digest}.json.123-abcd.tmp`, `${b.digest}.json`, `${c.digest}.json`, `${c.digest}.lock`, `${'d'.repeat(64)}.json`, `${'e'.repeat(64)}.lock`].sort(),
    );
    expect(again.records().map((x) => x.digest)).toEqual([a.digest]);
    expect(again.podsUsing(a.digest)).toHaveLength(1);
    expect(readdirSync(dir).sort()).toEqual([`${a.digest}.json`, `${a.digest}.lock`, 'pods.json'].sort());
  });

  it('drops a pods file that does not parse', () => {
    const a = env('{"a":1}');
    EnvironmentRegistry.open(dir, {}, now).recordRealised(a, pod('u1'));
    writeFileSync(join(dir, 'pods.json'), '{"version":1,"pods":[{"uid":1}]}');
    const again = EnvironmentRegistry.open(dir, {}, now);
    expect(again.recovery.removed).toEqual(['pods.json']);
    expect(again.podsUsing(a.digest)).toEqual([]);
  });

  it('is bounded: least recently used environments go first, never one a pod uses; lockfile bytes count too', () => {
    const r = EnvironmentRegistry.open(dir, { maxEnvironments: 2, maxLockfileBytes: 1_000, maxPods: 2 }, now);
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => env(`{"${x}":1}`));
    r.recordRealised(a!, pod('u1'));
    r.recordRealised(b!);
    r.recordRealised(c!);
    expect(r.records().map((x) => x.digest).sort()).toEqual([a!.digest, c!.digest].sort());
    r.recordRealised(d!);
    expect(r.records().map((x) => x.digest).sort()).toEqual([a!.digest, d!.digest].sort());
    expect(readdirSync(dir).filter((f) => f.endsWith('.lock'))).toHaveLength(2);
    const big = env(`{"big":"${'x'.repeat(990)}"}`);
    r.recordRealised(big);
    expect(r.records().map((x) => x.digest)).toEqual([a!.digest]);
    r.recordRealised(a!, pod('u2'));
    r.recordRealised(a!, pod('u3'));
    expect(JSON.parse(readFileSync(join(dir, 'pods.json'), 'utf8')).pods.map((p: { uid: string }) => p.uid)).toEqual(['u2', 'u3']);
  });
});

describe('EnvironmentViews', () => {
  it('leaves out an environment whose SBOM cannot be made, and lists the others', async () => {
    const { EnvironmentViews } = await import('./views.ts');
    const r = EnvironmentRegistry.open(dir, {}, now);
    const broken = env('{"not":"a lockfile"}');
    r.recordRealised({ ...broken, storePaths: [] });
    const skipped: Array<[string, unknown]> = [];
    const views = new EnvironmentViews({ registry: r, store: { pathInfo: () => undefined, hostPath: (p: string) => p }, node: 'n', system: 'x86_64-linux', onSkipped: (d, e) => skipped.push([d, e]) });
    expect(views.list().environments).toEqual([]);
    expect(skipped).toEqual([[broken.digest, expect.objectContaining({ code: 'FLOXK8S_LOCKFILE_INVALID' })]]);
  });
});
