// The whole webhook, from its config: sources and caches as the nodes have them, the
// policy file, the TLS pair, the HTTPS server. `main.ts` runs it; tests start it in-process.
import { cacheConfigs } from '@flox-k8s/config';
import { sourceReaders } from '@flox-k8s/environments';
import { admit } from './admit.ts';
import type { AdmissionConfig } from './config.ts';
import { EnvironmentLookup } from './environment-lookup.ts';
import { codeOf } from './errors.ts';
import type { Log } from './log.ts';
import { policyFromFile } from './policy-file.ts';
import { SbomSource } from './sbom-source.ts';
import { startAdmissionServer, type AdmissionServer } from './server.ts';
import { loadTlsPair, watchTlsPair } from './tls.ts';

export interface RunningWebhook {
  url: string;
  server: AdmissionServer;
  close(): Promise<void>;
}

/** Start the webhook; throws the config's, policy's or TLS pair's coded error when it cannot serve. */
export async function startWebhook(config: AdmissionConfig, log: Log, options: { timeoutCheckMs?: number } = {}): Promise<RunningWebhook> {
  const readers = sourceReaders(config.sources);
  const lookup = new EnvironmentLookup(readers, { ttlMs: config.limits.resolveCacheSeconds * 1000 });
  const sboms = new SbomSource({
    mode: config.sbomSource,
    readers,
    caches: await cacheConfigs(config),
    trustedKeys: config.trustedKeys,
    maxEntries: config.limits.sbomCacheEntries,
    onPublishedRejected: (reason) => log('warn', 'published SBOM not used', { reason }),
  });
  const policy = policyFromFile(config.policyFile, config.policyReloadSeconds * 1000, {
    loaded: (rules) => log('info', 'SBOM policy loaded', { file: config.policyFile, rules }),
    rejected: (error) => log('error', 'SBOM policy rejected; the previous one stays in force', { file: config.policyFile, code: codeOf(error), error }),
  });
  const tls = loadTlsPair(config.tls.certFile, config.tls.keyFile);
  const deps = { lookup, sboms, policy: () => policy.current(), systems: config.systems, rewriteToDigest: config.rewriteToDigest, reviewTimeoutMs: config.limits.reviewTimeoutMs };
  const server = await startAdmissionServer({
    host: config.listen.host,
    port: config.listen.port,
    tls,
    maxBodyBytes: config.limits.maxBodyBytes,
    requestTimeoutMs: config.limits.requestTimeoutMs,
    ...(options.timeoutCheckMs === undefined ? {} : { timeoutCheckMs: options.timeoutCheckMs }),
    review: (request, mode) => admit(deps, request, mode),
    ready: () => true,
    onReview: (event) => log(event.allowed ? 'info' : 'warn', event.allowed ? 'admitted' : 'denied', event),
    onBadRequest: (event) => log('warn', 'bad request', event),
  });
  const stopTls = watchTlsPair(
    config.tls,
    tls,
    config.tls.reloadIntervalSeconds * 1000,
    (pair) => {
      server.setTls(pair);
      log('info', 'TLS certificate reloaded', { fingerprint: pair.fingerprint });
    },
    (error) => log('error', 'TLS pair not usable; serving the previous one', { code: codeOf(error), error }),
  );
  log('info', 'flox admission webhook serving', { url: server.url, systems: config.systems, rewriteToDigest: config.rewriteToDigest, sources: readers.map((r) => r.label), rules: policy.current().rules });
  return {
    url: server.url,
    server,
    close: async () => {
      stopTls();
      policy.stop();
      await server.close();
      await sboms.close();
    },
  };
}
