// The hand-off as containerd's runc shim drives it: the REAL fronts of an install layout
// (every case runs against the compiled front and against the sh front alone), a recording stand-in for the real runc (records its argv and the config.json
// it saw), the patch service in this process, and the real-Nix fixture cache on loopback.
// Scripted stand-ins for broken services are named as such.
import { execFileSync, spawn } from 'node:child_process';
import { constants, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { loadConfig } from '@flox-k8s/config';
import { publishEnvironment } from '@flox-k8s/environments';
import { listenPatchService, type PatchRequestReport, type PatchService } from '@flox-k8s/interposer';
import { installLayout, type InstallLayout } from '@flox-k8s/shim-layout';
import { fileLogger } from '../src/log/index.ts';
import { shimPrograms } from '../src/programs.ts';

const dir = mkdtempSync(join(tmpdir(), 'flox-patch-service-'));
const serviceDir = join(dir, 'patcher');
const recorded = join(dir, 'runc-calls');
const configPath = join(dir, 'config.json');
const logFile = join(dir, 'shim.log');
const recordingTools = join(dir, 'recording-tools');
const toolCalls = join(dir, 'tool-calls');
const recordingPath = `${recordingTools}:/usr/bin:/bin`;
let fixtures: NixFixtures;
let cache: ServedCache;
let layout: InstallLayout;
const layouts: Record<string, InstallLayout> = {};
// Container ids of each front's cases carry its name: the log they are looked up in is shared.
let tag = '';

const annotations = { 'flox.dev/environment': 'acme/fixture', 'io.kubernetes.cri.container-name': 'app', 'io.kubernetes.cri.container-type': 'container' };

beforeAll(async () => {
  fixtures = await nixFixtures();
  cache = await serveCache(fixtures.caches.xz);
  await publishEnvironment(join(dir, 'hub'), 'acme', 'fixture', fixtures.lockfile.bytes);
  writeFileSync(
    configPath,
    JSON.stringify({
      storeRoot: join(dir, 'store'),
      caches: [{ url: cache.url }],
      trustedKeys: [fixtures.publicKey],
      sources: [{ type: 'dir', path: join(dir, 'hub') }],
      agentSocket: join(dir, 'agent.sock'),
      logFile,
      patchServiceDir: serviceDir,
    }),
  );
  // The stand-in runc records its argv and the bundle's config.json as it found it.
  const runc = join(dir, 'fake-runc');
  writeFileSync(
    runc,
    `#!/bin/sh
b=.
prev=
for a in "$@"; do [ "$prev" = --bundle ] && b=$a; prev=$a; done
printf 'argv %s\\n' "$*" >> '${recorded}'
[ "$b" = . ] || cp "$b/config.json" "$b/runc-saw.json"
exit 0
`,
    { mode: 0o755 },
  );
  for (const compiledFront of [true, false]) {
    const kind = compiledFront ? 'compiled' : 'sh';
    layouts[kind] = await installLayout({ programs: shimPrograms, prefix: join(dir, `install-${kind}`), runc, fromSource: true, compileCache: join(dir, 'cc'), config: configPath, patchServiceDir: serviceDir, compiledFront });
  }
  // grep and mkfifo that record their runs before doing the real thing: which processes a front starts.
  mkdirSync(recordingTools);
  for (const tool of ['grep', 'mkfifo']) writeFileSync(join(recordingTools, tool), `#!/bin/sh\necho ${tool} >> '${toolCalls}'\nexec /usr/bin/${tool} "$@"\n`, { mode: 0o755 });
}, 300_000);
afterAll(async () => {
  await cache?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function startService(replyPoolSize?: number): Promise<{ service: PatchService; reports: PatchRequestReport[] }> {
  const reports: PatchRequestReport[] = [];
  const service = await listenPatchService({
    dir: serviceDir,
    config: loadConfig(configPath, { required: true }),
    log: fileLogger(logFile, { component: 'patch-service' }),
    onRequest: (r) => reports.push(r),
    front: layout.interposer,
    ...(replyPoolSize === undefined ? {} : { replyPoolSize }),
  });
  return { service, reports };
}

/** Names in one of the service's directories (replies/, claims/). */
function listed(sub: 'replies' | 'claims'): string[] {
  return readdirSync(join(serviceDir, sub)).sort();
}

let bundles = 0;
function bundle(extra: Record<string, string> = {}): string {
  const b = join(dir, 'bundles', `b${bundles++}`);
  mkdirSync(join(b, 'rootfs'), { recursive: true });
  const spec = { ociVersion: '1.0.2', process: { args: ['hello-flox'], env: ['PATH=/usr/bin:/bin'], cwd: '/' }, root: { path: 'rootfs' }, mounts: [], annotations: { ...annotations, ...extra } };
  writeFileSync(join(b, 'config.json'), JSON.stringify(spec));
  return b;
}

interface Run {
  status: number | null;
  stderr: string;
  ms: number;
}

/** Runs the installed front as containerd's runc shim would (async: the service shares this event loop). */
async function front(args: string[], path = '/usr/bin:/bin'): Promise<Run> {
  const started = performance.now();
  const child = spawn(layout.interposer, args, { env: { PATH: path }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const status = await new Promise<number | null>((r) => child.on('close', r));
  return { status, stderr, ms: performance.now() - started };
}

function createArgs(b: string, id: string): string[] {
  return ['--root', join(dir, 'runc-root'), '--log', join(b, 'log.json'), '--log-format', 'json', 'create', '--bundle', b, '--pid-file', join(b, 'pid'), `${tag}${id}`];
}

/** What the stand-in runc recorded for the bundle: its argv line and the spec it saw. */
function runcSaw(b: string): { argv: string; spec: { annotations?: Record<string, string>; process: { env: string[] } } } | undefined {
  const line = readFileSync(recorded, 'utf8').split('\n').find((l) => l.startsWith('argv ') && l.includes(`--bundle ${b} `));
  if (line === undefined) return undefined;
  return { argv: line.slice('argv '.length), spec: JSON.parse(readFileSync(join(b, 'runc-saw.json'), 'utf8')) as never };
}

function patchedEntries(): Array<{ msg: string; entry?: string; containerId?: string }> {
  return readFileSync(logFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string; entry?: string; containerId?: string })
    .filter((e) => e.msg === 'container patched' || e.msg === 'container already patched');
}

function entryOf(id: string): string | undefined {
  return patchedEntries().find((e) => e.containerId === `${tag}${id}`)?.entry;
}

/** A scripted stand-in for a broken service: holds the request FIFO and does `onRequest` with each line (pid, reply slot). */
function scriptedService(onRequest: (pid: number, slot: string) => void): () => void {
  mkdirSync(join(serviceDir, 'replies'), { recursive: true, mode: 0o700 });
  mkdirSync(join(serviceDir, 'claims'), { recursive: true, mode: 0o700 });
  if (!existsSync(join(serviceDir, 'requests'))) execFileSync('mkfifo', [join(serviceDir, 'requests')]);
  const fd = openSync(join(serviceDir, 'requests'), constants.O_RDWR | constants.O_NONBLOCK);
  const socket = new Socket({ fd, readable: true, writable: false });
  socket.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line !== '') onRequest(Number(line.split(' ')[1]), line.split(' ')[2] as string);
  });
  return () => socket.destroy();
}

describe.each(['compiled', 'sh'])('patch service hand-off (real %s front)', (kind) => {
  beforeAll(() => {
    layout = layouts[kind] as InstallLayout;
    tag = `${kind}-`;
    expect(layout.compiledFront).toBe(kind === 'compiled');
  });

  it('the service patches config.json and the front execs runc with the identical argv', async () => {
    writeFileSync(recorded, '');
    const { service, reports } = await startService();
    try {
      expect(existsSync(join(serviceDir, 'requests'))).toBe(true);
      const cold = bundle();
      const coldArgs = createArgs(cold, 'svc-cold');
      const r = await front(coldArgs);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const warm = bundle();
      const warmArgs = createArgs(warm, 'svc-warm');
      expect((await front(warmArgs)).status).toBe(0);
      for (const [b, args] of [[cold, coldArgs], [warm, warmArgs]] as const) {
        const saw = runcSaw(b);
        expect(saw?.argv).toBe(args.join(' '));
        expect(saw?.spec.annotations?.['flox.dev/applied-environment']).toBe('acme/fixture');
        expect(saw?.spec.process.env).toContain('FLOX_ENV=/run/flox-k8s/env');
      }
      expect(reports.map((x) => `${x.subcommand} ${x.outcome}`)).toEqual(['create ok', 'create ok']);
      expect([entryOf('svc-cold'), entryOf('svc-warm')]).toEqual(['service', 'service']);
      // Replies are removed once answered.
      expect(readFileSync(recorded, 'utf8')).not.toContain('timeout');
    } finally {
      await service.close();
    }
    // Closed: the FIFO is gone, so fronts go straight to their own Node.
    expect(existsSync(join(serviceDir, 'requests'))).toBe(false);
  });

  it('a failure: exit 1, one line on stderr and in runc’s --log, runc not run', async () => {
    writeFileSync(recorded, '');
    const { service, reports } = await startService();
    try {
      const b = bundle({ 'flox.dev/environment': 'acme/nope:4' });
      const before = readFileSync(join(b, 'config.json'));
      const r = await front(createArgs(b, 'svc-fail'));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^flox-k8s: environment acme\/nope:4: FLOXK8S_ENV_NOT_FOUND: environment generation 4 of acme\/nope not found in dir .*\n$/);
      expect(r.stderr.split('\n')).toHaveLength(2);
      expect(JSON.parse(readFileSync(join(b, 'log.json'), 'utf8').trim())).toMatchObject({ level: 'error', msg: r.stderr.trim() });
      expect(readFileSync(recorded, 'utf8')).toBe('');
      expect(readFileSync(join(b, 'config.json'))).toEqual(before);
      expect(reports).toMatchObject([{ subcommand: 'create', outcome: 'fail', reason: 'FLOXK8S_ENV_NOT_FOUND' }]);
    } finally {
      await service.close();
    }
  });

  it('exec through the service adds the activation environment to the --process file', async () => {
    const { service, reports } = await startService();
    try {
      const b = bundle();
      expect((await front(createArgs(b, 'svc-exec'))).status).toBe(0);
      const root = join(dir, 'exec-root');
      mkdirSync(join(root, 'svc-exec'), { recursive: true });
      writeFileSync(join(root, 'svc-exec', 'state.json'), JSON.stringify({ id: 'svc-exec', config: { labels: [`bundle=${b}`] } }));
      const processFile = join(dir, 'process.json');
      writeFileSync(processFile, JSON.stringify({ args: ['env'], env: ['PATH=/bin'], cwd: '/' }));
      writeFileSync(recorded, '');
      const args = ['--root', root, 'exec', '--process', processFile, '--detach', 'svc-exec'];
      expect((await front(args)).status).toBe(0);
      expect(readFileSync(recorded, 'utf8')).toBe(`argv ${args.join(' ')}\n`);
      expect((JSON.parse(readFileSync(processFile, 'utf8')) as { env: string[] }).env).toContain('FLOX_ENV=/run/flox-k8s/env');
      expect(reports.map((x) => `${x.subcommand} ${x.outcome}`)).toEqual(['create ok', 'exec ok']);
    } finally {
      await service.close();
    }
  });

  it('8 concurrent creates are all answered by the service', async () => {
    writeFileSync(recorded, '');
    const { service, reports } = await startService();
    try {
      const jobs = Array.from({ length: 8 }, (_, i) => ({ b: bundle(), id: `svc-many-${i}` }));
      const runs = await Promise.all(jobs.map(({ b, id }) => front(createArgs(b, id))));
      expect(runs.map((r) => r.status)).toEqual(Array(8).fill(0));
      for (const { b, id } of jobs) {
        expect(runcSaw(b)?.argv).toBe(createArgs(b, id).join(' '));
        expect(runcSaw(b)?.spec.annotations?.['flox.dev/applied-environment']).toBe('acme/fixture');
        expect(entryOf(id)).toBe('service');
      }
      expect(reports.filter((x) => x.outcome === 'ok')).toHaveLength(8);
    } finally {
      await service.close();
    }
  });

  it('bogus requests are dropped and the service keeps serving', async () => {
    const { service, reports } = await startService();
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const pid = sleeper.pid as number;
      // A regular file, and a symlink to a FIFO, where the reply FIFO should be.
      writeFileSync(join(serviceDir, 'replies', String(pid)), '');
      const elsewhere = join(dir, `${tag}elsewhere.fifo`);
      execFileSync('mkfifo', [elsewhere]);
      symlinkSync(elsewhere, join(serviceDir, 'replies', String(process.pid)));
      const fd = openSync(join(serviceDir, 'requests'), constants.O_RDWR | constants.O_NONBLOCK);
      for (const line of ['create 999999999', 'hello', `create ${pid}`, `exec ${process.pid}`, 'x'.repeat(100)]) writeSync(fd, `${line}\n`);
      closeSync(fd);
      const deadline = Date.now() + 5000;
      while (reports.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(reports.map((x) => `${x.outcome} ${x.reason}`).sort()).toEqual(
        ['dropped malformed', 'dropped malformed', 'dropped no-reply-fifo', 'dropped reply-not-our-fifo', 'dropped reply-not-our-fifo'].sort(),
      );
      rmSync(join(serviceDir, 'replies', String(pid)));
      rmSync(join(serviceDir, 'replies', String(process.pid)));
      const b = bundle();
      expect((await front(createArgs(b, 'svc-after-bogus'))).status).toBe(0);
      expect(entryOf('svc-after-bogus')).toBe('service');
    } finally {
      sleeper.kill();
      await service.close();
    }
  });

  it('a front the service does not recognise is declined and patches with its own Node at once', async () => {
    const reports: PatchRequestReport[] = [];
    const service = await listenPatchService({
      dir: serviceDir,
      config: loadConfig(configPath, { required: true }),
      log: fileLogger(logFile),
      onRequest: (x) => reports.push(x),
      front: '/opt/elsewhere/libexec/flox-k8s/runc',
    });
    try {
      const b = bundle();
      const r = await front(createArgs(b, 'declined'));
      expect(r.status).toBe(0);
      expect(r.ms).toBeLessThan(1000);
      expect(reports).toMatchObject([{ subcommand: 'create', outcome: 'dropped', reason: 'not-the-front' }]);
      expect(entryOf('declined')).toBe('module');
      expect(runcSaw(b)?.spec.annotations?.['flox.dev/applied-environment']).toBe('acme/fixture');
    } finally {
      await service.close();
    }
  });

  it('no service behind the FIFO: the front falls back to its own Node within the 1 s bound', async () => {
    const stop = scriptedService(() => undefined);
    // Closed right away: the FIFO stays, nobody reads it (an agent that died).
    stop();
    const b = bundle();
    const r = await front(createArgs(b, 'no-service'));
    expect(r.status).toBe(0);
    expect(r.ms).toBeGreaterThan(900);
    expect(r.ms).toBeLessThan(8000);
    expect(runcSaw(b)?.spec.annotations?.['flox.dev/applied-environment']).toBe('acme/fixture');
    expect(entryOf('no-service')).toBe('module');
  });

  it('a scripted service that never accepts: the front falls back after the watchdog', async () => {
    const seen: string[] = [];
    const stop = scriptedService((_pid, slot) => seen.push(slot));
    try {
      const b = bundle();
      const r = await front(createArgs(b, 'hangs'));
      expect(r.status).toBe(0);
      expect(seen).toHaveLength(1);
      expect(r.ms).toBeLessThan(8000);
      expect(entryOf('hangs')).toBe('module');
      expect(runcSaw(b)?.spec.annotations?.['flox.dev/applied-environment']).toBe('acme/fixture');
      // The front made its own reply FIFO (no pool here) and removed it with its claim.
      expect(seen).toEqual([expect.stringMatching(/^[1-9][0-9]*$/)]);
      expect([existsSync(join(serviceDir, 'replies', seen[0] as string)), existsSync(join(serviceDir, 'claims', seen[0] as string))]).toEqual([false, false]);
    } finally {
      stop();
    }
  });

  it('a scripted service that dies after accepting: EOF, the front falls back at once', async () => {
    const stop = scriptedService((_pid, slot) => {
      // The front opens its end just after sending: retry while it has not (ENXIO).
      const accept = (tries: number): void => {
        try {
          const fd = openSync(join(serviceDir, 'replies', slot), constants.O_WRONLY | constants.O_NONBLOCK);
          writeSync(fd, 'accepted\n');
          closeSync(fd);
        } catch {
          if (tries > 0) setTimeout(() => accept(tries - 1), 2);
        }
      };
      accept(200);
    });
    try {
      const b = bundle();
      const r = await front(createArgs(b, 'dies'));
      expect(r.status).toBe(0);
      // EOF right after `accepted`: no wait for the 1 s watchdog.
      expect(r.ms).toBeLessThan(1000);
      expect(entryOf('dies')).toBe('module');
      expect(runcSaw(b)?.spec.annotations?.['flox.dev/applied-environment']).toBe('acme/fixture');
    } finally {
      stop();
    }
  });

  it('the service enforces createTimeoutMs: a realise that hangs fails the create with the reason', async () => {
    // A node agent socket that accepts and never answers, and a store without the closure.
    const hanging = createServer(() => undefined);
    const socketPath = join(dir, 'hanging.sock');
    await new Promise<void>((r) => hanging.listen(socketPath, r));
    const reports: PatchRequestReport[] = [];
    const config = { ...loadConfig(configPath, { required: true }), storeRoot: join(dir, 'store-timeout'), agentSocket: socketPath, createTimeoutMs: 300 };
    const service = await listenPatchService({ dir: serviceDir, config, log: fileLogger(logFile), onRequest: (x) => reports.push(x) });
    try {
      const b = bundle();
      const r = await front(createArgs(b, 'times-out'));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^flox-k8s: environment acme\/fixture: FLOXK8S_CREATE_TIMEOUT: /);
      expect(r.ms).toBeLessThan(3000);
      expect(reports).toMatchObject([{ outcome: 'timeout', reason: 'FLOXK8S_CREATE_TIMEOUT' }]);
    } finally {
      await service.close();
      hanging.close();
    }
  });

  it('a spec already patched for the same lockfile is left as is (a fallback racing a late service)', async () => {
    const { service } = await startService();
    try {
      const b = bundle();
      expect((await front(createArgs(b, 'twice-1'))).status).toBe(0);
      const once = readFileSync(join(b, 'config.json'), 'utf8');
      expect((await front(createArgs(b, 'twice-2'))).status).toBe(0);
      expect(readFileSync(join(b, 'config.json'), 'utf8')).toBe(once);
      expect(patchedEntries().find((e) => e.containerId === `${tag}twice-2`)?.msg).toBe('container already patched');
    } finally {
      await service.close();
    }
  });
  it('a plain container (no environment) is answered by the service: no grep, no mkfifo, runc sees its spec as it was', async () => {
    writeFileSync(recorded, '');
    writeFileSync(toolCalls, '');
    const { service, reports } = await startService();
    try {
      const b = bundle({ 'flox.dev/environment': '' });
      const spec = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8')) as { annotations: Record<string, string> };
      delete spec.annotations['flox.dev/environment'];
      writeFileSync(join(b, 'config.json'), JSON.stringify(spec));
      const before = readFileSync(join(b, 'config.json'));
      const r = await front(createArgs(b, 'svc-plain'), recordingPath);
      expect([r.status, r.stderr]).toEqual([0, '']);
      expect(reports.map((x) => `${x.subcommand} ${x.outcome}`)).toEqual(['create ok']);
      expect(readFileSync(join(b, 'runc-saw.json'))).toEqual(before);
      // A flox create too: the front claims a FIFO of the pool and starts no process of its own.
      const f = bundle();
      expect((await front(createArgs(f, 'svc-pool'), recordingPath)).status).toBe(0);
      expect(entryOf('svc-pool')).toBe('service');
      expect(readFileSync(toolCalls, 'utf8')).toBe('');
      // Served claims and their FIFOs are gone; the pool (32) was topped up after half of it.
      expect(listed('claims')).toEqual([]);
      expect(listed('replies').filter((n) => /^p[0-9a-z]+-[0-9]+$/.test(n))).toHaveLength(30);
    } finally {
      await service.close();
    }
    // Closing removes the pool nobody claimed.
    expect(listed('replies')).toEqual([]);
  });

  it('with no pool FIFO left, the front makes its own and is served; concurrent fronts each get their own FIFO', async () => {
    writeFileSync(toolCalls, '');
    const { service, reports } = await startService(0);
    try {
      const b = bundle();
      expect((await front(createArgs(b, 'svc-own-fifo'), recordingPath)).status).toBe(0);
      expect(entryOf('svc-own-fifo')).toBe('service');
      expect(readFileSync(toolCalls, 'utf8')).toBe('mkfifo\n');
      expect([listed('replies'), listed('claims')]).toEqual([[], []]);
      expect(reports.map((x) => `${x.subcommand} ${x.outcome}`)).toEqual(['create ok']);
    } finally {
      await service.close();
    }
    // A pool of 4 and 10 fronts at once: claims never collide, the rest make their own.
    const small = await startService(4);
    try {
      const jobs = Array.from({ length: 10 }, (_, i) => ({ b: bundle(), id: `svc-burst-${i}` }));
      const runs = await Promise.all(jobs.map(({ b, id }) => front(createArgs(b, id))));
      expect(runs.map((r) => r.status)).toEqual(Array(10).fill(0));
      expect(jobs.map(({ id }) => entryOf(id))).toEqual(Array(10).fill('service'));
      expect(small.reports.filter((x) => x.outcome === 'ok')).toHaveLength(10);
      expect(listed('claims')).toEqual([]);
    } finally {
      await small.service.close();
    }
  });

  it('a request naming a pool FIFO it did not claim is dropped; claims of dead fronts are swept at start', async () => {
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    const gone = spawn('true', { stdio: 'ignore' });
    await new Promise((r) => gone.once('exit', r));
    // Left by an earlier service: a FIFO claimed by a live front, one claimed by a dead one, one nobody claimed.
    mkdirSync(join(serviceDir, 'claims'), { recursive: true, mode: 0o700 });
    for (const name of ['pold-1', 'pold-2', 'pold-3']) execFileSync('mkfifo', ['-m', '600', join(serviceDir, 'replies', name)]);
    writeFileSync(join(serviceDir, 'claims', 'pold-1'), `${sleeper.pid}\n`);
    writeFileSync(join(serviceDir, 'claims', 'pold-2'), `${gone.pid}\n`);
    const { service, reports } = await startService(2);
    try {
      expect(listed('claims')).toEqual(['pold-1']);
      const pool = listed('replies').filter((n) => !n.startsWith('pold-'));
      expect([listed('replies').filter((n) => n.startsWith('pold-')), pool]).toEqual([['pold-1'], [expect.stringMatching(/^p/), expect.stringMatching(/^p/)]]);
      const pid = sleeper.pid as number;
      // Unclaimed, and claimed by another pid.
      writeFileSync(join(serviceDir, 'claims', pool[1] as string), `${process.pid}\n`);
      const fd = openSync(join(serviceDir, 'requests'), constants.O_RDWR | constants.O_NONBLOCK);
      for (const slot of pool) writeSync(fd, `create ${pid} ${slot}\n`);
      closeSync(fd);
      const deadline = Date.now() + 5000;
      while (reports.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(reports.map((x) => `${x.outcome} ${x.reason}`)).toEqual(['dropped not-claimed', 'dropped not-claimed']);
      // Still in the pool: a front claims and is served.
      rmSync(join(serviceDir, 'claims', pool[1] as string));
      expect((await front(createArgs(bundle(), 'svc-after-claims'))).status).toBe(0);
      expect(entryOf('svc-after-claims')).toBe('service');
    } finally {
      sleeper.kill();
      await service.close();
      rmSync(join(serviceDir, 'claims', 'pold-1'), { force: true });
      rmSync(join(serviceDir, 'replies', 'pold-1'), { force: true });
    }
  });
});

