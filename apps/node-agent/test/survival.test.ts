// The real agent process (`flox-node-agent run`, from source) against the fake API server,
// taken through the bad inputs of issue 16 one after the other: a cache serving
// `Compression: br`, a NAR URL pointing elsewhere, a hostile NAR, a corrupt xz NAR, a NAR larger than the disk,
// lease renewals on a full disk (its store is on a small tmpfs) and a torn GC root. After each,
// the process is alive, /metrics answers with the failure counted by code, and the patch
// service still reads and answers its FIFO. Root only (tmpfs), as in CI.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '@flox-k8s/vitest-config/until';
import { realiseViaAgent } from '@flox-k8s/agent-protocol';
import { publishEnvironment } from '@flox-k8s/environments';
import { compress, HOSTILE_NARS, narOf, prng, storePathLockfile, writeSignedCache } from '@flox-k8s/hostile-nars';
import { formatSha256, nix32Encode, serializeNarinfo, signNarinfo } from '@flox-k8s/nar';
import { nixFixtures, serveCache, type NixFixtures, type ServedCache } from '@flox-k8s/nix-fixtures';
import { startFakeApiserver, type FakeApiserver } from '@flox-k8s/fake-apiserver';

const canMount = process.getuid?.() === 0;
if (!canMount && process.env['CI'] === 'true') throw new Error('the agent survival test needs root (a tmpfs) and must run under CI');
const NODE = 'node-survive';
const main = join(import.meta.dirname, '..', 'src', 'main.ts');

