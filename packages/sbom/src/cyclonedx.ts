// CycloneDX 1.6 JSON, built and serialised by the CycloneDX library. Store-path
// facts use the `nix` property taxonomy registered with CycloneDX and documented
// in the Nixpkgs manual (section "nix Namespace Property Taxonomy"); facts about
// the Flox environment use `flox:`.
import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import type { EnvironmentSbom, SbomComponent } from './environment-sbom.ts';
import { SBOM_TOOL } from './tool.ts';

/** CycloneDX 1.6 JSON of the SBOM: two-space indented, lists sorted, with a final newline. */
export function cycloneDxJson(sbom: EnvironmentSbom): string {
  const bom = new Models.Bom({ serialNumber: sbom.serialNumber, version: 1 });
  bom.metadata.timestamp = sbom.timestamp;
  const [group, name] = splitToolName(SBOM_TOOL.name);
  bom.metadata.tools.components.add(new Models.Component(Enums.ComponentType.Application, name, { group, version: SBOM_TOOL.version }));

  const env = sbom.environment;
  const root = new Models.Component(Enums.ComponentType.Application, env.name, {
    bomRef: env.ref,
    group: env.owner,
    version: env.generation === undefined ? undefined : String(env.generation),
    description: `Flox environment ${env.owner}/${env.name} on ${env.system}`,
  });
  root.hashes.set(Enums.HashAlgorithm['SHA-256'], env.lockfileDigest);
  root.properties.add(new Models.Property('flox:lockfile_digest', `sha256:${env.lockfileDigest}`));
  root.properties.add(new Models.Property('flox:system', env.system));
  bom.metadata.component = root;

  const refs = new Map<string, Models.Component>();
  for (const c of sbom.components) {
    const model = componentModel(c);
    refs.set(c.storePath, model);
    bom.components.add(model);
  }
  for (const c of sbom.components) {
    const model = refs.get(c.storePath)!;
    for (const dep of c.dependsOn) model.dependencies.add(refs.get(dep)!.bomRef);
  }
  for (const storePath of sbom.installed) root.dependencies.add(refs.get(storePath)!.bomRef);

  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(Spec.Spec1dot6));
  return `${serializer.serialize(bom, { sortLists: true, space: 2 })}\n`;
}

function componentModel(c: SbomComponent): Models.Component {
  const model = new Models.Component(Enums.ComponentType.Library, c.name, {
    bomRef: c.storePath,
    version: c.version === '' ? undefined : c.version,
    purl: c.purl,
    description: c.description,
  });
  model.hashes.set(Enums.HashAlgorithm['SHA-256'], c.narHashHex);
  for (const license of c.licenses) {
    model.licenses.add(license.kind === 'spdx' ? new Models.SpdxLicense(license.id) : new Models.NamedLicense(license.name));
  }
  const property = (key: string, value: string): void => void model.properties.add(new Models.Property(key, value));
  property('nix:store_path', c.storePath);
  property('nix:narinfo:nar_hash', c.narHash);
  property('nix:narinfo:nar_size', String(c.narSize));
  // The taxonomy's "whitespace-separated array of store paths", as the narinfo lists them (itself included).
  property('nix:narinfo:references', c.references.join(' '));
  if (c.deriver !== undefined) property('nix:narinfo:deriver', c.deriver);
  for (const sig of c.sigs) property('nix:narinfo:sig', sig);
  if (c.ca !== undefined) property('nix:narinfo:ca', c.ca);
  if (c.system !== undefined) property('nix:narinfo:system', c.system);
  return model;
}

function splitToolName(name: string): [string | undefined, string] {
  const slash = name.indexOf('/');
  return slash === -1 ? [undefined, name] : [name.slice(0, slash), name.slice(slash + 1)];
}