// The bytes a front reads: a probe front (a script named `runc`, which the service takes for the
// sh front when none is configured) that claims a pool FIFO as the real fronts do and keeps every
// byte until the service closes its end.
describe('reply lines', () => {
  const probe = join(dir, 'probe', 'runc');
  beforeAll(() => {
    mkdirSync(join(dir, 'probe'), { recursive: true });
    writeFileSync(
      probe,
      `#!/bin/sh
d=$PROBE_SERVICE
slot=
for r in "$d"/replies/p*; do
  s=\${r##*/}
  if (set -C; echo $$ > "$d/claims/$s") 2>/dev/null; then slot=$s; break; fi
done
[ -n "$slot" ] || exit 3
exec 9<"$d/replies/$slot"
printf 'create %s %s\\n' $$ "$slot" > "$d/requests"
cat <&9 > "$PROBE_OUT"
`,
      { mode: 0o755 },
    );
  });

  async function probeReply(b: string, id: string): Promise<string> {
    const out = join(b, 'probe-out');
    const child = spawn('/bin/sh', [probe, ...createArgs(b, id)], { env: { PATH: '/usr/bin:/bin', PROBE_SERVICE: serviceDir, PROBE_OUT: out }, stdio: 'ignore' });
    const status = await new Promise<number | null>((r) => child.on('close', r));
    expect(status).toBe(0);
    return readFileSync(out, 'utf8');
  }

  it('a warm create is answered with its verdict alone; `accepted` comes first only when the answer takes longer', async () => {
    tag = 'probe-';
    const service = await listenPatchService({ dir: serviceDir, config: loadConfig(configPath, { required: true }), log: fileLogger(logFile) });
    try {
      // The first realises what an earlier case has not; the second is warm either way.
      expect(await probeReply(bundle(), 'warm-1')).toMatch(/^(accepted\n)?ok\n$/);
      expect(await probeReply(bundle(), 'warm-2')).toBe('ok\n');
      expect(await probeReply(bundle({ 'flox.dev/environment': '' }), 'plain')).toBe('ok\n');
      expect(await probeReply(bundle({ 'flox.dev/environment': 'acme/nope:4' }), 'unknown')).toMatch(/^fail flox-k8s: environment acme\/nope:4: FLOXK8S_ENV_NOT_FOUND: [^\n]*\n$/);
    } finally {
      await service.close();
    }
    // A realise that hangs (an agent that never answers, a store without the closure): `accepted`
    // after ACCEPT_AFTER_MS, then the timeout's failure.
    const hanging = createServer(() => undefined);
    const socketPath = join(dir, 'hanging-probe.sock');
    await new Promise<void>((r) => hanging.listen(socketPath, r));
    const config = { ...loadConfig(configPath, { required: true }), storeRoot: join(dir, 'store-probe'), agentSocket: socketPath, createTimeoutMs: 400 };
    const slow = await listenPatchService({ dir: serviceDir, config, log: fileLogger(logFile) });
    try {
      expect(await probeReply(bundle(), 'slow')).toMatch(/^accepted\nfail flox-k8s: environment acme\/fixture: FLOXK8S_CREATE_TIMEOUT: [^\n]*\n$/);
    } finally {
      await slow.close();
      hanging.close();
    }
  });
});
