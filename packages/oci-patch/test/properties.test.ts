// Property tests: idempotence, no mount beyond closure + store view + profile, unknown fields survive.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeEnvironment, parseStorePath, patchSpec, type Mount, type PatchPlan, type Spec } from '../src/index.ts';

const KNOWN = new Set(['ociVersion', 'process', 'mounts', 'annotations', 'args', 'env', 'destination', 'source', 'type', 'options']);

const storePath = fc
  .tuple(fc.stringMatching(/^[0-9abcdfghijklmnpqrsvwxyz]{32}$/), fc.stringMatching(/^[A-Za-z0-9+\-_?=][A-Za-z0-9+\-._?=]{0,30}$/))
  .map(([hash, name]) => `/nix/store/${hash}-${name}`);

const segment = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,7}$/).filter((s) => s !== '..' && s !== '.');
const cleanPath = (roots: string[]) =>
  fc.tuple(fc.constantFrom(...roots), fc.array(segment, { minLength: 1, maxLength: 3 })).map(([root, segs]) => `${root}/${segs.join('/')}`);

const envName = fc.constantFrom('PATH', 'MANPATH', 'FLOX_ENV', 'XDG_DATA_DIRS', 'GREETING', 'A');
const envValue = fc.string({ maxLength: 12 }).filter((s) => !s.includes('\0'));

const basePlan = fc.record({
  hostStoreDir: cleanPath(['/var/lib/store', '/srv/store', '/tmp/store']),
  storePaths: fc.array(storePath, { maxLength: 20 }),
  viewPath: cleanPath(['/var/lib/views', '/srv/views']),
  profile: fc.record({ hostPath: cleanPath(['/var/lib/profiles', '/srv/profiles']), containerPath: cleanPath(['/run/flox', '/opt/flox']) }),
  env: fc.array(fc.record({ name: envName, value: envValue, merge: fc.constantFrom('prepend', 'set', 'default') as fc.Arbitrary<'prepend' | 'set' | 'default'> }), {
    maxLength: 8,
  }),
  wrapper: fc.option(fc.record({ shell: cleanPath(['/nix/store']), script: cleanPath(['/run/flox']) }), { nil: undefined }),
  applied: fc.record({ environment: fc.constantFrom('acme/web', 'acme/web:3'), digest: fc.stringMatching(/^[0-9a-f]{64}$/) }),
});
// Some closure paths are symlinks: entries of the store view, never bind-mounted.
const plan: fc.Arbitrary<PatchPlan> = basePlan.chain(({ viewPath, ...p }) =>
  fc.subarray(p.storePaths).map((symlinks) => ({ ...p, storeView: { hostPath: viewPath, symlinks } })),
);

const unknownFields = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !KNOWN.has(k) && k !== '__proto__'),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 4 },
);

const existingMount = (closure: string[]): fc.Arbitrary<Mount> =>
  fc.record({
    destination: closure.length > 0 ? fc.oneof(fc.constantFrom('/proc', '/dev', '/data', '/nix', '/etc/hosts'), fc.constantFrom(...closure)) : fc.constantFrom('/proc', '/data'),
    type: fc.constantFrom('bind', 'proc', 'tmpfs'),
    source: fc.constantFrom('proc', '/host/a', 'tmpfs'),
    options: fc.array(fc.constantFrom('ro', 'rw', 'nosuid', 'rbind'), { maxLength: 3 }),
    extra: unknownFields,
  }).map(({ extra, ...m }) => ({ ...extra, ...m }));

const specFor = (p: PatchPlan): fc.Arbitrary<Spec> =>
  fc
    .record({
      top: unknownFields,
      processExtra: unknownFields,
      env: fc.array(fc.tuple(envName, envValue).map(([n, v]) => `${n}=${v}`), { maxLength: 5 }),
      args: fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 3 }),
      mounts: fc.array(existingMount(p.storePaths), { maxLength: 5 }),
      annotations: fc.dictionary(fc.string({ maxLength: 10 }).filter((k) => !k.startsWith('flox.dev/') && k !== '__proto__'), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
    })
    .map(({ top, processExtra, env, args, mounts, annotations }) => ({
      ...top,
      ociVersion: '1.0.2-dev',
      process: { ...processExtra, args, env },
      mounts,
      annotations,
    }));

const planAndSpec = plan.chain((p) => specFor(p).map((s) => ({ plan: p, spec: s })));
const OURS = 'rbind,ro,nosuid,nodev';

