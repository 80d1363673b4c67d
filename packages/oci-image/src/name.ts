import { ImageInputInvalidError } from './errors.ts';

/** An image reference split the way containerd's CRI normalises it (`flox/empty:1.0.0` → `docker.io/flox/empty:1.0.0`). */
export interface ImageName {
  /** Fully qualified name containerd stores: `docker.io/flox/empty:1.0.0`. */
  full: string;
  /** Repository without the tag: `docker.io/flox/empty`. */
  repository: string;
  tag: string;
  /** The short form users write (`flox/empty:1.0.0`), used for docker-archive RepoTags. */
  familiar: string;
}

const componentPattern = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Normalise a tagged image name the way the docker reference grammar does (no digests: we write tags). */
export function parseImageName(input: string): ImageName {
  const fail = (why: string): never => {
    throw new ImageInputInvalidError(`image name ${JSON.stringify(input)}: ${why}; expected e.g. "flox/empty:1.0.0"`);
  };
  if (input.includes('@')) fail('digest references cannot be written, give a tag');
  const slash = input.lastIndexOf('/');
  const colon = input.lastIndexOf(':');
  const hasTag = colon > slash;
  const tag = hasTag ? input.slice(colon + 1) : 'latest';
  const path = hasTag ? input.slice(0, colon) : input;
  if (!tagPattern.test(tag)) fail(`tag ${JSON.stringify(tag)} is not a valid tag`);
  const parts = path.split('/');
  const first = parts[0] ?? '';
  const hasDomain = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const domain = hasDomain ? first : 'docker.io';
  let rest = hasDomain ? parts.slice(1) : parts;
  if (domain === 'docker.io' && rest.length === 1) rest = ['library', ...rest];
  for (const c of rest) if (!componentPattern.test(c)) fail(`path component ${JSON.stringify(c)} is not lowercase alphanumerics with separators`);
  const repository = `${domain}/${rest.join('/')}`;
  let familiarRepo = repository;
  if (domain === 'docker.io') familiarRepo = rest[0] === 'library' && rest.length === 2 ? rest[1]! : rest.join('/');
  return { full: `${repository}:${tag}`, repository, tag, familiar: `${familiarRepo}:${tag}` };
}
