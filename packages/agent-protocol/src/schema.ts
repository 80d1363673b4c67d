import { z } from 'zod';

/** HTTP path of the realise call on the agent's unix socket. */
export const REALISE_PATH = '/v1/realise';
/** Content type of the streamed answer: one JSON object per line. */
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

const storePath: z.ZodString = z.string().regex(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]+$/, 'expected a /nix/store path');

/** Body of `POST /v1/realise`. */
export interface RealiseRequest {
  /** Store paths the environment installs; the agent realises their closure. */
  storePaths: string[];
  /** The environment reference as written in the annotation (for logs and events). */
  environment: string;
  /** sha256 of the lockfile bytes (64 lowercase hex). */
  digest: string;
}

/** Validates a {@link RealiseRequest}. */
export const realiseRequestSchema: z.ZodType<RealiseRequest> = z.strictObject({
  /** Store paths the environment installs; the agent realises their closure. */
  storePaths: z.array(storePath).min(1).max(100_000),
  /** The environment reference as written in the annotation (for logs and events). */
  environment: z.string().min(1).max(512),
  /** sha256 of the lockfile bytes (64 lowercase hex). */
  digest: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex'),
});

/** A progress line: what is happening (free text, for logs). Unknown keys are kept. */
export interface RealiseProgress {
  type: 'progress';
  phase?: string | undefined;
  storePath?: string | undefined;
  bytes?: number | undefined;
  totalBytes?: number | undefined;
  /** The whole realise so far: paths done of those missing when it started, and NAR bytes unpacked. */
  pathsDone?: number | undefined;
  pathsTotal?: number | undefined;
  narBytesDone?: number | undefined;
  narBytesTotal?: number | undefined;
  [key: string]: unknown;
}

/** The final line of a realise that worked. Unknown keys are kept. */
export interface RealiseDone {
  type: 'done';
  /** Full closure, sorted; every path is present in the agent's store. */
  closure: string[];
  fetched: string[];
  present: string[];
  /** The agent's store root; must be the one the shim is configured with. */
  storeRoot?: string | undefined;
  [key: string]: unknown;
}

/** The final line of a realise that failed: a flox-k8s error code and a message. */
export interface RealiseErrorEvent {
  type: 'error';
  code: string;
  message: string;
  [key: string]: unknown;
}

const progressEvent: z.ZodType<RealiseProgress> = z.looseObject({
  type: z.literal('progress'),
  /** What is happening: resolve, fetch, unpack, verify, … (free text, for logs). */
  phase: z.string().max(64).optional(),
  storePath: z.string().max(512).optional(),
  bytes: z.number().nonnegative().optional(),
  totalBytes: z.number().nonnegative().optional(),
  pathsDone: z.number().int().nonnegative().optional(),
  pathsTotal: z.number().int().nonnegative().optional(),
  narBytesDone: z.number().nonnegative().optional(),
  narBytesTotal: z.number().nonnegative().optional(),
});

const doneEvent: z.ZodType<RealiseDone> = z.looseObject({
  type: z.literal('done'),
  /** Full closure, sorted; every path is present in the agent's store. */
  closure: z.array(storePath),
  fetched: z.array(storePath).default([]),
  present: z.array(storePath).default([]),
  /** The agent's store root; must be the one the shim is configured with. */
  storeRoot: z.string().startsWith('/').optional(),
});

const errorEvent: z.ZodType<RealiseErrorEvent> = z.looseObject({
  type: z.literal('error'),
  /** A flox-k8s error code such as FLOXK8S_NAR_HASH_MISMATCH. */
  code: z.string().min(1).max(128),
  message: z.string().max(4096),
});

/** One NDJSON line of the answer: progress lines, then exactly one `done` or `error` line. */
export type RealiseEvent = RealiseProgress | RealiseDone | RealiseErrorEvent;

/** Validates one {@link RealiseEvent} line. */
export const realiseEventSchema: z.ZodType<RealiseEvent> = z.union([progressEvent, doneEvent, errorEvent]);

/** Serialises one event as an NDJSON line (for the agent's server side). */
export function formatRealiseEvent(event: RealiseEvent): string {
  return `${JSON.stringify(event)}\n`;
}
