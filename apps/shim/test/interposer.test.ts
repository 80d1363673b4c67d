// The bundled interposer as containerd's runc shim runs it: a real process on a real
// bundle, with the real-Nix fixture cache on loopback. The "real runc" is a recording
// stand-in (this suite needs no root); the e2e suites run the real one.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { Store } from '@flox-k8s/store';
import { formatRealiseEvent } from '@flox-k8s/agent-protocol';
import { publishEnvironment } from '@flox-k8s/environments';
import { bundledInterposer, type BundledInterposer } from './bundled-interposer.ts';

const dir = mkdtempSync(join(tmpdir(), 'flox-interposer-'));
let fixtures: NixFixtures;
let cache: ServedCache;
let harness: BundledInterposer;
let recorded: string;

interface Spec {
  annotations?: Record<string, string>;
  mounts?: Array<{ destination: string; source: string; options?: string[] }>;
  process: { args: string[]; env: string[] };
}

beforeAll(async () => {
  fixtures = await nixFixtures();
  cache = await serveCache(fixtures.caches.xz);
  await publishEnvironment(join(dir, 'hub'), 'acme', 'fixture', fixtures.lockfile.bytes);
  harness = await bundledInterposer(dir, fixtures, cache);
  recorded = harness.recorded;
}, 300_000);
afterAll(async () => {
  await cache?.close();
  rmSync(dir, { recursive: true, force: true });
});

const writeConfig = (name: string, extra: Record<string, unknown> = {}): string => harness.writeConfig(name, extra);
const bundle = (name: string, a: Record<string, string>): string => harness.bundle(name, a);
const interpose = (args: string[], config: string, path?: string): Promise<{ status: number | null; stderr: string }> => harness.interpose(args, config, path);

const annotations = { 'flox.dev/environment': 'acme/fixture', 'io.kubernetes.cri.container-name': 'app', 'io.kubernetes.cri.container-type': 'container' };

