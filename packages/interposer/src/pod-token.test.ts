// The FloxHub token a pod mounts at /var/run/secrets/flox.dev, laid out as kubelet lays out a
// Secret volume (key -> ..data/key, ..data -> ..<timestamp>/), and hostile variants of it.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podFloxhubToken } from './pod-token.ts';

let dir: string;
let n = 0;
const same = (p: string): string => p;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'flox-pod-token-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A kubelet Secret volume directory holding `files` (name → content), with kubelet's symlinks. */
function secretVolume(files: Record<string, string>, kind = 'kubernetes.io~secret'): string {
  const volume = join(dir, 'pods', `uid-${++n}`, 'volumes', kind, 'floxhub-token');
  const data = join(volume, '..2026_01_01_00_00_00.000000001');
  mkdirSync(data, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(data, name), content);
    symlinkSync(`..data/${name}`, join(volume, name));
  }
  symlinkSync('..2026_01_01_00_00_00.000000001', join(volume, '..data'));
  return volume;
}

const spec = (source: string, destination = '/var/run/secrets/flox.dev', type = 'bind') => ({
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination, type, source, options: ['rbind', 'rprivate', 'ro'] },
  ],
});

describe('podFloxhubToken', () => {
  it('reads floxhub-token through kubelet’s ..data links, at either path Flox documents', () => {
    const volume = secretVolume({ 'floxhub-token': 'tok-123\n' });
    expect(podFloxhubToken(spec(volume), same)).toEqual({ value: 'tok-123', origin: "the pod's Secret at /var/run/secrets/flox.dev/floxhub-token" });
    expect(podFloxhubToken(spec(volume, '/run/secrets/flox.dev/'), same)?.value).toBe('tok-123');
    expect(podFloxhubToken(spec(secretVolume({ 'floxhub-token': 'proj' }, 'kubernetes.io~projected')), same)?.value).toBe('proj');
  });

  it('is undefined when nothing is mounted there', () => {
    expect(podFloxhubToken({ mounts: [{ destination: '/var/run/secrets/kubernetes.io/serviceaccount', source: '/x' }] }, same)).toBeUndefined();
    expect(podFloxhubToken({}, same)).toBeUndefined();
  });

  it('reads through the runc caller’s view of the host', () => {
    const volume = secretVolume({ 'floxhub-token': 'through-proc' });
    const inside = join(dir, 'caller-root');
    mkdirSync(join(inside, volume, '..'), { recursive: true });
    symlinkSync(volume, join(inside, volume));
    expect(podFloxhubToken(spec(volume), (p) => join(inside, p))?.value).toBe('through-proc');
  });

  it('refuses what could make it read another host file (FLOXK8S_POD_TOKEN_INVALID)', () => {
    const refused = (s: unknown, hint: string) => expect(() => podFloxhubToken(s, same)).toThrow(expect.objectContaining({ code: 'FLOXK8S_POD_TOKEN_INVALID', message: expect.stringContaining(hint) }));
    // Not a Secret volume: an emptyDir or hostPath a pod can write to.
    const emptyDir = join(dir, 'pods', 'uid-e', 'volumes', 'kubernetes.io~empty-dir', 'x');
    mkdirSync(emptyDir, { recursive: true });
    writeFileSync(join(emptyDir, 'floxhub-token'), 'tok');
    refused(spec(emptyDir), 'must be a Secret volume');
    refused({ mounts: [{ destination: '/var/run/secrets/flox.dev', type: 'tmpfs', source: secretVolume({ 'floxhub-token': 'tok' }), options: ['nosuid'] }] }, 'must be a Secret volume');
    // Links out of the volume, absolute or relative.
    const absolute = secretVolume({});
    symlinkSync('/etc/hostname', join(absolute, 'floxhub-token'));
    refused(spec(absolute), 'leads out of the Secret volume');
    const relative = secretVolume({});
    symlinkSync('../../../../../../etc/hostname', join(relative, 'floxhub-token'));
    refused(spec(relative), 'leads out of the Secret volume');
    const viaData = secretVolume({ other: 'x' });
    rmSync(join(viaData, '..data'));
    symlinkSync('/etc', join(viaData, '..data'));
    symlinkSync('..data/hostname', join(viaData, 'floxhub-token'));
    refused(spec(viaData), 'leads out of the Secret volume');
    // A Secret without the key, or with a value that is not one line.
    refused(spec(secretVolume({ 'other-key': 'tok' })), 'has no key floxhub-token');
    refused(spec(secretVolume({ 'floxhub-token': 'one\ntwo\n' })), 'expected one non-empty line');
    refused(spec(secretVolume({ 'floxhub-token': ' \n' })), 'expected one non-empty line');
  });
});
