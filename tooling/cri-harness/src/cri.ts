import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CriCallError } from './errors.ts';
import type {
  Container,
  ContainerConfig,
  ContainerFilter,
  ContainerStatus,
  ExecSyncResult,
  Image,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxStatus,
  RuntimeCondition,
  VersionResponse,
} from './cri-types.ts';

export type * from './cri-types.ts';

/** A CRI v1 client with one method per RPC the suites use; every call has a deadline. */
export interface CriClient {
  version(): Promise<VersionResponse>;
  status(): Promise<{ conditions: RuntimeCondition[] }>;
  /** Returns the sandbox id. `runtimeHandler` selects a configured runtime (default runtime when omitted). */
  runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string): Promise<string>;
  stopPodSandbox(podSandboxId: string): Promise<void>;
  removePodSandbox(podSandboxId: string): Promise<void>;
  podSandboxStatus(podSandboxId: string, verbose?: boolean): Promise<{ status: PodSandboxStatus; info: Record<string, string> }>;
  listPodSandbox(filter?: PodSandboxFilter): Promise<PodSandbox[]>;
  /** Returns the container id. */
  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string>;
  startContainer(containerId: string): Promise<void>;
  /** `timeoutSeconds` is the grace period before SIGKILL (0 = kill now). */
  stopContainer(containerId: string, timeoutSeconds?: number): Promise<void>;
  removeContainer(containerId: string): Promise<void>;
  containerStatus(containerId: string, verbose?: boolean): Promise<{ status: ContainerStatus; info: Record<string, string> }>;
  listContainers(filter?: ContainerFilter): Promise<Container[]>;
  /** Runs `cmd` in the container; the deadline is `timeoutSeconds` + 10 s. */
  execSync(containerId: string, cmd: readonly string[], timeoutSeconds?: number): Promise<ExecSyncResult>;
  listImages(): Promise<Image[]>;
  /** `undefined` when the runtime does not have the image. */
  imageStatus(image: string): Promise<Image | undefined>;
  /** Pulls through the runtime (its registry config, proxy and credentials); the image's ref. */
  pullImage(image: string): Promise<string>;
  close(): void;
}

export interface CriClientOptions {
  /**
   * Every call's deadline, as kubelet's runtime-request-timeout is (a CRI deadline test sets a
   * short one). Default: 30 s, and at least 1-2 minutes for the calls that may realise closures
   * through a shim or stop pods (RunPodSandbox, CreateContainer, StartContainer, Stop/RemovePodSandbox).
   */
  deadlineMs?: number;
}

function protoPath(): string {
  // Sources hold the .proto beside this file; a dist/ build reaches back into src/.
  const here = fileURLToPath(new URL('./cri-v1.proto', import.meta.url));
  return existsSync(here) ? here : fileURLToPath(new URL('../../src/harness/cri-v1.proto', import.meta.url));
}

