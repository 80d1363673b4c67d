// `metadata.json` of a floxmeta branch, as Flox's generations.rs defines it:
//   v2 (AllGenerationsMetadata): { version: 2, history: [HistorySpec…], total_generations }
//     HistorySpec: { kind, …kind fields, author, hostname, command?, timestamp (seconds),
//                    current_generation: "N", previous_generation?: "M" }   (ids are strings)
//     live generation = the last entry's current_generation; the generations that exist are
//     those created by a non-`switch_generation` entry.
//   v1 (compat::AllGenerationsMetadataV1): { currentGen: "N" | null, generations: { "N": … }, version?: 1 }
// Unknown fields are kept by Flox (WithOtherFields) and ignored here; any other version
// is refused, as Flox refuses it.
import { formatIssues } from '@flox-k8s/core';
import { z } from 'zod';
import { FloxmetaMetadataInvalidError } from './errors.ts';

const generationId = z.string().regex(/^[1-9][0-9]{0,14}$/, 'expected a generation number as a string');

const historySpec = z.looseObject({
  kind: z.string(),
  author: z.string(),
  hostname: z.string(),
  command: z.array(z.string()).nullish(),
  timestamp: z.number().int(),
  current_generation: generationId,
  previous_generation: generationId.nullish(),
});

const metadataV2 = z.looseObject({
  version: z.literal(2),
  history: z.array(historySpec),
  total_generations: z.number().int().min(0),
});

const metadataV1 = z.looseObject({
  version: z.literal(1).optional(),
  currentGen: generationId.nullable(),
  generations: z.record(generationId, z.looseObject({ created: z.number().int(), description: z.string() })),
});

/** What a resolve needs from `metadata.json`. */
export interface GenerationsMetadata {
  /** The live generation; undefined before the first generation. */
  live: number | undefined;
  /** Every generation that exists, newest first. */
  generations: number[];
}

/** Parses `metadata.json` bytes; throws FloxmetaMetadataInvalidError (`FLOXK8S_FLOXMETA_METADATA_INVALID`). */
export function parseGenerationsMetadata(bytes: Uint8Array, where: string): GenerationsMetadata {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new FloxmetaMetadataInvalidError(`${where}: metadata.json is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const version = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as { version?: unknown }).version : undefined;
  if (version === 2) return fromV2(json, where);
  if (version === 1 || version === undefined) return fromV1(json, where);
  throw new FloxmetaMetadataInvalidError(
    `${where}: metadata.json version ${JSON.stringify(version).slice(0, 20)} is not supported (expected 1 or 2, as Flox reads); a newer Flox wrote it, so upgrade flox-k8s`,
  );
}

function fromV2(json: unknown, where: string): GenerationsMetadata {
  const result = metadataV2.safeParse(json);
  if (!result.success) throw new FloxmetaMetadataInvalidError(`${where}: metadata.json (version 2) does not match Flox's schema: ${formatIssues(result.error)}`);
  const created = new Set<number>();
  for (const entry of result.data.history) {
    if (entry.kind !== 'switch_generation') created.add(Number(entry.current_generation));
  }
  const last = result.data.history.at(-1);
  const live = last === undefined ? undefined : Number(last.current_generation);
  if (live !== undefined && !created.has(live)) {
    throw new FloxmetaMetadataInvalidError(`${where}: metadata.json makes generation ${live} live, but no history entry created it`);
  }
  return { live, generations: [...created].sort((a, b) => b - a) };
}

function fromV1(json: unknown, where: string): GenerationsMetadata {
  const result = metadataV1.safeParse(json);
  if (!result.success) throw new FloxmetaMetadataInvalidError(`${where}: metadata.json (version 1) does not match Flox's schema: ${formatIssues(result.error)}`);
  const generations = Object.keys(result.data.generations).map(Number).sort((a, b) => b - a);
  const live = result.data.currentGen === null ? undefined : Number(result.data.currentGen);
  if (live !== undefined && !generations.includes(live)) {
    throw new FloxmetaMetadataInvalidError(`${where}: metadata.json (version 1) makes generation ${live} current, but lists no such generation`);
  }
  return { live, generations };
}
