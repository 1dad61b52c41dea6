import { gzipSync } from "node:zlib";
import type { Clock } from "../../lib/clock.js";
import type { ObjectStore } from "../../stores/objects/index.js";
import type { DeliveryState, DigestChain, PendingDigest, TrailConfig, TrailStore } from "../../stores/trails/index.js";
import {
  buildDigestDocument,
  digestStringToSign,
  sha256Hex,
  HASH_ALGORITHM,
  type DigestLogFileEntry,
} from "../../model/digest-format.js";
import type { SigningKeyStore } from "../../stores/signing-keys/index.js";
import { SIGNATURE_ALGORITHM } from "../../model/digest-format.js";
import { TRAIL_OBJECT_CONTENT_ENCODING, TRAIL_OBJECT_CONTENT_TYPE } from "./log-file.js";
import { digestKey, type KeyScope } from "../../model/trail-object-key.js";

export interface DigestContext {
  readonly trail: TrailConfig;
  readonly state: DeliveryState;
  readonly objectStore: Pick<ObjectStore, "putObject">;
  readonly trails: TrailStore;
  readonly keys: SigningKeyStore;
  readonly clock: Clock;
  readonly digestIntervalMs: number;
  keyScope(accountId: string): KeyScope;
  save(): Promise<void>;
}

/**
 * Digest files (spec §3): per trail, account and region, one every `digestIntervalMs`, empty when no
 * file was delivered. A digest is signed and saved as pending (with the chain already advanced to
 * it) before its put, so a crash re-puts the identical bytes and the chain never forks.
 *
 * `force` closes every chain now (final digest at StopLogging); `redoOnly` only re-puts pending
 * digests (recovery after a restart). Rejects when a put fails; the digest stays pending.
 */
export async function emitDigests(
  context: DigestContext,
  options: { force: boolean; redoOnly: boolean },
): Promise<void> {
  const { state, trail } = context;
  await putPending(context);
  if (options.redoOnly) return;
  if (!trail.logFileValidationEnabled) {
    // Turning validation off breaks the chain (spec §3.2); files delivered meanwhile are never digested.
    if (state.chains.length > 0 || state.undigested.length > 0) {
      state.chains = [];
      state.undigested = [];
      await context.save();
    }
    return;
  }
  const nowMs = context.clock.nowMs();
  const endMs = Math.floor(nowMs / 1000) * 1000;
  const epoch = trail.startLoggingTimeMs ?? trail.createdAtMs;
  let opened = openChain(state, trail.accountId, trail.homeRegion, epoch, endMs);
  for (const file of state.undigested) opened = openChain(state, file.accountId, file.region, epoch, endMs) || opened;
  let planned = false;
  for (const chain of state.chains) {
    const age = endMs - chain.nextStartMs;
    if (!options.force && age < context.digestIntervalMs) continue;
    // Keys carry the end time to the second: a chain never ends two digests in the same second. The final
    // digest (force) is never skipped for that: it waits for the next second instead.
    const chainEndMs = Math.max(endMs, chain.nextStartMs + 1000);
    if (chainEndMs > nowMs) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, chainEndMs - nowMs)));
    state.pendingDigests.push(await signDigest(context, chain, chainEndMs));
    planned = true;
  }
  // A chain's start is kept even before its first digest, so restarts do not keep postponing that digest.
  if (!planned && !opened) return;
  await context.save();
  if (planned) await putPending(context);
}

/**
 * Creates the chain on first need; a new logging session (epoch) starts a new chain with no previous.
 * True when the state changed (and must be saved).
 */
function openChain(state: DeliveryState, accountId: string, region: string, epoch: number, nowMs: number): boolean {
  const chain = state.chains.find((c) => c.accountId === accountId && c.region === region);
  if (chain === undefined) {
    state.chains.push({ accountId, region, epoch, nextStartMs: nowMs, previous: null });
    return true;
  }
  if (chain.epoch !== epoch) {
    chain.epoch = epoch;
    chain.previous = null;
    chain.nextStartMs = Math.max(chain.nextStartMs, Math.min(nowMs, Math.floor(epoch / 1000) * 1000));
    return true;
  }
  return false;
}

async function signDigest(context: DigestContext, chain: DigestChain, endMs: number): Promise<PendingDigest> {
  const { state, trail } = context;
  const bucket = trail.s3BucketName;
  const key = digestKey(context.keyScope(chain.accountId), {
    region: chain.region,
    trailName: trail.name,
    homeRegion: trail.homeRegion,
    digestEndMs: endMs,
  });
  const mine = (f: { accountId: string; region: string }) =>
    f.accountId === chain.accountId && f.region === chain.region;
  const logFiles: DigestLogFileEntry[] = state.undigested.filter(mine).map((f) => ({
    s3Bucket: f.bucket,
    s3Object: f.key,
    hashValue: f.hashValue,
    hashAlgorithm: HASH_ALGORITHM,
    newestEventTime: f.newestEventTime,
    oldestEventTime: f.oldestEventTime,
  }));
  const signingKey = await context.keys.signingKey(chain.region);
  const document = buildDigestDocument({
    accountId: chain.accountId,
    startMs: chain.nextStartMs,
    endMs,
    bucket,
    key,
    fingerprint: signingKey.fingerprint,
    previous: chain.previous,
    logFiles,
  });
  const json = JSON.stringify(document);
  const bytes = Buffer.from(json, "utf8");
  const signature = signingKey.signHex(digestStringToSign(document, bytes));
  state.undigested = state.undigested.filter((f) => !mine(f));
  chain.previous = { bucket, key, hashValue: sha256Hex(bytes), signature };
  chain.nextStartMs = endMs;
  return { bucket, key, json, signature };
}

async function putPending(context: DigestContext): Promise<void> {
  const { state } = context;
  while (state.pendingDigests.length > 0) {
    const digest = state.pendingDigests[0]!;
    try {
      await context.objectStore.putObject(digest.bucket, digest.key, gzipSync(Buffer.from(digest.json, "utf8")), {
        contentType: TRAIL_OBJECT_CONTENT_TYPE,
        contentEncoding: TRAIL_OBJECT_CONTENT_ENCODING,
        metadata: { signature: digest.signature, "signature-algorithm": SIGNATURE_ALGORITHM },
      });
    } catch (error) {
      await context.trails.updateStatus(context.trail.trailArn, {
        latestDigestDeliveryError: error instanceof Error ? error.message : String(error),
      });
      throw new DigestDeliveryError(error);
    }
    state.pendingDigests.shift();
    await context.save();
    await context.trails.updateStatus(context.trail.trailArn, {
      latestDigestDeliveryTimeMs: context.clock.nowMs(),
      latestDigestDeliveryError: undefined,
    });
  }
}

/** A digest put failed; its status is already recorded (latestDigestDeliveryError). */
export class DigestDeliveryError extends Error {
  override readonly name = "DigestDeliveryError";
  constructor(cause: unknown) {
    super(`Digest delivery failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
