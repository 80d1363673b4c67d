// The malformed-input corpus: each case is a real fixture broken in one way,
// and must be rejected with a coded error that points at the problem.
import { describe, expect, test } from 'vitest';
import { LockfileError, parseLockfile, storePathsToInstall } from './index.ts';
import { lockfileBytes, lockfileJson } from './test-fixtures.ts';

type Json = Record<string, unknown>;
const hello = (): Json => lockfileJson('hello-4systems');
const pkgs = (j: Json): Json[] => j['packages'] as Json[];
const manifest = (j: Json): Json => j['manifest'] as Json;
const edit = (f: (j: Json) => void, from: () => Json = hello): Json => {
  const j = from();
  f(j);
  return j;
};
const text = lockfileBytes('hello-4systems').toString('utf8');
const INVALID = 'FLOXK8S_LOCKFILE_INVALID';
const VERSION = 'FLOXK8S_LOCKFILE_VERSION_UNSUPPORTED';

const corpus: Array<[label: string, input: unknown, code: string, path?: string]> = [
  // Not JSON at all.
  ['empty string', '', INVALID, ''],
  ['truncated JSON (half the file)', text.slice(0, Math.floor(text.length / 2)), INVALID, ''],
  ['truncated JSON (last byte missing)', text.slice(0, -2), INVALID, ''],
  ['invalid UTF-8 bytes', Uint8Array.from([0x7b, 0xff, 0xfe, 0x7d]), INVALID, ''],
  ['JSON array', '[]', INVALID, ''],
  ['JSON null', 'null', INVALID, ''],
  ['JSON number', '1', INVALID, ''],
  ['undefined value', undefined, INVALID, ''],
  // Versions.
  ['missing lockfile-version', edit((j) => delete j['lockfile-version']), INVALID, 'lockfile-version'],
  ['lockfile-version 0 (pkgdb era)', edit((j) => (j['lockfile-version'] = 0)), VERSION],
  ['lockfile-version 2', edit((j) => (j['lockfile-version'] = 2)), VERSION],
  ['lockfile-version as string', edit((j) => (j['lockfile-version'] = '1')), VERSION],
  ['manifest version 2', edit((j) => (manifest(j)['version'] = 2), () => lockfileJson('flake-hello')), INVALID, 'manifest.version'],
  ['manifest schema-version 1.9.0', edit((j) => (manifest(j)['schema-version'] = '1.9.0')), INVALID, 'manifest.schema-version'],
  ['manifest schema-version 2.0.0', edit((j) => (manifest(j)['schema-version'] = '2.0.0')), INVALID, 'manifest.schema-version'],
  ['manifest with both version forms', edit((j) => (manifest(j)['version'] = 1)), INVALID, 'manifest.schema-version'],
  ['manifest with neither version form', edit((j) => delete manifest(j)['schema-version']), INVALID, 'manifest.version'],
  ['missing manifest', edit((j) => delete j['manifest']), INVALID, 'manifest'],
  // Store paths.
  ['output outside /nix/store', edit((j) => (pkgs(j)[2]!['outputs'] = { out: '/usr/bin/hello' })), INVALID, 'packages[2].outputs.out'],
  ['short hash', edit((j) => (pkgs(j)[0]!['outputs'] = { out: '/nix/store/abc-hello' })), INVALID, 'packages[0].outputs.out'],
  ['hash with e/o/u/t (not nix32)', edit((j) => (pkgs(j)[0]!['outputs'] = { out: `/nix/store/${'e'.repeat(32)}-hello` })), INVALID, 'packages[0].outputs.out'],
  ['path traversal in store path', edit((j) => (pkgs(j)[0]!['outputs'] = { out: `/nix/store/${'a'.repeat(32)}-x/../../etc` })), INVALID, 'packages[0].outputs.out'],
  ['name starting with ..- (Nix rejects ., .., .-x, ..-x)', edit((j) => (pkgs(j)[0]!['outputs'] = { out: `/nix/store/${'a'.repeat(32)}-..-hidden` })), INVALID, 'packages[0].outputs.out'],
  ['name with a space', edit((j) => (pkgs(j)[0]!['outputs'] = { out: `/nix/store/${'a'.repeat(32)}-a b` })), INVALID, 'packages[0].outputs.out'],
  ['name longer than 211', edit((j) => (pkgs(j)[0]!['outputs'] = { out: `/nix/store/${'a'.repeat(32)}-${'n'.repeat(212)}` })), INVALID, 'packages[0].outputs.out'],
  ['empty name', edit((j) => (pkgs(j)[0]!['outputs'] = { out: `/nix/store/${'a'.repeat(32)}-` })), INVALID, 'packages[0].outputs.out'],
  ['bad derivation path', edit((j) => (pkgs(j)[1]!['derivation'] = 'hello.drv')), INVALID, 'packages[1].derivation'],
  ['bad store_path entry', minimal([{ install_id: 'x', store_path: '/opt/x', system: 'x86_64-linux', priority: 5 }]), INVALID, 'packages[0].store_path'],
  // Wrong types.
  ['packages is an object', edit((j) => (j['packages'] = {})), INVALID, 'packages'],
  ['packages missing', edit((j) => delete j['packages']), INVALID, 'packages'],
  ['package entry is a string', edit((j) => (pkgs(j)[0] = 'hello' as unknown as Json)), INVALID, 'packages[0]'],
  ['priority is a string', edit((j) => (pkgs(j)[3]!['priority'] = 'high')), INVALID, 'packages[3].priority'],
  ['priority is negative', edit((j) => (pkgs(j)[3]!['priority'] = -1)), INVALID, 'packages[3].priority'],
  ['priority is fractional', edit((j) => (pkgs(j)[3]!['priority'] = 1.5)), INVALID, 'packages[3].priority'],
  ['install_id is a number', edit((j) => (pkgs(j)[0]!['install_id'] = 7)), INVALID, 'packages[0].install_id'],
  ['install_id missing', edit((j) => delete pkgs(j)[0]!['install_id']), INVALID, 'packages[0].install_id'],
  ['outputs is an array', edit((j) => (pkgs(j)[0]!['outputs'] = ['/nix/store/x'])), INVALID, 'packages[0].outputs'],
  ['outputs_to_install is a string', edit((j) => (pkgs(j)[0]!['outputs_to_install'] = 'out')), INVALID, 'packages[0].outputs_to_install'],
  ['vars value is a number', edit((j) => (manifest(j)['vars'] = { PORT: 8080 })), INVALID, 'manifest.vars.PORT'],
  ['vars name is not an env name', edit((j) => (manifest(j)['vars'] = { 'A=B': 'x' })), INVALID, 'manifest.vars["A=B"]'],
  ['hook is a string', edit((j) => (manifest(j)['hook'] = 'echo hi')), INVALID, 'manifest.hook'],
  ['profile.bash is a number', edit((j) => (manifest(j)['profile'] = { bash: 1 })), INVALID, 'manifest.profile.bash'],
  ['install outputs is a number', edit((j) => ((manifest(j)['install'] as Json)['hello'] = { 'pkg-path': 'hello', outputs: 3 })), INVALID, 'manifest.install.hello.outputs'],
  ['options.systems is a string', edit((j) => (manifest(j)['options'] = { systems: 'x86_64-linux' })), INVALID, 'manifest.options.systems'],
  ['service without command', edit((j) => (manifest(j)['services'] = { web: { 'is-daemon': true } })), INVALID, 'manifest.services.web.command'],
  ['compose.include is an object', edit((j) => ((j['compose'] as Json)['include'] = {}), () => lockfileJson('dr-flox-services-include')), INVALID, 'compose.include'],
  ['flake entry without locked-url', edit((j) => delete pkgs(j)[0]!['locked-url'], () => lockfileJson('flake-hello')), INVALID, 'packages[0].locked-url'],
  // Missing outputs.
  ['outputs missing', edit((j) => delete pkgs(j)[1]!['outputs']), INVALID, 'packages[1].outputs'],
  ['outputs empty', edit((j) => (pkgs(j)[1]!['outputs'] = {})), INVALID, 'packages[1].outputs'],
  ['outputs_to_install names a missing output', edit((j) => (pkgs(j)[1]!['outputs_to_install'] = ['out', 'bin'])), INVALID, 'packages[1].outputs_to_install[1]'],
  ['descriptor outputs names a missing output', edit((j) => ((manifest(j)['install'] as Json)['hello'] = { 'pkg-path': 'hello', outputs: ['man'] })), INVALID, 'packages[0].outputs'],
  // Systems.
  ['unknown system spelling', edit((j) => (pkgs(j)[0]!['system'] = 'x86_64 linux')), INVALID, 'packages[0].system'],
  ['system missing', edit((j) => delete pkgs(j)[0]!['system']), INVALID, 'packages[0].system'],
  ['duplicate (install_id, system)', edit((j) => (pkgs(j)[1]!['system'] = pkgs(j)[0]!['system'])), INVALID, 'packages[1]'],
  // Hostile.
  ['__proto__ key in install', '{"lockfile-version":1,"manifest":{"version":1,"install":{"__proto__":{"pkg-path":1}}},"packages":[]}', INVALID, 'manifest.install.__proto__'],
  ['__proto__ key in outputs', text.replace('"out":', '"__proto__":'), INVALID, 'packages[0].outputs.__proto__'],
  ['deeply nested package entry', `{"lockfile-version":1,"manifest":{"version":1},"packages":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, INVALID, 'packages[0]'],
  ['over 32 MiB', ' '.repeat(32 * 1024 * 1024 + 1), INVALID, ''],
];

function minimal(packages: unknown[]): Json {
  return { 'lockfile-version': 1, manifest: { version: 1 }, packages };
}

describe('malformed lockfiles are rejected with coded errors', () => {
  test.each(corpus)('%s', (_label, input, code, path) => {
    let error: unknown;
    try {
      parseLockfile(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LockfileError);
    expect((error as LockfileError).code).toBe(code);
    if (path !== undefined) {
      const issues = (error as { issues?: Array<{ path: string }> }).issues ?? [];
      expect(issues.map((i) => i.path)).toContain(path);
    }
  });

  test('an unknown system is rejected when asked for', () => {
    const lock = parseLockfile(lockfileBytes('hello-4systems'));
    expect(() => storePathsToInstall(lock, 'riscv64-linux')).toThrow(expect.objectContaining({ code: 'FLOXK8S_SYSTEM_NOT_IN_LOCKFILE' }) as Error);
  });
});
