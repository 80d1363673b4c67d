import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RegistryPushError, RegistryStartError } from './errors.ts';
import { withTarballFile } from './images.ts';

const run = promisify(execFile);

/** Debian's `docker-registry` (distribution 2.8) and `skopeo`: installed by scripts/bootstrap.sh. */
const REGISTRY_BINARY = '/usr/bin/docker-registry';
const SKOPEO_BINARY = '/usr/bin/skopeo';

/** What the counting proxy saw: every response body byte the registry sent, and the blob part of it. */
export interface RegistryTraffic {
  /** Bytes of `GET …/blobs/sha256:…` response bodies: the layers and configs a client downloaded. */
  blobBytes: number;
  /** Blob GETs answered 200, by digest (a client fetching a layer twice shows as 2). */
  blobGets: Map<string, number>;
  /** Every response body byte (manifests, tags, blobs). */
  totalBytes: number;
}

/** A real registry on loopback with a byte-counting proxy in front of it. */
export interface LocalRegistry {
  /** `127.0.0.1:<port>` of the registry itself (plain HTTP): push and uncounted pulls. */
  host: string;
  /** `127.0.0.1:<port>` of the counting proxy (plain HTTP): pulls whose bytes `traffic()` reports. */
  countedHost: string;
  /** The counts since start or the last `resetTraffic()`. */
  traffic(): RegistryTraffic;
  resetTraffic(): void;
  /** `skopeo copy` of an OCI image-layout tarball (oci-image's `buildImage().tarball`) to `<host>/<repository>:<tag>`; blobs keep their bytes and digests. */
  pushOciArchive(tarball: string | Uint8Array, repository: string, tag: string): Promise<void>;
  /** Stop the registry and the proxy, remove its storage. Idempotent. */
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /** Parent of the registry's temp dir (storage, config, log); default the OS temp dir. */
  parent?: string;
  /** Default 20 s. */
  startTimeoutMs?: number;
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function answers(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`http://${host}/v2/`, { timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

const BLOB_GET = /^\/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})$/;

/** A pass-through HTTP proxy that counts response bytes; in-process, so the counts need no log parsing. */
function countingProxy(target: { port: number }, traffic: RegistryTraffic): Server {
  return createServer((req, res) => {
    const upstream = request(
      { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up: IncomingMessage) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        const blob = req.method === 'GET' && up.statusCode === 200 ? BLOB_GET.exec(req.url ?? '')?.[1] : undefined;
        if (blob !== undefined) traffic.blobGets.set(blob, (traffic.blobGets.get(blob) ?? 0) + 1);
        up.on('data', (chunk: Buffer) => {
          traffic.totalBytes += chunk.length;
          if (blob !== undefined) traffic.blobBytes += chunk.length;
        });
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
}

/**
 * Start Debian's docker-registry on 127.0.0.1 with its own config and storage (plain HTTP, no
 * auth), and a counting proxy in front. The registry listens on a port picked free just before
 * its start: distribution does not report the port of `:0`.
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(options.parent ?? tmpdir(), 'flox-registry-'));
  const traffic: RegistryTraffic = { blobBytes: 0, blobGets: new Map(), totalBytes: 0 };
  let child: ChildProcess | undefined;
  let proxy: Server | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (proxy !== undefined) {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy!.close(resolve));
    }
    const c = child;
    if (c !== undefined && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    // YAML is a superset of JSON: no YAML writer needed.
    await writeFile(join(dir, 'config.yml'), JSON.stringify({
      version: 0.1,
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: join(dir, 'storage') }, delete: { enabled: true } },
      http: { addr: host },
    }));
    const log = await open(join(dir, 'registry.log'), 'a');
    try {
      child = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', log.fd, log.fd] });
    } finally {
      await log.close();
    }
    const spawned = child;
    const spawnError = new Promise<Error>((resolve) => spawned.once('error', resolve));
    const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
    for (;;) {
      const failed = await Promise.race([spawnError, new Promise<undefined>((resolve) => setTimeout(resolve, 50, undefined))]);
      if (failed !== undefined) throw new RegistryStartError(`cannot run ${REGISTRY_BINARY} (apt-get install docker-registry; scripts/bootstrap.sh does): ${failed.message}`, { cause: failed });
      if (spawned.exitCode !== null || spawned.signalCode !== null) {
        const tail = (await readFile(join(dir, 'registry.log'), 'utf8').catch(() => '')).split('\n').slice(-10).join('\n');
        throw new RegistryStartError(`docker-registry on ${host} exited (${spawned.exitCode ?? spawned.signalCode}); log tail:\n${tail}`);
      }
      if (await answers(host)) break;
      if (Date.now() > deadline) throw new RegistryStartError(`docker-registry on ${host} did not answer GET /v2/ within ${options.startTimeoutMs ?? 20_000} ms`);
    }
    const counting = countingProxy({ port }, traffic);
    proxy = counting;
    await new Promise<void>((resolve, reject) => counting.once('error', reject).listen(0, '127.0.0.1', resolve));
    const countedHost = `127.0.0.1:${(counting.address() as AddressInfo).port}`;
    return {
      host,
      countedHost,
      traffic: () => ({ ...traffic, blobGets: new Map(traffic.blobGets) }),
      resetTraffic: () => {
        traffic.blobBytes = 0;
        traffic.totalBytes = 0;
        traffic.blobGets.clear();
      },
      pushOciArchive: (tarball, repository, tag) =>
        withTarballFile(tarball, async (file) => {
          try {
            // --preserve-digests: fail rather than let skopeo recompress a layer, so what is pulled is what was built.
            await run(SKOPEO_BINARY, ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci-archive:${file}`, `docker://${host}/${repository}:${tag}`], {
              timeout: 10 * 60_000,
              maxBuffer: 16 << 20,
            });
          } catch (cause) {
            const stderr = (cause as { stderr?: string }).stderr?.trim() ?? '';
            throw new RegistryPushError(`skopeo copy to ${host}/${repository}:${tag} failed: ${stderr || (cause as Error).message}`, { cause });
          }
        }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