describe.skipIf(!canMount)('the agent process survives every bad input of issue 16', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flox-agent-survive-'));
  const mount = join(dir, 'tmpfs');
  let fixtures: NixFixtures;
  let caches: ServedCache[] = [];
  let apiserver: FakeApiserver;
  let agent: ChildProcess;
  const lines: Array<Record<string, unknown>> = [];
  let metricsUrl: string;
  let sleeper: ChildProcess;

  beforeAll(async () => {
    fixtures = await nixFixtures();
    const hostile = HOSTILE_NARS.find(([name]) => name === 'traversal name "../escape"') as [string, Buffer, string];
    const names = ['br', 'elsewhere', 'hostile', 'corrupt', 'big'];
    const rng = prng(16);
    const corruptNar = narOf({ type: 'regular', contents: Buffer.from(Array.from({ length: 256 << 10 }, () => Math.floor(rng() * 256))) });
    const corruptXz = compress(corruptNar, 'xz');
    for (let i = 64; i < corruptXz.length; i += 97) corruptXz[i] = (corruptXz[i] ?? 0) ^ 0xff;
    const paths = writeSignedCache(
      join(dir, 'bad-cache'),
      [
        { name: 'survive-br', nar: narOf({ type: 'regular', contents: 'x' }), compression: 'none', compressionField: 'br' },
        { name: 'survive-elsewhere', nar: narOf({ type: 'regular', contents: 'y' }), compression: 'none', url: 'http://127.0.0.1:9/nar/elsewhere.nar' },
        { name: 'survive-hostile', nar: hostile[1], compression: 'xz' },
        // Served as signed (FileHash matches), but flipped bytes: the decoder (or the NAR parser after it) fails.
        { name: 'survive-corrupt', nar: corruptNar, compression: 'xz', file: corruptXz },
        // Incompressible and larger than the store's whole tmpfs.
        { name: 'survive-big', nar: narOf({ type: 'regular', contents: randomBytes(24 << 20) }), compression: 'none' },
      ],
      readFileSync(fixtures.secretKeyFile, 'utf8'),
      { formatSha256, nix32Encode, serializeNarinfo, signNarinfo },
    );
    for (const [i, name] of names.entries()) {
      await publishEnvironment(join(dir, 'hub'), 'acme', name, storePathLockfile({ [name]: paths[i] as string }));
    }
    await publishEnvironment(join(dir, 'hub'), 'acme', 'fixture', fixtures.lockfile.bytes);
    caches = [await serveCache(fixtures.caches.zstd), await serveCache(join(dir, 'bad-cache'))];

    mkdirSync(mount);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mount], { encoding: 'utf8' });
    if (mounted.status !== 0) throw new Error(`mount tmpfs: ${mounted.stderr}`);
    apiserver = await startFakeApiserver();
    apiserver.addNode(NODE);
    writeFileSync(
      join(dir, 'agent.json'),
      JSON.stringify({
        storeRoot: join(mount, 'root'),
        caches: caches.map((c) => ({ url: c.url })),
        trustedKeys: [fixtures.publicKey],
        sources: [{ type: 'dir', path: join(dir, 'hub') }],
        agentSocket: join(dir, 'run', 'agent.sock'),
        patchServiceDir: join(dir, 'run', 'patcher'),
        system: 'x86_64-linux',
        agent: {
          metricsHost: '127.0.0.1',
          metricsPort: 0,
          // Renewed every second; GC every second and always over its (tiny) high watermark.
          leaseTtlSeconds: 3,
          gc: { intervalSeconds: 1, highWatermark: 0.02, lowWatermark: 0.01 },
          installer: { enabled: false },
        },
      }),
    );
    writeFileSync(
      join(dir, 'kubeconfig'),
      `apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "${apiserver.url}", insecure-skip-tls-verify: true } }]\nusers: [{ name: u, user: {} }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n`,
    );
    agent = spawn(process.execPath, ['--conditions=@flox-k8s/source', main, 'run'], {
      env: { ...process.env, FLOXK8S_AGENT_CONFIG: join(dir, 'agent.json'), KUBECONFIG: join(dir, 'kubeconfig'), NODE_NAME: NODE },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    agent.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        lines.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
        buffered = buffered.slice(nl + 1);
      }
    });
    const ready = await until('the agent to be ready', () => lines.find((l) => l['msg'] === 'node agent ready'), 60_000);
    metricsUrl = ready['metrics'] as string;
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
  }, 300_000);

  afterAll(async () => {
    sleeper?.kill();
    if (agent !== undefined && agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGTERM');
      await new Promise((r) => agent.once('exit', r));
    }
    await apiserver?.close();
    for (const c of caches) await c.close();
    spawnSync('umount', [mount]);
    rmSync(dir, { recursive: true, force: true });
  });

  async function metrics(): Promise<string> {
    const res = await fetch(`${metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  }

  const counter = (text: string, series: string): number => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);

  /** Alive, /healthz and /metrics answer, and the patch service reads its FIFO and answers a request. */
  async function expectServing(): Promise<void> {
    expect({ exitCode: agent.exitCode, signal: agent.signalCode }).toEqual({ exitCode: null, signal: null });
    expect((await fetch(`${metricsUrl}/healthz`)).status).toBe(200);
    const series = 'flox_agent_patch_requests_total{subcommand="create",outcome="dropped"}';
    const before = counter(await metrics(), series);
    // A live process with no reply FIFO: read, judged and dropped (counted) by the service.
    const fd = openSync(join(dir, 'run', 'patcher', 'requests'), constants.O_RDWR | constants.O_NONBLOCK);
    writeSync(fd, `create ${sleeper.pid}\n`);
    closeSync(fd);
    await until('the patch service to answer', async () => counter(await metrics(), series) === before + 1);
  }

  async function failedPrefetch(name: string, code: string): Promise<void> {
    apiserver.putPod({ metadata: { name, namespace: 'apps', annotations: { 'flox.dev/environment': `acme/${name}` } }, spec: { nodeName: NODE, runtimeClassName: 'flox' } });
    // Progress events (FloxRealising) may come first; the failure is the Warning.
    const event = await until(`the failure event of ${name}`, () =>
      apiserver.events.find((e) => (e['involvedObject'] as { name?: string }).name === name && e['type'] === 'Warning'),
    );
    expect(event).toMatchObject({ type: 'Warning', reason: 'FloxRealiseFailed' });
    expect(event['message']).toMatch(new RegExp(`^Realise of acme/${name} failed \\(${code}\\): `));
    expect(counter(await metrics(), `flox_agent_errors_total{code="${code}"}`)).toBeGreaterThanOrEqual(1);
  }

  it('starts and serves', async () => {
    await expectServing();
  });

  it.each([
    ['br', 'FLOXK8S_COMPRESSION_UNSUPPORTED'],
    ['elsewhere', 'FLOXK8S_NAR_URL_OUTSIDE_CACHE'],
    ['hostile', 'FLOXK8S_NAR_BAD_NAME'],
    ['corrupt', 'FLOXK8S_NAR_BAD_PADDING'],
    ['big', 'FLOXK8S_STORE_DISK_FULL'],
  ])('a pod whose environment is %s: a coded Warning event, and the agent keeps serving', async (name, code) => {
    await failedPrefetch(name, code);
    await expectServing();
  });

  it('the same bad input through the realise socket: a coded answer, and the agent keeps serving', async () => {
    const storePath = JSON.parse(readFileSync(join(dir, 'hub', 'acme', 'br', 'generations', '1', 'manifest.lock'), 'utf8')).packages[0].store_path as string;
    await expect(realiseViaAgent(join(dir, 'run', 'agent.sock'), { storePaths: [storePath], environment: 'acme/br', digest: 'ab'.repeat(32) })).rejects.toMatchObject({
      code: 'FLOXK8S_COMPRESSION_UNSUPPORTED',
    });
    await expectServing();
  });

  it('lease renewals on a full disk: logged and counted (FLOXK8S_STORE_DISK_FULL), renewed again once there is room', async () => {
    const pod = apiserver.putPod({ metadata: { name: 'app', namespace: 'apps', annotations: { 'flox.dev/environment': 'acme/fixture' } }, spec: { nodeName: NODE, runtimeClassName: 'flox' } });
    const leaseFile = join(mount, 'root', 'roots', 'leases', `${Buffer.from(`pod-${pod.metadata.uid}`).toString('base64url')}.json`);
    await until('the Realised event', () => apiserver.events.find((e) => e['reason'] === 'FloxRealised'));
    const filler = join(mount, 'filler');
    fillDisk(filler);
    try {
      const series = 'flox_agent_task_errors_total{task="lease-renewal",code="FLOXK8S_STORE_DISK_FULL"}';
      await until('a failed renewal to be counted', async () => counter(await metrics(), series) >= 1, 20_000);
      expect(lines).toContainEqual(expect.objectContaining({ level: 'error', msg: 'lease-renewal failed', code: 'FLOXK8S_STORE_DISK_FULL' }));
      await expectServing();
    } finally {
      unlinkSync(filler);
    }
    const failedSoFar = lines.filter((l) => l['msg'] === 'lease-renewal failed').length;
    // Two renewal rounds with room again: no new failure, and the lease is whole.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(lines.filter((l) => l['msg'] === 'lease-renewal failed').length).toBe(failedSoFar);
    const lease = JSON.parse(readFileSync(leaseFile, 'utf8')) as { roots: string[]; expiresAt?: number };
    expect(lease.roots.length).toBeGreaterThan(0);
    await expectServing();
  });

  it('a torn GC root: GC stops with the coded error, counted; nothing is deleted and the agent keeps serving', async () => {
    const torn = join(mount, 'root', 'roots', 'leases', 'pod-torn.json');
    writeFileSync(torn, '{"id":"pod-torn","roots":["/nix/st');
    try {
      await until('a GC failure to be counted', async () => counter(await metrics(), 'flox_agent_gc_failures_total{code="FLOXK8S_STORE_GC_ROOT_UNREADABLE"}') >= 1, 20_000);
      for (const storePath of fixtures.closure) {
        expect(readFileSync(join(mount, 'root', 'meta', `${storePath.slice('/nix/store/'.length)}.json`), 'utf8')).toContain(storePath);
      }
      await expectServing();
    } finally {
      unlinkSync(torn);
    }
  });

  it('stops cleanly on SIGTERM', async () => {
    agent.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => agent.once('exit', (exitCode) => r(exitCode)));
    expect(code).toBe(0);
  });
});

/** Writes `file` until the file system is full (ENOSPC). */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(1 << 20, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  // The last partial page too.
  const small = openSync(file, 'a');
  try {
    for (;;) writeSync(small, Buffer.alloc(512, 1));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(small);
  }
}
