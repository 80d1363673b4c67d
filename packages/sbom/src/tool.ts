// The SBOM names the tool that made it. A constant, not a read of package.json at run
// time: apps bundle this package (esbuild), where no package.json sits beside the code.
// tool.test.ts fails when a release bumps package.json without this.

/** `@flox-k8s/sbom` and its version. */
export const SBOM_TOOL: { readonly name: string; readonly version: string } = { name: '@flox-k8s/sbom', version: '0.0.0' };
