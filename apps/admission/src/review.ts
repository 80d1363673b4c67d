// AdmissionReview v1 (admission.k8s.io/v1), as the API server sends it and as it must be
// answered: the same apiVersion and kind, `response.uid` = `request.uid`, and for a
// mutation `patchType: JSONPatch` with the RFC 6902 patch base64-encoded.
import { z } from 'zod';

const groupVersionKind = z.object({ group: z.string().max(253), version: z.string().max(63), kind: z.string().max(253) });

/** The part of `request` the webhook reads; everything else passes unread. */
export const admissionReviewSchema = z.object({
  apiVersion: z.literal('admission.k8s.io/v1'),
  kind: z.literal('AdmissionReview'),
  request: z.object({
    uid: z.string().min(1).max(128),
    kind: groupVersionKind,
    resource: z.object({ group: z.string(), version: z.string(), resource: z.string() }).optional(),
    operation: z.enum(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']),
    namespace: z.string().max(253).optional(),
    name: z.string().max(253).optional(),
    object: z.record(z.string(), z.unknown()).nullish(),
    dryRun: z.boolean().optional(),
  }),
});

export type AdmissionReview = z.output<typeof admissionReviewSchema>;
export type AdmissionRequest = AdmissionReview['request'];

/** One RFC 6902 operation. */
export type JsonPatchOperation = { op: 'replace' | 'add'; path: string; value: unknown };

/** What the webhook decided about one request. */
export type Verdict =
  | { allowed: true; patch?: JsonPatchOperation[]; warnings?: string[] }
  | { allowed: false; code: number; reason: string; message: string };

/** The AdmissionReview answering `uid`. */
export function reviewResponse(uid: string, verdict: Verdict): Record<string, unknown> {
  const response: Record<string, unknown> = { uid, allowed: verdict.allowed };
  if (verdict.allowed) {
    if (verdict.patch !== undefined && verdict.patch.length > 0) {
      response['patchType'] = 'JSONPatch';
      response['patch'] = Buffer.from(JSON.stringify(verdict.patch)).toString('base64');
    }
    if (verdict.warnings !== undefined && verdict.warnings.length > 0) response['warnings'] = verdict.warnings;
  } else {
    response['status'] = { code: verdict.code, reason: verdict.reason, message: verdict.message };
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

/** RFC 6901: a JSON Pointer reference token (`flox.dev/environment` → `flox.dev~1environment`). */
export function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}