describe('runc interposer (bundled, as a process)', () => {
  it('create: realises, patches config.json atomically and then runs runc with the same argv', async () => {
    const config = writeConfig('create');
    const b = bundle('create', annotations);
    const args = ['--root', join(dir, 'root'), '--log', join(b, 'log.json'), '--log-format', 'json', 'create', '--bundle', b, '--pid-file', join(b, 'pid'), 'c1'];
    const r = await interpose(args, config);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(recorded, 'utf8')).toBe(`${args.join(' ')}\n`);
    const spec = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')) as Spec;
    const storeMounts = (spec.mounts ?? []).filter((m) => m.destination.startsWith('/nix/store/')).map((m) => m.destination);
    expect(storeMounts.sort()).toEqual([...fixtures.closure].sort());
    // Read-only binds of the closure and the profile; the container's own $FLOX_ENV_CACHE is its only tmpfs.
    for (const m of spec.mounts ?? []) expect(m.options).toEqual(m.destination === '/run/flox-k8s/cache' ? ['nosuid', 'nodev', 'mode=0755', 'uid=0', 'gid=0'] : ['rbind', 'ro', 'nosuid', 'nodev']);
    expect(spec.process.env).toContain('FLOX_ENV=/run/flox-k8s/env');
    expect(spec.process.env.find((e) => e.startsWith('PATH='))).toBe('PATH=/run/flox-k8s/env/bin:/run/flox-k8s/env/sbin:/usr/bin:/bin');
    // The fixture has an on-activate hook: the command runs through the wrapper.
    expect(spec.process.args.slice(-1)).toEqual(['hello-flox']);
    expect(spec.process.args[0]).toMatch(/^\/run\/flox-k8s\/env\/bin\/(ba)?sh$/);
    expect(spec.annotations?.['flox.dev/applied-environment']).toBe('acme/fixture');
    expect(existsSync(join(b, 'flox-k8s-exec-plan.json'))).toBe(true);
    // The container is a GC root of the store (runc's state for it will be <root>/c1).
    const roots = readdirSync(join(dir, 'store-create', 'roots', 'containers')).map((n) => JSON.parse(readFileSync(join(dir, 'store-create', 'roots', 'containers', n), 'utf8')) as { containerId: string; runcRoot: string; roots: string[] });
    expect(roots.map((r) => [r.containerId, r.runcRoot])).toEqual([['c1', join(dir, 'root')]]);
    // The lockfile's four packages: their closures are reachable from them.
    expect([...(roots[0]?.roots ?? [])].sort()).toEqual(Object.values(fixtures.storePaths).sort());
    // A second container of the same environment takes the cached plan and gets the same spec.
    const b2 = bundle('create-warm', annotations);
    expect((await interpose(['create', '--bundle', b2, 'c2'], config)).status).toBe(0);
    expect(JSON.parse(readFileSync(join(b2, 'config.json'), 'utf8'))).toEqual(spec);
    const log = readFileSync(join(dir, 'create.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; via?: string });
    expect(log.filter((l) => l.msg === 'container patched').map((l) => l.via)).toEqual(['in-process', 'cache']);
  });

  it('create with storeSync syncfs: the no-agent fallback flushes its store once before the renames and once after', async () => {
    const config = writeConfig('syncfs', { storeSync: 'syncfs' });
    const bin = join(dir, 'sync-bin');
    mkdirSync(bin, { recursive: true });
    const log = join(dir, 'sync.log');
    writeFileSync(join(bin, 'sync'), `#!/bin/sh\necho "$*" >> ${log}\nexec /usr/bin/sync "$@"\n`, { mode: 0o755 });
    const b = bundle('syncfs', annotations);
    const r = await interpose(['create', '--bundle', b, 'c-syncfs'], config, `${bin}:/usr/bin:/bin`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const storeDir = join(dir, 'store-syncfs', 'store');
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([`-f ${storeDir}`, `-f ${storeDir}`]);
    expect(readdirSync(storeDir).length).toBe(fixtures.closure.length);
  });

  it('warm create: the front and the ESM entry run directly write the same spec', async () => {
    const config = writeConfig('warm');
    // Cold: the ESM bundle realises and caches the plan; warm: the cached plan.
    expect((await interpose(['create', '--bundle', bundle('warm-cold', annotations), 'c8'], config)).status).toBe(0);
    const viaFront = bundle('warm-front', annotations);
    expect((await interpose(['create', '--bundle', viaFront, 'c9'], config)).status).toBe(0);
    // The ESM entry run directly, as the front runs it.
    const viaModule = bundle('module-warm', annotations);
    writeFileSync(recorded, '');
    const direct = spawn(process.execPath, ['--no-warnings', join(dir, 'install', 'lib', 'runc-interposer.mjs'), 'create', '--bundle', viaModule, 'c10'], {
      env: { PATH: '/usr/bin:/bin', FLOXK8S_CONFIG: config, FLOXK8S_REAL_RUNC: join(dir, 'fake-runc') },
      stdio: 'ignore',
    });
    expect(await new Promise((r) => direct.on('close', r))).toBe(0);
    expect(readFileSync(recorded, 'utf8')).toBe(`create --bundle ${viaModule} c10\n`);
    const specOf = (b: string): Spec => JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')) as Spec;
    expect(specOf(viaFront)).toEqual(specOf(viaModule));
    expect(specOf(viaFront).annotations?.['flox.dev/applied-environment']).toBe('acme/fixture');
    const entries = readFileSync(join(dir, 'warm.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; via?: string; entry?: string });
    expect(entries.filter((e) => e.msg === 'container patched').map((e) => `${e.via} ${e.entry}`)).toEqual(['in-process module', 'cache module', 'cache module']);
  });

  it('warm create from an HTTP hub source', async () => {
    const hub: Server = createServer((req, res) => {
      const path = join(dir, 'hub', decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      if (!existsSync(path)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200).end(readFileSync(path));
    });
    await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
    try {
      const { port } = hub.address() as { port: number };
      const config = writeConfig('hub', { sources: [{ type: 'hub', url: `http://127.0.0.1:${port}/` }] });
      expect((await interpose(['create', '--bundle', bundle('hub-cold', annotations), 'c12'], config)).status).toBe(0);
      const warm = bundle('hub-warm', annotations);
      const r = await interpose(['create', '--bundle', warm, 'c13'], config);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(readFileSync(join(warm, 'config.json'), 'utf8')).toContain('"flox.dev/applied-environment":"acme/fixture"');
    } finally {
      await new Promise((r) => hub.close(r));
    }
    const entries = readFileSync(join(dir, 'hub.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; via?: string; entry?: string });
    expect(entries.filter((e) => e.msg === 'container patched').map((e) => `${e.via} ${e.entry}`)).toEqual(['in-process module', 'cache module']);
  });

  it('exec: adds the activation environment to the --process file of a patched container', async () => {
    const config = writeConfig('create');
    const b = bundle('exec', annotations);
    expect((await interpose(['create', '--bundle', b, 'c3'], config)).status).toBe(0);
    // runc's own state file names the bundle.
    const root = join(dir, 'exec-root');
    mkdirSync(join(root, 'c3'), { recursive: true });
    writeFileSync(join(root, 'c3', 'state.json'), JSON.stringify({ id: 'c3', config: { labels: [`bundle=${b}`] } }));
    const processFile = join(dir, 'process.json');
    writeFileSync(processFile, JSON.stringify({ args: ['sh', '-c', 'env'], env: ['PATH=/bin'], cwd: '/' }));
    const r = await interpose(['--root', root, 'exec', '--process', processFile, '--detach', 'c3'], config);
    expect(r.status).toBe(0);
    const proc = JSON.parse(readFileSync(processFile, 'utf8')) as Spec['process'];
    expect(proc.env).toContain('FLOX_ENV=/run/flox-k8s/env');
    expect(proc.env).toContain('PATH=/run/flox-k8s/env/bin:/run/flox-k8s/env/sbin:/bin');
    expect(readFileSync(recorded, 'utf8')).toBe(`--root ${root} exec --process ${processFile} --detach c3\n`);

    // flox.dev/skip-containers-exec: the container is patched, its execs are not.
    const skip = bundle('exec-skip', { ...annotations, 'flox.dev/skip-containers-exec': 'app' });
    expect((await interpose(['create', '--bundle', skip, 'c7'], config)).status).toBe(0);
    expect(readFileSync(join(skip, 'config.json'), 'utf8')).toContain('FLOX_ENV=');
    mkdirSync(join(root, 'c7'), { recursive: true });
    writeFileSync(join(root, 'c7', 'state.json'), JSON.stringify({ id: 'c7', config: { labels: [`bundle=${skip}`] } }));
    const untouched = JSON.stringify({ args: ['env'], env: ['PATH=/bin'], cwd: '/' });
    writeFileSync(processFile, untouched);
    expect((await interpose(['--root', root, 'exec', '--process', processFile, 'c7'], config)).status).toBe(0);
    expect(readFileSync(processFile, 'utf8')).toBe(untouched);
  });

  it('leaves the pod sandbox and unannotated containers to runc untouched', async () => {
    const config = writeConfig('plain');
    for (const [name, a] of [
      ['sandbox', { ...annotations, 'io.kubernetes.cri.container-type': 'sandbox' }],
      ['none', { 'io.kubernetes.cri.container-name': 'app' }],
      ['skipped', { ...annotations, 'flox.dev/skip-containers': 'db,app' }],
    ] as const) {
      const b = bundle(name, a);
      const before = readFileSync(join(b, 'config.json'));
      expect((await interpose(['create', '--bundle', b, name], config)).status).toBe(0);
      expect(readFileSync(join(b, 'config.json'))).toEqual(before);
      expect(readFileSync(recorded, 'utf8')).toBe(`create --bundle ${b} ${name}\n`);
    }
  });

  it('fails with one coded line on stderr and in runc’s log, without running runc or touching the spec', async () => {
    const config = writeConfig('missing');
    const b = bundle('missing', { ...annotations, 'flox.dev/environment': 'acme/nope:4' });
    const before = readFileSync(join(b, 'config.json'));
    const r = await interpose(['--log', join(b, 'log.json'), '--log-format', 'json', 'create', '--bundle', b, 'c4'], config);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^flox-k8s: environment acme\/nope:4: FLOXK8S_ENV_NOT_FOUND: environment generation 4 of acme\/nope not found in dir .*\n$/);
    expect(r.stderr.split('\n')).toHaveLength(2);
    const logged = JSON.parse(readFileSync(join(b, 'log.json'), 'utf8').trim()) as { level: string; msg: string };
    expect(logged).toMatchObject({ level: 'error', msg: r.stderr.trim() });
    expect(readFileSync(recorded, 'utf8')).toBe('');
    expect(readFileSync(join(b, 'config.json'))).toEqual(before);
    const bad = bundle('bad-mode', { ...annotations, 'flox.dev/activate-mode': 'prod' });
    const r2 = await interpose(['create', '--bundle', bad, 'c5'], config);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toMatch(/^flox-k8s: environment acme\/fixture: FLOXK8S_ANNOTATION_INVALID: .*flox.dev\/activate-mode/);
  });

  it('realises through the node agent when its socket answers', async () => {
    const config = writeConfig('agent');
    const storeRoot = join(dir, 'store-agent');
    // A stand-in agent speaking the protocol, realising into the same store root.
    const requests: unknown[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const request = JSON.parse(body) as { storePaths: string[] };
        requests.push(request);
        void Store.open(storeRoot)
          .then((store) => store.realise(request.storePaths, { caches: [{ url: cache.url }], trustedKeys: [fixtures.publicKey] }))
          .then((done) => {
            res.writeHead(200, { 'content-type': 'application/x-ndjson' });
            res.write(formatRealiseEvent({ type: 'progress', phase: 'fetch' }));
            res.end(formatRealiseEvent({ type: 'done', closure: done.closure, fetched: done.fetched, present: done.present, storeRoot }));
          });
      });
    });
    await new Promise<void>((r) => server.listen(join(dir, 'agent.sock'), r));
    try {
      const b = bundle('agent', annotations);
      expect((await interpose(['create', '--bundle', b, 'c6'], config)).status).toBe(0);
      expect(requests).toEqual([{ storePaths: Object.values(fixtures.storePaths).sort(), environment: 'acme/fixture', digest: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
      const log = readFileSync(join(dir, 'agent.log'), 'utf8');
      expect(log).toContain('"via":"agent"');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

