import { OciAnnotationInvalidError } from './errors.ts';
import { specAnnotations } from './spec-schema.ts';

/** Annotation keys this package reads and writes. */
export const ANNOTATIONS: {
  readonly environment: 'flox.dev/environment';
  readonly activateMode: 'flox.dev/activate-mode';
  readonly skipContainers: 'flox.dev/skip-containers';
  readonly skipContainersExec: 'flox.dev/skip-containers-exec';
  readonly nixMutable: 'flox.dev/nix-mutable';
  readonly disableMetrics: 'flox.dev/disable-metrics';
  readonly appliedEnvironment: 'flox.dev/applied-environment';
  readonly lockfileDigest: 'flox.dev/lockfile-digest';
  readonly criContainerType: 'io.kubernetes.cri.container-type';
  readonly criContainerName: 'io.kubernetes.cri.container-name';
} = Object.freeze({
  environment: 'flox.dev/environment',
  activateMode: 'flox.dev/activate-mode',
  skipContainers: 'flox.dev/skip-containers',
  skipContainersExec: 'flox.dev/skip-containers-exec',
  nixMutable: 'flox.dev/nix-mutable',
  disableMetrics: 'flox.dev/disable-metrics',
  appliedEnvironment: 'flox.dev/applied-environment',
  lockfileDigest: 'flox.dev/lockfile-digest',
  criContainerType: 'io.kubernetes.cri.container-type',
  criContainerName: 'io.kubernetes.cri.container-name',
});

/** Activation mode: `run` (runtime packages only) or `dev` (also development packages). */
export type ActivateMode = 'run' | 'dev';

/** Why a container is or is not patched. */
export type ShouldPatchResult =
  | {
      patch: true;
      environment: string;
      mode: ActivateMode;
      /** `true` when `mode` came from `flox.dev/activate-mode`, `false` when it is the default (`run`). */
      modeFromAnnotation: boolean;
      /** The CRI container name, when the runtime set one. */
      containerName: string | undefined;
      /** `flox.dev/nix-mutable: "true"`: a writable layer over the mounted closure, for this container only. */
      nixMutable: boolean;
      /** `flox.dev/disable-metrics: "true"`: tell Flox tooling in the container not to report usage. */
      disableMetrics: boolean;
    }
  | { patch: false; reason: 'no-environment' | 'sandbox' | 'skipped' };

/**
 * Whether `runc create` of this spec should be patched. In order: no (non-blank)
 * `flox.dev/environment` → `no-environment`; the CRI pod sandbox (pause container) →
 * `sandbox`; the CRI container name listed in `flox.dev/skip-containers`
 * (comma-separated) → `skipped`. Throws OciAnnotationInvalidError
 * (`FLOXK8S_ANNOTATION_INVALID`) for an activate mode other than `run`/`dev` or a
 * `flox.dev/nix-mutable` / `flox.dev/disable-metrics` other than `true`/`false`, and
 * OciSpecInvalidError when annotations are not a string map.
 */
export function shouldPatch(spec: unknown): ShouldPatchResult {
  return decide(specAnnotations(spec), ANNOTATIONS.skipContainers);
}

/**
 * Whether `runc exec` into a container with this spec should get the activation
 * environment: as shouldPatch, and also `skipped` when the container is named in
 * `flox.dev/skip-containers-exec`.
 */
export function shouldPatchExec(spec: unknown): ShouldPatchResult {
  const annotations = specAnnotations(spec);
  const create = decide(annotations, ANNOTATIONS.skipContainers);
  if (!create.patch) return create;
  return decide(annotations, ANNOTATIONS.skipContainersExec);
}

/** What an earlier patchSpec recorded in the spec, if anything. */
export function appliedEnvironment(spec: unknown): { environment: string; digest: string | undefined } | undefined {
  const annotations = specAnnotations(spec);
  const environment = annotations[ANNOTATIONS.appliedEnvironment];
  if (environment === undefined) return undefined;
  return { environment, digest: annotations[ANNOTATIONS.lockfileDigest] };
}

function decide(annotations: Record<string, string>, skipKey: string): ShouldPatchResult {
  const environment = annotations[ANNOTATIONS.environment]?.trim();
  if (environment === undefined || environment === '') return { patch: false, reason: 'no-environment' };
  if (annotations[ANNOTATIONS.criContainerType] === 'sandbox') return { patch: false, reason: 'sandbox' };
  const containerName = annotations[ANNOTATIONS.criContainerName];
  if (containerName !== undefined && listed(annotations[skipKey], containerName)) return { patch: false, reason: 'skipped' };

  const rawMode = annotations[ANNOTATIONS.activateMode]?.trim() || undefined;
  if (rawMode !== undefined && rawMode !== 'run' && rawMode !== 'dev') {
    throw new OciAnnotationInvalidError(ANNOTATIONS.activateMode, `expected "run" or "dev", found ${JSON.stringify(rawMode)}`);
  }
  return {
    patch: true,
    environment,
    mode: rawMode ?? 'run',
    modeFromAnnotation: rawMode !== undefined,
    containerName,
    nixMutable: flag(annotations, ANNOTATIONS.nixMutable),
    disableMetrics: flag(annotations, ANNOTATIONS.disableMetrics),
  };
}

/** A boolean annotation as Flox writes them (`"true"` / `"false"`, any case); absent or blank is false. */
function flag(annotations: Record<string, string>, key: string): boolean {
  const raw = annotations[key]?.trim().toLowerCase() ?? '';
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new OciAnnotationInvalidError(key, `expected "true" or "false", found ${JSON.stringify(annotations[key]?.slice(0, 64))}`);
}

function listed(list: string | undefined, name: string): boolean {
  if (list === undefined) return false;
  return list.split(',').some((entry) => entry.trim() === name);
}
