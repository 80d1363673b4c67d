// Benchmark: patchSpec with a 1 000-path closure on the real `ctr run` config.json.
// Target: median ≤ 2 ms. Baseline, measured in the same run: structuredClone of the
// patched spec (the same amount of data, doing nothing but copy it).
// Run: node bench/patch.ts
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { patchSpec, type PatchPlan, type Spec } from '../src/index.ts';

const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz';
const CLOSURE_SIZE = 1000;
const ROUNDS = 21;
const CALLS_PER_ROUND = 50;

function storePath(i: number): string {
  let hash = '';
  let x = (i + 1) * 2654435761;
  for (let k = 0; k < 32; k++) {
    hash += NIX32[x % 32];
    x = Math.floor(x / 32) + k * 7919 + i;
  }
  return `/nix/store/${hash}-package-${i}-1.0`;
}

const spec = JSON.parse(readFileSync(new URL('../test/fixtures/ctr/ctr-run.config.json', import.meta.url), 'utf8')) as Spec;
const plan: PatchPlan = {
  hostStoreDir: '/var/lib/flox-k8s/store',
  storePaths: Array.from({ length: CLOSURE_SIZE }, (_, i) => storePath(i)),
  storeView: { hostPath: '/var/lib/flox-k8s/profiles/abc/.flox-k8s/nix-store', symlinks: [] },
  profile: { hostPath: '/var/lib/flox-k8s/profiles/abc', containerPath: '/run/flox/environment' },
  env: [
    { name: 'PATH', value: '/run/flox/environment/bin:/run/flox/environment/sbin', merge: 'prepend' },
    { name: 'MANPATH', value: '/run/flox/environment/share/man', merge: 'prepend' },
    { name: 'XDG_DATA_DIRS', value: '/run/flox/environment/share', merge: 'prepend' },
    { name: 'FLOX_ENV', value: '/run/flox/environment', merge: 'set' },
    { name: 'SSL_CERT_FILE', value: '/run/flox/environment/etc/ssl/certs/ca-bundle.crt', merge: 'set' },
    { name: 'GREETING', value: 'hi', merge: 'default' },
  ],
  wrapper: { shell: `${storePath(0)}/bin/sh`, script: '/run/flox/environment/activate.d/hook.sh' },
  applied: { environment: 'acme/echoserver:12', digest: 'ab'.repeat(32) },
};
if (new Set(plan.storePaths).size !== CLOSURE_SIZE) throw new Error('generated store paths are not unique');

const patched = patchSpec(spec, plan);
if ((patched.mounts?.length ?? 0) !== (spec.mounts?.length ?? 0) + CLOSURE_SIZE + 1) throw new Error('unexpected mount count');

/** Mean time per call (ms) of CALLS_PER_ROUND calls. */
function round(fn: () => unknown): number {
  const start = performance.now();
  for (let i = 0; i < CALLS_PER_ROUND; i++) fn();
  return (performance.now() - start) / CALLS_PER_ROUND;
}

const cases: Record<string, () => unknown> = {
  'patchSpec (fresh spec, 1000 paths)': () => patchSpec(spec, plan),
  'patchSpec (re-patch, idempotent)': () => patchSpec(patched, plan),
  'baseline: structuredClone(patched spec)': () => structuredClone(patched),
};
for (const fn of Object.values(cases)) round(fn); // warm-up
// Rounds interleave the cases, so background load hits all of them alike.
const samples = new Map<string, number[]>(Object.keys(cases).map((name) => [name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(cases)) samples.get(name)?.push(round(fn));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const results = Object.fromEntries([...samples].map(([name, xs]) => [name, median(xs)])) as Record<string, number>;
const baseline = results['baseline: structuredClone(patched spec)'] as number;
process.stdout.write(`node ${process.version}, ${ROUNDS} rounds × ${CALLS_PER_ROUND} calls, median of per-call means\n`);
for (const [name, ms] of Object.entries(results)) {
  process.stdout.write(`${name.padEnd(42)} ${ms.toFixed(3).padStart(8)} ms   ${(ms / baseline).toFixed(2)}× baseline\n`);
}
const fresh = results['patchSpec (fresh spec, 1000 paths)'] as number;
process.stdout.write(`target median ≤ 2 ms: ${fresh <= 2 ? 'met' : 'MISSED'}\n`);