let definition: grpc.GrpcObject | undefined;
function services(): { RuntimeService: grpc.ServiceClientConstructor; ImageService: grpc.ServiceClientConstructor } {
  definition ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(protoPath(), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true }),
  );
  const v1 = (definition['runtime'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
  return {
    RuntimeService: v1['RuntimeService'] as grpc.ServiceClientConstructor,
    ImageService: v1['ImageService'] as grpc.ServiceClientConstructor,
  };
}

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

/** Connect to a CRI runtime (containerd's CRI plugin) on a unix socket. */
export function criClient(socket: string, options: CriClientOptions = {}): CriClient {
  const { RuntimeService, ImageService } = services();
  const address = `unix://${socket}`;
  const credentials = grpc.credentials.createInsecure();
  const channelOptions = { 'grpc.max_receive_message_length': 32 << 20 };
  const runtime = new RuntimeService(address, credentials, channelOptions);
  const images = new ImageService(address, credentials, channelOptions);
  const defaultDeadline = options.deadlineMs ?? 30_000;
  // A deadline the caller chose holds for every call; the floors are only the defaults'.
  const atLeast = (ms: number): number => options.deadlineMs ?? Math.max(defaultDeadline, ms);

  const call = <T>(client: grpc.Client, method: string, request: unknown, deadlineMs = defaultDeadline): Promise<T> =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, Unary>)[method]!.bind(client);
      // waitForReady: a call made while containerd restarts waits for the socket (until the deadline) instead of failing fast.
      fn(request, new grpc.Metadata({ waitForReady: true }), { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err) reject(new CriCallError(method, err.code, err.details || err.message, { cause: err }));
        else resolve(res as T);
      });
    });

  return {
    version: () => call(runtime, 'Version', { version: 'v1' }),
    status: async () => {
      const res = await call<{ status: { conditions: RuntimeCondition[] } | null }>(runtime, 'Status', {});
      return { conditions: res.status?.conditions ?? [] };
    },
    runPodSandbox: async (config, runtimeHandler = '') =>
      (await call<{ pod_sandbox_id: string }>(runtime, 'RunPodSandbox', { config, runtime_handler: runtimeHandler }, atLeast(120_000))).pod_sandbox_id,
    stopPodSandbox: async (id) => {
      await call(runtime, 'StopPodSandbox', { pod_sandbox_id: id }, atLeast(60_000));
    },
    removePodSandbox: async (id) => {
      await call(runtime, 'RemovePodSandbox', { pod_sandbox_id: id }, atLeast(60_000));
    },
    podSandboxStatus: async (id, verbose = false) => {
      const res = await call<{ status: PodSandboxStatus; info: Record<string, string> }>(runtime, 'PodSandboxStatus', { pod_sandbox_id: id, verbose });
      return { status: res.status, info: res.info };
    },
    listPodSandbox: async (filter) => (await call<{ items: PodSandbox[] }>(runtime, 'ListPodSandbox', filter ? { filter } : {})).items,
    createContainer: async (podSandboxId, config, sandboxConfig) =>
      (
        await call<{ container_id: string }>(
          runtime,
          'CreateContainer',
          { pod_sandbox_id: podSandboxId, config, sandbox_config: sandboxConfig },
          atLeast(120_000),
        )
      ).container_id,
    startContainer: async (id) => {
      await call(runtime, 'StartContainer', { container_id: id }, atLeast(60_000));
    },
    stopContainer: async (id, timeoutSeconds = 0) => {
      await call(runtime, 'StopContainer', { container_id: id, timeout: timeoutSeconds }, defaultDeadline + timeoutSeconds * 1000);
    },
    removeContainer: async (id) => {
      await call(runtime, 'RemoveContainer', { container_id: id });
    },
    containerStatus: async (id, verbose = false) => {
      const res = await call<{ status: ContainerStatus; info: Record<string, string> }>(runtime, 'ContainerStatus', { container_id: id, verbose });
      return { status: res.status, info: res.info };
    },
    listContainers: async (filter) => (await call<{ containers: Container[] }>(runtime, 'ListContainers', filter ? { filter } : {})).containers,
    execSync: async (id, cmd, timeoutSeconds = 30) => {
      const res = await call<{ stdout: Buffer; stderr: Buffer; exit_code: number }>(
        runtime,
        'ExecSync',
        { container_id: id, cmd: [...cmd], timeout: timeoutSeconds },
        timeoutSeconds * 1000 + 10_000,
      );
      return { stdout: res.stdout, stderr: res.stderr, exitCode: res.exit_code };
    },
    listImages: async () => (await call<{ images: Image[] }>(images, 'ListImages', {})).images,
    imageStatus: async (image) => (await call<{ image: Image | null }>(images, 'ImageStatus', { image: { image } })).image ?? undefined,
    pullImage: async (image) => (await call<{ image_ref: string }>(images, 'PullImage', { image: { image } })).image_ref,
    close: () => {
      runtime.close();
      images.close();
    },
  };
}
