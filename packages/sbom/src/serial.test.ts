import { describe, expect, test } from 'vitest';
import { sbomSerialNumber, uuidV5 } from './serial.ts';

describe('serial numbers are RFC 9562 name-based UUIDs', () => {
  test('uuidV5 reproduces the RFC 9562 test vector (DNS namespace, www.example.com)', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  test('the same digest and system give the same serial; another digest or system gives another', () => {
    const digest = 'a'.repeat(64);
    const serial = sbomSerialNumber(digest, 'x86_64-linux');
    expect(serial).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(sbomSerialNumber(digest, 'x86_64-linux')).toBe(serial);
    expect(sbomSerialNumber('b'.repeat(64), 'x86_64-linux')).not.toBe(serial);
    expect(sbomSerialNumber(digest, 'aarch64-linux')).not.toBe(serial);
  });

  test('the serial is the v5 UUID of urn:flox-k8s:sbom:sha256:<digest>:<system> in the URL namespace', () => {
    // Computed with Python's uuid.uuid5(uuid.NAMESPACE_URL, name), an independent implementation.
    expect(sbomSerialNumber('abc', 'x86_64-linux')).toBe('urn:uuid:92d41550-f79e-5ab8-93b4-8751f6493fdf');
  });
});
