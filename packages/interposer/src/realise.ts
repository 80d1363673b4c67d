import { RealiseTally, type Store } from '@flox-k8s/store';
import { AgentUnavailableError, RealiseFailedError, realiseViaAgent } from '@flox-k8s/agent-protocol';
import { cacheConfigs, type ShimConfig } from '@flox-k8s/config';
import { errorCode } from '@flox-k8s/core';
import type { Logger } from './log.ts';
import { progressLogger } from './realise-progress.ts';

export interface RealiseOutcome {
  closure: string[];
  via: 'agent' | 'in-process';
  fetched: number;
}

/**
 * Realises the closure of `storePaths`: through the node agent when its socket
 * answers (it owns downloads, single-flight and GC), else in this process with
 * `@flox-k8s/store` (same store root, same atomic rules).
 */
export async function realiseClosure(
  store: Store,
  config: ShimConfig,
  request: { storePaths: string[]; environment: string; digest: string },
  log: Logger,
  signal: AbortSignal,
): Promise<RealiseOutcome> {
  const viaAgent = progressLogger(log, 'agent');
  try {
    const done = await realiseViaAgent(config.agentSocket, request, {
      connectTimeoutMs: config.agentConnectTimeoutMs,
      signal,
      onProgress: (e) => {
        if (e.pathsTotal !== undefined && e.pathsDone !== undefined) {
          viaAgent.report({ pathsDone: e.pathsDone, pathsTotal: e.pathsTotal, narBytesDone: e.narBytesDone ?? 0, narBytesTotal: e.narBytesTotal ?? 0 });
        }
      },
    });
    viaAgent.done();
    if (done.storeRoot !== undefined && done.storeRoot !== config.storeRoot) {
      throw new RealiseFailedError(`node agent realised into ${done.storeRoot}, but the shim's storeRoot is ${config.storeRoot}; make both configs agree`);
    }
    return { closure: done.closure, via: 'agent', fetched: done.fetched.length };
  } catch (error) {
    if (!(error instanceof AgentUnavailableError)) throw error;
    log.log('debug', 'node agent unavailable; realising in-process', { reason: error.message });
  }
  const tally = new RealiseTally();
  const inProcess = progressLogger(log, 'in-process');
  try {
    const result = await store.realise(request.storePaths, {
      caches: await cacheConfigs(config),
      trustedKeys: config.trustedKeys,
      signal,
      onProgress: (e) => inProcess.report(tally.update(e)),
    });
    inProcess.done();
    return { closure: result.closure, via: 'in-process', fetched: result.fetched.length };
  } catch (error) {
    const code = errorCode(error);
    throw new RealiseFailedError(`realising the closure failed: ${(error as Error).message}`, {
      cause: error,
      ...(code === undefined ? {} : { code }),
    });
  }
}
