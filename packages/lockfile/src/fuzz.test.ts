// Bounded, seeded mutation fuzzing: whatever the input, parseLockfile and
// parseEnvironmentRef either succeed or throw one of our coded errors, and
// whatever parses can be planned without anything else escaping.
import { describe, expect, test } from 'vitest';
import {
  activationPlan,
  formatEnvironmentRef,
  LockfileError,
  lockfileSystems,
  parseEnvironmentRef,
  parseLockfile,
  storePathsToInstall,
} from './index.ts';
import { lockfileBytes } from './test-fixtures.ts';

const LOCKFILE_CODES = new Set(['FLOXK8S_LOCKFILE_INVALID', 'FLOXK8S_LOCKFILE_VERSION_UNSUPPORTED']);
const SEEDS = ['hello-4systems', 'flake-hello', 'tiny-vars-hook', 'kitchen-sink-profile', 'dr-flox-services-include'];
// Per seed file and strategy; the 180 KB seed gets a quarter (each mutation
// clones it). About 3 400 lockfile inputs in all: a couple of seconds.
const ITERATIONS = 400;
const iterationsFor = (name: string): number => (lockfileBytes(name).byteLength > 50_000 ? ITERATIONS / 4 : ITERATIONS);

/** mulberry32: small, fast, reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Outcome = 'parsed' | 'rejected';

function exercise(input: unknown): Outcome {
  let lock;
  try {
    lock = parseLockfile(input);
  } catch (error) {
    if (!(error instanceof LockfileError) || !LOCKFILE_CODES.has(error.code)) throw error;
    return 'rejected';
  }
  for (const system of [...lockfileSystems(lock), 'riscv64-linux']) {
    try {
      storePathsToInstall(lock, system);
      activationPlan(lock, { system, mode: 'dev', envDir: '/env', closure: storePathsToInstall(lock, system) });
    } catch (error) {
      if (!(error instanceof LockfileError) || error.code !== 'FLOXK8S_SYSTEM_NOT_IN_LOCKFILE') throw error;
    }
  }
  return 'parsed';
}

const WEIRD: unknown[] = [
  null, true, 0, -1, 1.5, 1e308, '', 'x', '/nix/store/x', `/nix/store/${'a'.repeat(32)}-ok`, [], {}, [[[]]],
  { out: 1 }, '__proto__', 'all', ['out'], 'x86_64-linux', '$(reboot)', '\u0000', 'a'.repeat(5000),
];

function mutateValue(root: unknown, next: () => number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const copy = structuredClone(root);
  // Walk to a random container, then replace, delete or rename one of its members.
  let node: unknown = copy;
  for (let depth = 0; depth < 8; depth++) {
    if (typeof node !== 'object' || node === null) break;
    const keys = Object.keys(node);
    if (keys.length === 0 || next() < 0.25) break;
    const child = (node as Record<string, unknown>)[pick(keys)];
    if (typeof child !== 'object' || child === null) break;
    node = child;
  }
  if (typeof node !== 'object' || node === null) return pick(WEIRD);
  const record = node as Record<string, unknown>;
  const keys = Object.keys(record);
  const key = keys.length > 0 ? pick(keys) : 'k';
  const action = next();
  if (action < 0.6) record[key] = structuredClone(pick(WEIRD));
  else if (action < 0.8) delete record[key];
  else {
    record[`${key}${pick(['', '_', '-', 'X'])}`] = record[key];
    delete record[key];
  }
  return copy;
}

function mutateText(text: string, next: () => number): string {
  const at = Math.floor(next() * text.length);
  const action = next();
  if (action < 0.3) return text.slice(0, at);
  if (action < 0.6) return text.slice(0, at) + String.fromCharCode(Math.floor(next() * 128)) + text.slice(at + 1);
  if (action < 0.8) return text.slice(0, at) + text.slice(at + Math.floor(next() * 40));
  return text.slice(0, at) + pickFrom(next, ['"', '{', '[', ',', '\\', '"__proto__":1,', '}', ']']) + text.slice(at);
}

function pickFrom<T>(next: () => number, list: readonly T[]): T {
  return list[Math.floor(next() * list.length)]!;
}

describe('fuzz: nothing but our typed errors escapes', () => {
  test.each(SEEDS)('structural mutations of %s', (name) => {
    const next = rng(0xf10c + name.length);
    const original = JSON.parse(lockfileBytes(name).toString('utf8')) as unknown;
    const outcomes = { parsed: 0, rejected: 0 };
    for (let i = 0; i < iterationsFor(name); i++) {
      const mutated = mutateValue(original, next);
      outcomes[exercise(mutated)]++;
      outcomes[exercise(JSON.stringify(mutated))]++;
    }
    // The mutations must reach both sides, or the test proves nothing.
    expect(outcomes.parsed).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(0);
  });

  test.each(SEEDS)('byte mutations of %s', (name) => {
    const next = rng(0xbad + name.length);
    const text = lockfileBytes(name).toString('utf8');
    const outcomes = { parsed: 0, rejected: 0 };
    for (let i = 0; i < iterationsFor(name); i++) {
      let mutated = text;
      const rounds = 1 + Math.floor(next() * 3);
      for (let r = 0; r < rounds; r++) mutated = mutateText(mutated, next);
      outcomes[exercise(next() < 0.5 ? mutated : Buffer.from(mutated, 'latin1'))]++;
    }
    expect(outcomes.rejected).toBeGreaterThan(0);
  });

  test('random environment references', () => {
    const next = rng(0xe1f);
    const alphabet = 'aZ09_-./:@%\\ \t\n\u0000é?#sha256';
    const valid = ['acme/echo', 'acme/echo:12', `acme/echo@sha256:${'ab'.repeat(32)}`];
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      let s: string;
      if (next() < 0.5) {
        s = '';
        const length = Math.floor(next() * 80);
        for (let j = 0; j < length; j++) s += alphabet[Math.floor(next() * alphabet.length)];
      } else {
        const base = pickFrom(next, valid);
        const at = Math.floor(next() * base.length);
        s = base.slice(0, at) + alphabet[Math.floor(next() * alphabet.length)] + base.slice(at + (next() < 0.5 ? 1 : 0));
      }
      try {
        const ref = parseEnvironmentRef(s);
        accepted++;
        // Whatever is accepted is canonical and free of path or URL syntax.
        expect(formatEnvironmentRef(ref)).toBe(s);
        expect(s).not.toMatch(/\.\.|\/\/|\s|\\|%|\u0000|^\/|^\./);
      } catch (error) {
        if (!(error instanceof LockfileError) || error.code !== 'FLOXK8S_ENV_REF_INVALID') throw error;
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});
