/**
 * Which account owns each bucket (docs/reference/security.md, "Account isolation"). A bucket belongs
 * to one account: the first to use it (a trail delivering to it, an import reading it, query results
 * saved to it). Trails, imports, saved query results and the read-only S3 endpoint ask this store before
 * they touch a bucket, on the embedded store and on an external S3 endpoint alike, so no account reads
 * or writes another's. test/contract/bucket-owners.suite.ts is the contract, run per backend.
 */
export interface BucketOwnerStore {
  /** The account that owns `bucket`, or undefined while no account has claimed it. */
  ownerOf(bucket: string): Promise<string | undefined>;
  /**
   * Makes `accountId` the owner of `bucket` unless an account owns it already, durably once resolved,
   * and resolves to the owner afterwards: `accountId` when it won or owned the bucket before, the other
   * account otherwise. Of several accounts claiming one bucket at once, through this instance or any
   * other open on the same data, exactly one wins and every claim resolves to that one. An owner never
   * changes.
   */
  claim(bucket: string, accountId: string): Promise<string>;
  /** The buckets `accountId` owns, in byte order. */
  list(accountId: string): Promise<string[]>;
  /** Releases the store's resources; closing again does nothing. Every other method rejects once closed. */
  close(): Promise<void>;
}

const ACCOUNT_ID = /^\d{12}$/;

/** Throws on an account id that is not 12 digits: a caller bug, never an input to store. */
export function assertAccountId(accountId: string): void {
  if (!ACCOUNT_ID.test(accountId)) throw new Error(`Not an account id: ${JSON.stringify(accountId)}.`);
}
