// Golden tests on config.json files captured from real containerd 1.6 (see
// fixtures/README.md). CRI captures in fixtures/captured/ are picked up as they appear.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  parseProcess,
  parseSpec,
  patchExecProcess,
  patchSpec,
  shouldPatch,
  shouldPatchExec,
  type Mount,
  type Process,
  type Spec,
} from '../src/index.ts';
import { samplePlan } from './plans.ts';

const fixtures = new URL('./fixtures/', import.meta.url);

interface Capture {
  name: string;
  raw: string;
}

function read(dir: string): Capture[] {
  const url = new URL(`${dir}/`, fixtures);
  if (!existsSync(url)) return [];
  return readdirSync(url)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: `${dir}/${f.slice(0, -'.json'.length)}`, raw: readFileSync(new URL(f, url), 'utf8') }));
}

const ctr = read('ctr');
const captured = read('captured');
// `*.process.json` are `runc exec --process` documents; everything else is a config.json.
const isProcess = (c: Capture): boolean => c.name.endsWith('.process');
const cri = captured.filter((c) => !isProcess(c));
const execProcesses = captured.filter(isProcess);
const golden = (name: string): string => `./fixtures/golden/${name.replace('/', '--')}.patched.json`;
const kindOf = (spec: Spec): string => spec.annotations?.['io.kubernetes.cri.container-type'] ?? 'ctr';

describe.each([...ctr, ...cri])('$name', ({ name, raw }) => {
  const spec = JSON.parse(raw) as unknown;

  it('round-trips unchanged through parseSpec', () => {
    const parsed = parseSpec(JSON.parse(raw));
    expect(JSON.stringify(parsed)).toBe(JSON.stringify(JSON.parse(raw)));
    // containerd writes compact JSON: then even the file bytes come back.
    if (!raw.includes('\n')) expect(JSON.stringify(parsed)).toBe(raw);
  });

  it('is classified by shouldPatch', () => {
    const decision = shouldPatch(spec);
    const kind = kindOf(spec as Spec);
    if (kind === 'sandbox') expect(decision.patch).toBe(false);
    if (kind === 'sandbox' && (spec as Spec).annotations?.['flox.dev/environment'] !== undefined) {
      expect(decision).toEqual({ patch: false, reason: 'sandbox' });
    }
    if (kind !== 'sandbox' && (spec as Spec).annotations?.['flox.dev/environment'] !== undefined) {
      expect(decision).toMatchObject({ patch: true });
    }
  });

  it('patches to the golden spec, idempotently, keeping everything it does not own', async () => {
    const original = JSON.parse(raw) as Spec;
    const patched = patchSpec(JSON.parse(raw), samplePlan());
    await expect(`${JSON.stringify(patched, null, 2)}\n`).toMatchFileSnapshot(golden(name));
    expect(JSON.stringify(patchSpec(patched, samplePlan()))).toBe(JSON.stringify(patched));

    // Everything but mounts, process.env/args and annotations is untouched, in order.
    const { mounts, process, annotations, ...rest } = patched;
    const { mounts: mounts0, process: process0, annotations: annotations0, ...rest0 } = original;
    expect(JSON.stringify(rest)).toBe(JSON.stringify(rest0));
    expect(mounts?.slice(0, mounts0?.length ?? 0)).toEqual(mounts0 ?? []);
    const added = mounts?.slice(mounts0?.length ?? 0) ?? [];
    expect(added.every((m: Mount) => m.type === 'bind' && m.options?.join(',') === 'rbind,ro,nosuid,nodev')).toBe(true);
    expect(added).toHaveLength(samplePlan().storePaths.length + 2);
    expect(added[0]).toMatchObject({ destination: '/nix/store', source: samplePlan().storeView.hostPath });
    const { env, args, ...processRest } = process ?? {};
    const { env: _env0, args: args0, ...processRest0 } = process0 ?? {};
    expect(JSON.stringify(processRest)).toBe(JSON.stringify(processRest0));
    expect(args?.slice(2)).toEqual(args0);
    expect(env?.some((e) => e.startsWith('FLOX_ENV='))).toBe(true);
    expect(annotations).toEqual({
      ...annotations0,
      'flox.dev/applied-environment': samplePlan().applied.environment,
      'flox.dev/lockfile-digest': samplePlan().applied.digest,
    });
  });
});

describe.each(execProcesses)('$name', ({ name, raw }) => {
  it('round-trips unchanged through parseProcess', () => {
    expect(JSON.stringify(parseProcess(JSON.parse(raw)))).toBe(JSON.stringify(JSON.parse(raw)));
  });

  it('patches to the golden process, idempotently, keeping everything but env and args', async () => {
    const original = JSON.parse(raw) as Process;
    const patched = patchExecProcess(JSON.parse(raw), samplePlan());
    await expect(`${JSON.stringify(patched, null, 2)}\n`).toMatchFileSnapshot(golden(name));
    expect(JSON.stringify(patchExecProcess(patched, samplePlan()))).toBe(JSON.stringify(patched));
    const { env, args, ...rest } = patched;
    const { env: _env0, args: args0, ...rest0 } = original;
    expect(JSON.stringify(rest)).toBe(JSON.stringify(rest0));
    expect(Object.keys(patched)).toEqual(Object.keys(original));
    expect(args?.slice(2)).toEqual(args0);
    expect(env).toContain('FLOX_ENV=/run/flox/environment');
  });
});

describe('fixtures', () => {
  it('include the ctr run capture', () => {
    expect(ctr.map((c) => c.name)).toContain('ctr/ctr-run.config');
  });

  // The CRI captures are made by the e2e harness (fixtures/captured/README.md).
  it('include a CRI sandbox, a CRI app container and an exec process from containerd 1.6', () => {
    expect(cri.map((c) => c.name)).toEqual(expect.arrayContaining(['captured/cri-sandbox.config', 'captured/cri-container.config']));
    expect(execProcesses.map((c) => c.name)).toContain('captured/cri-exec.process');
  });

  it('classify the CRI captures the way the shim needs', () => {
    const spec = (name: string): unknown => JSON.parse(cri.find((c) => c.name === `captured/${name}`)?.raw ?? 'null');
    for (const suffix of ['', '.containerd-2.1']) {
      expect(shouldPatch(spec(`cri-sandbox${suffix}.config`))).toEqual({ patch: false, reason: 'sandbox' });
      expect(shouldPatch(spec(`cri-container${suffix}.config`))).toEqual({
        patch: true,
        environment: 'acme/echoserver:12',
        mode: 'run',
        modeFromAnnotation: true,
        containerName: 'echoserver',
        nixMutable: false,
        disableMetrics: false,
      });
      expect(shouldPatchExec(spec(`cri-container${suffix}.config`))).toMatchObject({ patch: true });
    }
  });
});
