// Hostile or broken protocol answers, byte by byte: each is a coded error, never a crash
// or a wrong answer. (Real answers are covered against git http-backend in source.test.ts.)
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseAdvertisement } from './discover.ts';
import { pktLine } from './pkt-line.ts';
import { packFromResult, uploadPackRequest } from './upload-pack.ts';

const OID = 'a'.repeat(40);
const bytes = (...parts: Array<string | Uint8Array>): Uint8Array => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const code = (run: () => unknown): string | undefined => {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
};

/** A minimal valid pack: header, no objects, SHA-1 trailer. */
function emptyPack(): Buffer {
  const head = Buffer.from('PACK\0\0\0\x02\0\0\0\0', 'latin1');
  return Buffer.concat([head, createHash('sha1').update(head).digest()]);
}
const band = (n: number, payload: Uint8Array | string): string => {
  const data = Buffer.concat([Buffer.from([n]), Buffer.from(payload)]);
  return `${(data.length + 4).toString(16).padStart(4, '0')}${data.toString('latin1')}`;
};

describe('ref advertisement', () => {
  it('reads refs and the capabilities of the first line; an empty repository has no refs', () => {
    const ad = bytes(pktLine('# service=git-upload-pack\n'), '0000', pktLine(`${OID} refs/heads/hello\0shallow side-band-64k\n`), pktLine(`${'b'.repeat(40)} refs/heads/x\n`), '0000');
    expect(parseAdvertisement(ad, 't')).toEqual({ refs: new Map([['refs/heads/hello', OID], ['refs/heads/x', 'b'.repeat(40)]]), capabilities: ['shallow', 'side-band-64k'] });
    const empty = bytes(pktLine('# service=git-upload-pack\n'), '0000', pktLine(`${'0'.repeat(40)} capabilities^{}\0shallow\n`), '0000');
    expect(parseAdvertisement(empty, 't').refs.size).toBe(0);
  });

  it('rejects a missing service line, bad lengths, overruns and bad ref lines', () => {
    for (const bad of [
      bytes(pktLine(`${OID} refs/heads/hello\n`), '0000'),
      bytes(pktLine('# service=git-upload-pack\n'), '0000', 'zzzz'),
      bytes(pktLine('# service=git-upload-pack\n'), '0000', 'ffff', 'short'),
      bytes(pktLine('# service=git-upload-pack\n'), '0000', pktLine('not-an-oid refs/heads/x\n'), '0000'),
      bytes(pktLine('# service=git-upload-pack\n'), '0000', pktLine(`${OID} refs/heads/x\n`)),
      bytes('0002'),
    ]) {
      expect(code(() => parseAdvertisement(bad, 't'))).toBe('FLOXK8S_FLOXMETA_TRANSPORT');
    }
  });
});

describe('upload-pack exchange', () => {
  it('asks only for capabilities the server offers, shallow when it can', () => {
    const request = uploadPackRequest(OID, ['shallow', 'side-band', 'side-band-64k', 'multi_ack', 'ofs-delta']);
    expect(Buffer.from(request.body).toString()).toBe(`${pktLine(`want ${OID} side-band-64k ofs-delta shallow agent=flox-k8s\n`)}${pktLine('deepen 1\n')}0000${pktLine('done\n')}`);
    expect(uploadPackRequest(OID, [])).toMatchObject({ shallow: false, sideBand: false });
  });

  it('takes the pack out of a side-band answer and checks its checksum', () => {
    const pack = emptyPack();
    const answer = bytes(pktLine(`shallow ${OID}\n`), '0000', pktLine('NAK\n'), band(2, 'counting\n'), band(1, pack), '0000');
    expect(Buffer.from(packFromResult(answer, OID, { shallow: true, sideBand: true }, 't')).equals(pack)).toBe(true);
    const corrupt = Buffer.from(pack);
    corrupt[10] = 1;
    expect(code(() => packFromResult(bytes(pktLine('NAK\n'), band(1, corrupt), '0000'), OID, { shallow: false, sideBand: true }, 't'))).toBe('FLOXK8S_FLOXMETA_TRANSPORT');
    expect(code(() => packFromResult(bytes(pktLine('NAK\n'), pack), OID, { shallow: false, sideBand: false }, 't'))).toBeUndefined();
  });

  it('"not our ref" means the branch moved; other refusals are transport errors', () => {
    expect(code(() => packFromResult(bytes(pktLine(`ERR upload-pack: not our ref ${OID}\n`)), OID, { shallow: true, sideBand: true }, 't'))).toBe('FLOXK8S_FLOXMETA_BRANCH_MOVED');
    expect(code(() => packFromResult(bytes(pktLine('NAK\n'), band(3, 'fatal: out of memory\n'), '0000'), OID, { shallow: false, sideBand: true }, 't'))).toBe('FLOXK8S_FLOXMETA_TRANSPORT');
    expect(code(() => packFromResult(bytes(pktLine('NAK\n'), band(7, 'x'), '0000'), OID, { shallow: false, sideBand: true }, 't'))).toBe('FLOXK8S_FLOXMETA_TRANSPORT');
    expect(code(() => packFromResult(bytes(pktLine('ACK something\n')), OID, { shallow: false, sideBand: true }, 't'))).toBe('FLOXK8S_FLOXMETA_TRANSPORT');
  });
});
