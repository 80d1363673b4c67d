// A BOM's serial number must be a UUID, and ours must not depend on the wall
// clock or on chance: the same environment on the same system gets the same
// one. RFC 9562 name-based UUIDs (version 5, SHA-1) do exactly that; the
// namespace is the RFC's URL namespace, so anyone can recompute the number
// (`uuid -v5 ns:URL urn:flox-k8s:sbom:sha256:<digest>:<system>`).
import { createHash } from 'node:crypto';

const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

/** `urn:uuid:<v5 uuid>` of an environment's lockfile digest and system. */
export function sbomSerialNumber(lockfileDigest: string, system: string): string {
  return `urn:uuid:${uuidV5(URL_NAMESPACE, `urn:flox-k8s:sbom:sha256:${lockfileDigest}:${system}`)}`;
}

/** RFC 9562 §5.5: SHA-1 of namespace bytes + name, version 5, variant 10. */
export function uuidV5(namespace: string, name: string): string {
  const bytes = createHash('sha1')
    .update(Buffer.from(namespace.replaceAll('-', ''), 'hex'))
    .update(name, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
