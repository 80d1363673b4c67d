// The SBOM names the tool that made it. The version comes from this package's
// package.json (one level up from both src/ and dist/), so a release bump
// reaches the documents without a second copy of the number.
import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json') as { name: string; version: string };

/** `@flox-k8s/sbom` and its version. */
export const SBOM_TOOL: { readonly name: string; readonly version: string } = { name: pkg.name, version: pkg.version };
