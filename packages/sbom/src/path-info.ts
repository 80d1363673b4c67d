// What an SBOM needs to know of one closure path, and the checks that make a
// narinfo or a node store record safe to describe. No NAR is read: the NarHash,
// NarSize and References are the path's identity as its cache or store recorded it.
import { formatSha256, parseSha256, parseStorePath, parseStorePathBase, type StorePath } from '@flox-k8s/nar';
import { PathInfoInvalidError } from './errors.ts';

/**
 * One path of an environment's closure. Both a verified narinfo (`@flox-k8s/nar`'s
 * `Narinfo`, whose references and deriver are basenames) and the node store's record
 * (`@flox-k8s/store`'s `PathInfo`, with full paths) have this shape.
 */
export interface ClosurePathInfo {
  /** `/nix/store/<hash>-<name>`. */
  storePath: string;
  /** sha256 of the path's NAR serialisation, in any spelling Nix writes (`sha256:<nix32>`, hex, SRI). */
  narHash: string;
  narSize: number;
  /** Store paths this path references (itself included when it does), as full paths or `<hash>-<name>` basenames. */
  references: readonly string[];
  /** The `.drv` that produced the path, as a full path or a basename. */
  deriver?: string | undefined;
  /** `Sig:` lines of the narinfo (`<key name>:<base64>`); a store record has none. */
  sigs?: readonly string[] | undefined;
  /** `CA:` of a content-addressed path. */
  ca?: string | undefined;
  /** `System:` of the narinfo. */
  system?: string | undefined;
}

/** A checked {@link ClosurePathInfo}: full paths, sorted lists, the NarHash in both spellings. */
export interface ClosurePath {
  storePath: string;
  /** The `<name>` after `<hash>-`. */
  storeName: string;
  /** `sha256:<nix32>`, as narinfos write it. */
  narHash: string;
  /** The same digest as 64 lowercase hex digits. */
  narHashHex: string;
  narSize: number;
  /** Full store paths, sorted and unique; includes `storePath` when the path references itself. */
  references: string[];
  deriver: string | undefined;
  /** Sorted and unique. */
  sigs: string[];
  ca: string | undefined;
  system: string | undefined;
}

const SIGNATURE = /^[A-Za-z0-9._+-]+:[A-Za-z0-9+/]+={0,2}$/;
// CA and System are free text in a narinfo; keep them to one printable line.
const ONE_LINE = /^[\x21-\x7e][\x20-\x7e]*$/;

/** Check one path info and put it in canonical form; throws `FLOXK8S_SBOM_PATH_INFO_INVALID`. */
export function closurePath(info: ClosurePathInfo, storeDir = '/nix/store'): ClosurePath {
  if (typeof info !== 'object' || info === null) throw new PathInfoInvalidError(info, 'expected an object');
  const { storePath } = info;
  if (typeof storePath !== 'string') throw new PathInfoInvalidError(storePath, 'storePath is not a string');
  const own = storePathOf(storePath, () => parseStorePath(storePath, storeDir), storePath, 'storePath');
  const narHashBytes = sha256Of(info.narHash, storePath);
  if (!Number.isSafeInteger(info.narSize) || info.narSize < 0) {
    throw new PathInfoInvalidError(storePath, `NarSize must be a non-negative integer, found ${JSON.stringify(info.narSize)}`);
  }
  if (!Array.isArray(info.references)) throw new PathInfoInvalidError(storePath, 'references is not a list');
  const references = new Set<string>();
  info.references.forEach((ref: unknown, i) => references.add(fullPath(ref, storeDir, storePath, `references[${i}]`)));
  const deriver = info.deriver === undefined ? undefined : fullPath(info.deriver, storeDir, storePath, 'deriver');
  if (deriver !== undefined && !deriver.endsWith('.drv')) throw new PathInfoInvalidError(storePath, `deriver ${JSON.stringify(deriver)} is not a .drv`);
  const sigs = new Set<string>();
  if (info.sigs !== undefined) {
    if (!Array.isArray(info.sigs)) throw new PathInfoInvalidError(storePath, 'sigs is not a list');
    for (const sig of info.sigs as unknown[]) {
      if (typeof sig !== 'string' || !SIGNATURE.test(sig)) throw new PathInfoInvalidError(storePath, `signature ${quote(sig)} is not <key name>:<base64>`);
      sigs.add(sig);
    }
  }
  return {
    storePath: own.path,
    storeName: own.name,
    narHash: formatSha256(narHashBytes),
    narHashHex: Buffer.from(narHashBytes).toString('hex'),
    narSize: info.narSize,
    references: [...references].sort(compareStrings),
    deriver,
    sigs: [...sigs].sort(compareStrings),
    ca: oneLine(info.ca, storePath, 'CA'),
    system: oneLine(info.system, storePath, 'System'),
  };
}

/** Plain code-unit order, the same everywhere (no locale). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function fullPath(value: unknown, storeDir: string, owner: string, field: string): string {
  if (typeof value !== 'string') throw new PathInfoInvalidError(owner, `${field} is not a string`);
  const parse = value.startsWith('/') ? () => parseStorePath(value, storeDir) : () => parseStorePathBase(value, storeDir);
  return storePathOf(value, parse, owner, field).path;
}

function storePathOf(value: string, parse: () => StorePath, owner: string, field: string): StorePath {
  try {
    return parse();
  } catch (cause) {
    throw new PathInfoInvalidError(owner, `${field} ${quote(value)} is not a store path`, { cause });
  }
}

function sha256Of(value: unknown, owner: string): Uint8Array {
  if (typeof value !== 'string') throw new PathInfoInvalidError(owner, 'NarHash is not a string');
  try {
    return parseSha256(value);
  } catch (cause) {
    throw new PathInfoInvalidError(owner, `NarHash ${quote(value)} is not a sha256`, { cause });
  }
}

function oneLine(value: unknown, owner: string, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 1024 || !ONE_LINE.test(value)) {
    throw new PathInfoInvalidError(owner, `${field} ${quote(value)} is not one line of printable text`);
  }
  return value;
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
