// Validators for the two SBOM formats, used by the tests only.
// - CycloneDX: the CycloneDX library's own strict JSON validator (it bundles the
//   1.6 schema and needs the optional peers ajv, ajv-formats, ajv-formats-draft2019).
// - SPDX 2.3: the published JSON schema (vendored, see fixtures/spdx-2.3/SOURCE.md)
//   with ajv, plus the rules of the specification the schema does not encode
//   (SPDX id syntax and uniqueness, relationship ends, licence references, dates).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { Ajv } from 'ajv';

const SCHEMA_FILE = new URL('./fixtures/spdx-2.3/spdx-schema.json', import.meta.url);
const SCHEMA_SHA256 = '239208b7ac287b3cf5d9a9af23f9d69863971102a5e1587a27a398b43490b89b';

const cycloneDxValidator = new Validation.JsonStrictValidator(Spec.Version.v1dot6);

/** Problems the CycloneDX library's strict 1.6 validator finds, or `[]`. */
export async function cycloneDxProblems(json: string): Promise<string[]> {
  const errors = await cycloneDxValidator.validate(json);
  if (errors === null) return [];
  return (errors as Array<{ instancePath?: string; message?: string }>).map((e) => `${e.instancePath ?? ''}: ${e.message ?? JSON.stringify(e)}`);
}

let spdxValidate: ReturnType<Ajv['compile']> | undefined;

function spdxSchemaValidator(): ReturnType<Ajv['compile']> {
  if (spdxValidate !== undefined) return spdxValidate;
  const bytes = readFileSync(SCHEMA_FILE);
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== SCHEMA_SHA256) throw new Error(`vendored SPDX schema changed: sha256 ${digest}`);
  const schema = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  // The published schema is draft-07 and uses only keywords ajv knows; strict mode stays on.
  spdxValidate = new Ajv({ allErrors: true }).compile(schema);
  return spdxValidate;
}

const SPDX_ID = /^SPDXRef-[A-Za-z0-9.-]+$/;
const LICENSE_REF = /^LicenseRef-[A-Za-z0-9.-]+$/;
const SPDX_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

interface SpdxDocument {
  SPDXID: string;
  documentNamespace?: string;
  creationInfo: { created: string };
  packages?: Array<{ SPDXID: string; licenseDeclared?: string; checksums?: Array<{ algorithm: string; checksumValue: string }> }>;
  relationships?: Array<{ spdxElementId: string; relatedSpdxElement: string }>;
  hasExtractedLicensingInfos?: Array<{ licenseId: string }>;
}

/** Problems with an SPDX 2.3 JSON document: schema errors first, then specification rules; `[]` when valid. */
export function spdxProblems(json: string): string[] {
  const validate = spdxSchemaValidator();
  const doc = JSON.parse(json) as SpdxDocument;
  if (!validate(doc)) return (validate.errors ?? []).map((e) => `${e.instancePath}: ${e.message ?? e.keyword}`);
  const problems: string[] = [];
  if (!SPDX_DATE.test(doc.creationInfo.created)) problems.push(`created ${doc.creationInfo.created} is not YYYY-MM-DDThh:mm:ssZ`);
  if (doc.documentNamespace === undefined || doc.documentNamespace.includes('#') || !URL.canParse(doc.documentNamespace)) {
    problems.push(`documentNamespace ${String(doc.documentNamespace)} is not a URI without "#"`);
  }
  const ids = new Set<string>(['SPDXRef-DOCUMENT']);
  for (const p of doc.packages ?? []) {
    if (!SPDX_ID.test(p.SPDXID)) problems.push(`SPDXID ${p.SPDXID} has characters outside [A-Za-z0-9.-]`);
    if (ids.has(p.SPDXID)) problems.push(`SPDXID ${p.SPDXID} is used twice`);
    ids.add(p.SPDXID);
    for (const c of p.checksums ?? []) if (c.algorithm === 'SHA256' && !/^[0-9a-f]{64}$/.test(c.checksumValue)) problems.push(`${p.SPDXID}: bad SHA256 ${c.checksumValue}`);
  }
  for (const r of doc.relationships ?? []) {
    for (const end of [r.spdxElementId, r.relatedSpdxElement]) if (!ids.has(end)) problems.push(`relationship names unknown element ${end}`);
  }
  const refs = new Set((doc.hasExtractedLicensingInfos ?? []).map((i) => i.licenseId));
  for (const id of refs) if (!LICENSE_REF.test(id)) problems.push(`licenseId ${id} is not LicenseRef-[A-Za-z0-9.-]+`);
  for (const p of doc.packages ?? []) {
    for (const term of (p.licenseDeclared ?? 'NOASSERTION').split(/ AND | OR /)) {
      if (term.startsWith('LicenseRef-') && !refs.has(term)) problems.push(`${p.SPDXID}: ${term} has no hasExtractedLicensingInfos entry`);
    }
  }
  return problems;
}
