// The environment a command works on: a reference resolved through the sources, or a
// lockfile file given with --lockfile (then --name says who it is, for the SBOM).
import type { EnvironmentRef, Lockfile } from '@flox-k8s/lockfile';
import { formatEnvironmentRef } from '@flox-k8s/lockfile/reference';
import type { ShimConfig } from '@flox-k8s/config';
import type { CliContext } from './command.ts';
import { resolveReference } from './commands/resolve.ts';
import { CliUsageError } from './errors.ts';
import { readLockfileArg } from './files.ts';
import { cliConfig, type ConfigOverrides } from './node-config.ts';

export interface EnvironmentInputFlags extends ConfigOverrides {
  reference?: EnvironmentRef | undefined;
  lockfile?: string | undefined;
  name?: EnvironmentRef | undefined;
}

export interface EnvironmentInput {
  config: ShimConfig;
  lock: Lockfile;
  digest: string;
  /** Who the environment is: the reference's owner/name (and generation, once resolved), or --name's. */
  identity: { owner: string; name: string; generation?: number | undefined };
  /** `owner/name:N` when it came from a source, else `owner/name` or undefined. */
  label: string | undefined;
}

/** Exactly one of a reference argument and --lockfile. */
export function checkOneInput(flags: { reference?: unknown; lockfile?: unknown }): void {
  if ((flags.reference === undefined) === (flags.lockfile === undefined)) {
    throw new CliUsageError('expected either an environment reference or --lockfile <file>, not both or neither');
  }
}

export async function environmentInput(flags: EnvironmentInputFlags, ctx: CliContext): Promise<EnvironmentInput> {
  checkOneInput(flags);
  if (flags.reference !== undefined) {
    const { config, resolved } = await resolveReference(flags.reference, flags, ctx.env, ctx.redactor);
    const { owner, name } = flags.reference;
    return {
      config,
      lock: resolved.lock,
      digest: resolved.digest,
      identity: { owner, name, generation: resolved.generation },
      label: formatEnvironmentRef({ owner, name, kind: 'generation', generation: resolved.generation }),
    };
  }
  const config = cliConfig(flags, ctx.env);
  const bytes = await readLockfileArg(flags.lockfile as string, ctx.stdin);
  const { parseLockfile } = await import('@flox-k8s/lockfile');
  const lock = parseLockfile(bytes);
  const identity = flags.name === undefined ? undefined : { owner: flags.name.owner, name: flags.name.name, generation: flags.name.kind === 'generation' ? flags.name.generation : undefined };
  return { config, lock, digest: lock.digest ?? '', identity: identity ?? { owner: 'local', name: 'lockfile' }, label: identity && formatEnvironmentRef(flags.name as EnvironmentRef) };
}
