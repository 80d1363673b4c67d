import { Gauge, type Registry } from 'prom-client';

/** `flox_agent_realise_bytes_outstanding`: NAR bytes the running realises still have to fetch, read at scrape time. */
export function registerBytesOutstanding(registry: Registry, read: () => number): Gauge {
  return new Gauge({
    name: 'flox_agent_realise_bytes_outstanding',
    help: 'NAR bytes (uncompressed) the running realises still have to fetch.',
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** `flox_agent_store_view_mounts`: host mounts the mounted store views hold now (bounded by `storeViewMounts.maxMounts`), read at scrape time. */
export function registerStoreViewMounts(registry: Registry, read: () => number): Gauge {
  return new Gauge({
    name: 'flox_agent_store_view_mounts',
    help: 'Host mounts held by mounted store views (bounded by storeViewMounts.maxMounts).',
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
