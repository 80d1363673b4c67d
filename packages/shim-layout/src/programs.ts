/**
 * The programs a layout is made of, as their sources: the shim app's sh templates
 * (`@NAME@` placeholders) and interposer entry points. The layout writer fills in and
 * bundles them; it has no programs of its own.
 */
export interface ShimPrograms {
  /** sh template of `bin/containerd-shim-flox-v2`. */
  launcher: string;
  /** sh template of the runc front: `libexec/flox-k8s/runc`, or `runc.sh` beside a compiled front. */
  front: string;
  /**
   * C source of the compiled runc front (`libexec/flox-k8s/runc`; it execs the sh front for every
   * case but the warm hand-off and plain runc calls). Compiled when the prebuilt bundle has no
   * `runc-front`; without either, the sh front serves alone.
   */
  frontSource?: string;
  /** The interposer's ESM entry module, bundled into `lib/runc-interposer.mjs`. */
  interposer: string;
  /**
   * The NAR fetch worker's entry module (it calls `@flox-k8s/store/fetch-worker`'s
   * `runFetchWorker`), bundled into `lib/fetch-worker.mjs` beside the interposer, whose
   * in-process realises start it by URL.
   */
  fetchWorker: string;
  /** A directory holding a prebuilt bundle (`runc-interposer.mjs` and its chunks, `runc-front`), if one was built. */
  prebuilt?: string;
}
