import { inflateRawSync } from "node:zlib";
import { blockDictionary, compressPayloads, DICTIONARY_CLOUDTRAIL_1 } from "../../journal/index.js";

/**
 * How the PostgreSQL Event history keeps each record (decision 0013, point 12): byte 0 names a
 * preset deflate dictionary (the journal's, block-dictionary.ts, whose ids never change meaning),
 * the rest is raw deflate of the record's UTF-8 JSON. A single record compresses poorly on its own
 * (≈ 57 % of its size); primed with the CloudTrail dictionary it takes ≈ 39 %.
 */
const LEVEL = 6;

/** The bodies of these records, compressed on the journal's compression thread (not the event loop). */
export async function encodeRecordBodies(jsons: readonly string[]): Promise<Buffer[]> {
  if (jsons.length === 0) return [];
  const compressed = await compressPayloads(
    jsons.map((json) => Buffer.from(json, "utf8")),
    LEVEL,
    DICTIONARY_CLOUDTRAIL_1,
  );
  return compressed.map((bytes) => Buffer.concat([Buffer.of(DICTIONARY_CLOUDTRAIL_1), bytes]));
}

/** The record's JSON; throws for a body written with a dictionary this build does not know (a newer build's). */
export function decodeRecordBody(body: Buffer): string {
  const dictionaryId = body[0];
  const dictionary = dictionaryId === undefined ? undefined : blockDictionary(dictionaryId);
  if (dictionary === undefined) throw new Error(`An Event history record uses unknown dictionary ${dictionaryId}.`);
  return inflateRawSync(body.subarray(1), { dictionary }).toString("utf8");
}
