/**
 * The programs a layout is made of, as their sources: the shim app's sh templates
 * (`@NAME@` placeholders) and interposer entry points. The layout writer fills in and
 * bundles them; it has no programs of its own.
 */
export interface ShimPrograms {
  /** sh template of `bin/containerd-shim-flox-v2`. */
  launcher: string;
  /** sh template of `libexec/flox-k8s/runc`. */
  front: string;
  /** The interposer's ESM entry module, bundled into `lib/runc-interposer.mjs`. */
  interposer: string;
  /**
   * The NAR fetch worker's entry module (it calls `@flox-k8s/store/fetch-worker`'s
   * `runFetchWorker`), bundled into `lib/fetch-worker.mjs` beside the interposer, whose
   * in-process realises start it by URL.
   */
  fetchWorker: string;
  /** A directory holding a prebuilt bundle (`runc-interposer.mjs` and its chunks), if one was built. */
  prebuilt?: string;
}