describe('patchSpec properties', () => {
  it('is idempotent', () => {
    fc.assert(
      fc.property(planAndSpec, ({ plan: p, spec }) => {
        const once = patchSpec(spec, p);
        expect(JSON.stringify(patchSpec(once, p))).toBe(JSON.stringify(once));
      }),
      { numRuns: 300 },
    );
  });

  it('never adds a mount outside the closure, the store view and the profile, and never one of a symlink', () => {
    fc.assert(
      fc.property(planAndSpec, ({ plan: p, spec }) => {
        const mounted = p.storePaths.filter((sp) => !p.storeView.symlinks.includes(sp));
        const allowed = new Map<string, string>(mounted.map((sp) => [sp, `${p.hostStoreDir}/${sp.slice('/nix/store/'.length)}`]));
        allowed.set(p.profile.containerPath, p.profile.hostPath);
        allowed.set('/nix/store', p.storeView.hostPath);
        const before = new Set((spec.mounts ?? []).map((m) => JSON.stringify(m)));
        const out = patchSpec(spec, p);
        const added = (out.mounts ?? []).filter((m) => !before.has(JSON.stringify(m)));
        for (const m of added) {
          expect(allowed.get(m.destination)).toBe(m.source);
          expect(m.type).toBe('bind');
          expect(m.options?.join(',')).toBe(OURS);
        }
        expect(added.length).toBeLessThanOrEqual(allowed.size);
      }),
      { numRuns: 300 },
    );
  });

  it('never mounts outside the host store dir, whatever the store path strings', () => {
    fc.assert(
      fc.property(plan, fc.array(fc.oneof(storePath, fc.string(), storePath.map((s) => `${s}/../../etc`)), { maxLength: 6 }), (p, storePaths) => {
        let out: Spec;
        try {
          out = patchSpec({ ociVersion: '1.1.0' }, { ...p, storePaths, storeView: { ...p.storeView, symlinks: [] } });
        } catch (err) {
          expect((err as { code?: string }).code).toBe('FLOXK8S_PATCH_PLAN_INVALID');
          expect(storePaths.some((sp) => parseStorePath(sp) === undefined)).toBe(true);
          return;
        }
        for (const m of out.mounts ?? []) {
          if (m.destination === p.profile.containerPath || m.destination === '/nix/store') continue;
          expect(m.source?.startsWith(`${p.hostStoreDir}/`)).toBe(true);
          expect(m.source?.slice(p.hostStoreDir.length + 1)).toMatch(/^[^/]+$/);
          expect(m.source?.split('/')).not.toContain('..');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps unknown fields and their order at every level it touches', () => {
    fc.assert(
      fc.property(planAndSpec, ({ plan: p, spec }) => {
        const out = patchSpec(spec, p);
        expect(Object.keys(out)).toEqual(Object.keys(spec));
        expect(Object.keys(out.process ?? {})).toEqual(Object.keys(spec.process ?? {}));
        for (const key of Object.keys(spec)) {
          if (!KNOWN.has(key)) expect(JSON.stringify(out[key])).toBe(JSON.stringify(spec[key]));
        }
        for (const key of Object.keys(spec.process ?? {})) {
          if (!KNOWN.has(key)) expect(JSON.stringify(out.process?.[key])).toBe(JSON.stringify(spec.process?.[key]));
        }
        // Existing mounts that are kept come back byte-for-byte, unknown fields included.
        const outMounts = new Set((out.mounts ?? []).map((m) => JSON.stringify(m)));
        for (const m of spec.mounts ?? []) {
          if (!p.storePaths.includes(m.destination)) expect(outMounts.has(JSON.stringify(m))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('mergeEnvironment properties', () => {
  it('is idempotent and leaves variables the plan does not name alone', () => {
    const entry = fc.tuple(fc.constantFrom('PATH', 'A', 'B', 'OTHER', 'X'), envValue).map(([n, v]) => `${n}=${v}`);
    const variable = fc.record({ name: fc.constantFrom('PATH', 'A', 'B'), value: envValue, merge: fc.constantFrom('prepend', 'set', 'default') as fc.Arbitrary<'prepend' | 'set' | 'default'> });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), fc.array(variable, { maxLength: 6 }), (existing, vars) => {
        const once = mergeEnvironment(existing, vars);
        expect(mergeEnvironment(once, vars)).toEqual(once);
        const untouched = (list: string[]) => list.filter((e) => !vars.some((v) => e.startsWith(`${v.name}=`)));
        expect(untouched(once)).toEqual(untouched(existing));
      }),
      { numRuns: 500 },
    );
  });
});
