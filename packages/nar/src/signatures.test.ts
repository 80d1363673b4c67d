import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { nixFixtures } from '@flox-k8s/nix-fixtures';
import { describe, expect, it } from 'vitest';
import { parseNarinfo, type Narinfo } from './narinfo.ts';
import { narinfoFingerprint, parsePublicKey, parseSecretKey, publicKeyOf, signNarinfo, verifyNarinfoSignature } from './signatures.ts';

const NIXOS_KEY = 'cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=';
const fixtures = join(import.meta.dirname, '..', 'test', 'fixtures');

async function fixtureNarinfos(): Promise<Narinfo[]> {
  const fx = await nixFixtures();
  const dir = fx.caches.xz;
  const names = (await readdir(dir)).filter((n) => n.endsWith('.narinfo'));
  return Promise.all(names.map(async (n) => parseNarinfo(await readFile(join(dir, n), 'utf8'))));
}

describe('narinfo signatures', () => {
  it('verifies signatures made by Nix (fixture caches) and by cache.nixos.org', async () => {
    const fx = await nixFixtures();
    for (const info of await fixtureNarinfos()) expect(verifyNarinfoSignature(info, [fx.publicKey])).toBe(true);
    for (const name of ['hello-2.10', 'curl-7.82.0-bin', 'hello-2.10-gdh8']) {
      const info = parseNarinfo(await readFile(join(fixtures, `${name}.narinfo`), 'utf8'));
      expect(verifyNarinfoSignature(info, [NIXOS_KEY])).toBe(true);
    }
  });

  it('builds the fingerprint with full, sorted reference paths', async () => {
    const info = parseNarinfo(await readFile(join(fixtures, 'hello-2.10.narinfo'), 'utf8'));
    expect(narinfoFingerprint(info)).toBe(
      '1;/nix/store/w9yy7v61ipb5rx6i35zq1mvc2iqfmps1-hello-2.10;sha256:1mi14cqk363wv368ffiiy01knardmnlyphi6h9xv6dkjz44hk30i;205968;' +
        '/nix/store/9df65igwjmf2wbw0gbrrgair6piqjgmi-glibc-2.31,/nix/store/w9yy7v61ipb5rx6i35zq1mvc2iqfmps1-hello-2.10',
    );
  });

  it('rejects a tampered narinfo with FLOXK8S_NARINFO_SIGNATURE_INVALID', async () => {
    const fx = await nixFixtures();
    const [info] = await fixtureNarinfos();
    for (const tampered of [{ ...info!, narSize: info!.narSize + 1 }, { ...info!, references: [...info!.references, info!.storePath.slice(11)] }]) {
      expect(() => verifyNarinfoSignature(tampered, [fx.publicKey])).toThrow(expect.objectContaining({ code: 'FLOXK8S_NARINFO_SIGNATURE_INVALID' }));
    }
  });

  it('rejects a narinfo signed only by unknown keys, or unsigned, with FLOXK8S_NARINFO_UNTRUSTED', async () => {
    const [info] = await fixtureNarinfos();
    expect(() => verifyNarinfoSignature(info!, [NIXOS_KEY])).toThrow(expect.objectContaining({ code: 'FLOXK8S_NARINFO_UNTRUSTED' }));
    expect(() => verifyNarinfoSignature({ ...info!, sigs: [] }, [NIXOS_KEY])).toThrow(expect.objectContaining({ code: 'FLOXK8S_NARINFO_UNTRUSTED' }));
  });

  it('signs exactly as Nix does with the same secret key (ed25519 is deterministic)', async () => {
    const fx = await nixFixtures();
    const secret = parseSecretKey(await readFile(fx.secretKeyFile, 'utf8'));
    expect(publicKeyOf(secret)).toBe(fx.publicKey);
    for (const info of await fixtureNarinfos()) {
      expect(signNarinfo({ ...info, sigs: [] }, secret).sigs).toEqual(info.sigs);
    }
  });

  it('rejects malformed keys with FLOXK8S_KEY_INVALID', () => {
    for (const bad of ['no-colon', 'name:', 'name:AAAA', ':6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=', 'n:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY!']) {
      expect(() => parsePublicKey(bad)).toThrow(expect.objectContaining({ code: 'FLOXK8S_KEY_INVALID' }));
    }
    expect(() => parseSecretKey(NIXOS_KEY)).toThrow(expect.objectContaining({ code: 'FLOXK8S_KEY_INVALID' }));
  });
});
