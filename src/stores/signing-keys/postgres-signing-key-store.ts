import type { MasterKey } from "../../lib/secret-envelope.js";
import { migrate, safeInteger, type Migration, type PostgresDatabase, type Queryable } from "../postgres/index.js";
import {
  assertRegionName,
  DAY_MS,
  generateSealedKeyPair,
  KEY_ROTATE_BEFORE_DAYS_DEFAULT,
  KEY_VALIDITY_DAYS_DEFAULT,
  openSealedPrivateKey,
  openSealedSigningKey,
  sealPrivateKey,
  type OpenedSigningKey,
  type PublicKeyInfo,
  type SigningKey,
  type SigningKeyStore,
  type SigningKeyStoreOptions,
} from "./signing-keys.js";
import { KeyedQueue } from "../../lib/keyed-queue.js";

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "digest signing keys",
    // `generation` numbers a region's keys 1, 2, 3…: a node that finds the current key near expiry
    // inserts generation + 1, so two nodes doing so at once collide on the primary key and one key
    // wins. The private key is sealed with the master key; the CHECK refuses anything else.
    sql: `CREATE TABLE cairn_signing_keys (
            region             TEXT COLLATE "C" NOT NULL,
            generation         INTEGER NOT NULL CHECK (generation >= 1),
            fingerprint        TEXT COLLATE "C" NOT NULL,
            validity_start_ms  BIGINT NOT NULL,
            validity_end_ms    BIGINT NOT NULL,
            public_key_der     BYTEA NOT NULL,
            private_key_sealed TEXT NOT NULL CHECK (private_key_sealed LIKE 'v1:%'),
            PRIMARY KEY (region, generation),
            UNIQUE (region, fingerprint)
          )`,
  },
];

interface KeyRow {
  region: string;
  generation: number;
  fingerprint: string;
  validity_start_ms: string;
  validity_end_ms: string;
  public_key_der: Buffer;
  private_key_sealed: string;
}

const COLUMNS =
  "region, generation, fingerprint, validity_start_ms, validity_end_ms, public_key_der, private_key_sealed";

export type PostgresSigningKeyStoreOptions = Omit<SigningKeyStoreOptions, "dataDir">;

/**
 * Opens (migrating) the cluster signing keys on `db`: every node signs with, and lists, the same
 * keys. The private keys are sealed with the master key all nodes share; opening fails when one
 * does not open with it (at the start, not at the first digest). Nothing is ever deleted: old
 * digests must stay verifiable. The store has nothing to close: `db` belongs to its owner.
 *
 * @example const keys = await openPostgresSigningKeyStore(db, { clock, masterKey });
 */
export async function openPostgresSigningKeyStore(
  db: PostgresDatabase,
  options: PostgresSigningKeyStoreOptions,
): Promise<SigningKeyStore> {
  await migrate(db, "signing-keys", MIGRATIONS);
  const store = new PostgresSigningKeyStore(db, options);
  await store.openEveryKey();
  return store;
}

class PostgresSigningKeyStore implements SigningKeyStore {
  /** Opened keys by region and fingerprint: opening and parsing a private key is not free, and a key never changes. */
  private readonly opened = new Map<string, SigningKey>();
  /** Per region, so the signers of one node wait for one key instead of each generating one. */
  /** One region's key creation at a time in this process. */
  private readonly regions = new KeyedQueue();
  private readonly validityMs: number;
  private readonly rotateBeforeMs: number;

  constructor(
    private readonly db: PostgresDatabase,
    private readonly options: PostgresSigningKeyStoreOptions,
  ) {
    this.validityMs = (options.validityDays ?? KEY_VALIDITY_DAYS_DEFAULT) * DAY_MS;
    this.rotateBeforeMs = (options.rotateBeforeDays ?? KEY_ROTATE_BEFORE_DAYS_DEFAULT) * DAY_MS;
  }

  async openEveryKey(): Promise<void> {
    for (const row of await this.db.query<KeyRow>(`SELECT ${COLUMNS} FROM cairn_signing_keys`)) this.keyOf(row);
  }

  /**
   * The region's newest key when it is valid now with time to spare; else this node proposes the
   * next generation and signs with whichever proposal the database kept (another node's, when it
   * was first), so a region never has two current keys.
   */
  async signingKey(region: string): Promise<SigningKey> {
    assertRegionName(region);
    return this.regions.run(region, async () => {
      const now = this.options.clock.nowMs();
      const newest = await this.newest(region);
      if (newest !== undefined && this.current(newest, now)) return this.keyOf(newest);
      const generation = (newest?.generation ?? 0) + 1;
      await this.propose(region, generation, now);
      const [kept] = await this.db.query<KeyRow>(
        `SELECT ${COLUMNS} FROM cairn_signing_keys WHERE region = $1 AND generation = $2`,
        [region, generation],
      );
      if (kept === undefined) throw new Error(`Signing key ${region} generation ${generation} vanished.`);
      return this.keyOf(kept);
    });
  }

  async publicKeys(region: string, startMs: number, endMs: number): Promise<PublicKeyInfo[]> {
    if (Number.isNaN(startMs) || Number.isNaN(endMs)) throw new RangeError("A key range is two numbers.");
    // Validity bounds are whole milliseconds: rounding the range inwards keeps exactly the keys that
    // overlap it, and clamping keeps a far-off bound (a request's year 9999, Infinity) inside BIGINT.
    const rows = await this.db.query<KeyRow>(
      `SELECT ${COLUMNS} FROM cairn_signing_keys
       WHERE region = $1 AND validity_start_ms <= $3 AND validity_end_ms >= $2
       ORDER BY validity_start_ms, generation`,
      [region, Math.ceil(clampMs(startMs)), Math.floor(clampMs(endMs))],
    );
    return rows.map(publicInfoOf);
  }

  private async newest(region: string): Promise<KeyRow | undefined> {
    const [row] = await this.db.query<KeyRow>(
      `SELECT ${COLUMNS} FROM cairn_signing_keys WHERE region = $1 ORDER BY generation DESC LIMIT 1`,
      [region],
    );
    return row;
  }

  private current(row: KeyRow, now: number): boolean {
    const { validityStartMs, validityEndMs } = publicInfoOf(row);
    return validityStartMs <= now && now < validityEndMs && validityEndMs - now >= this.rotateBeforeMs;
  }

  /** Inserts a new key as `generation` unless another node already did. */
  private async propose(region: string, generation: number, nowMs: number): Promise<void> {
    const { fingerprint, publicKeyDer, privateKeySealed } = generateSealedKeyPair(region, this.options.masterKey);
    await this.db.query(
      `INSERT INTO cairn_signing_keys (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (region, generation) DO NOTHING`,
      [region, generation, fingerprint, nowMs, nowMs + this.validityMs, publicKeyDer, privateKeySealed],
    );
  }

  private keyOf(row: KeyRow): SigningKey {
    const id = `${row.region} ${row.fingerprint}`;
    let key = this.opened.get(id);
    if (key === undefined) {
      const where = `PostgreSQL at ${this.db.label}: ${row.region} key ${row.fingerprint}`;
      key = openSealedSigningKey(publicInfoOf(row), row.private_key_sealed, this.options.masterKey, where);
      this.opened.set(id, key);
    }
    return key;
  }
}

function clampMs(ms: number): number {
  return Math.min(Math.max(ms, -Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
}

function publicInfoOf(row: KeyRow): PublicKeyInfo {
  return {
    region: row.region,
    fingerprint: row.fingerprint,
    validityStartMs: safeInteger(row.validity_start_ms, "a key's validity start"),
    validityEndMs: safeInteger(row.validity_end_ms, "a key's validity end"),
    publicKeyDer: Buffer.from(row.public_key_der),
  };
}

/**
 * A cluster master key rotation's step for the signing keys, inside the caller's transaction `tx`:
 * the table is locked against writes (reads go on) and every private key is opened with any of
 * `from` (SigningKeySecretsError when none opens it) and sealed with `to`. Resolves how many keys
 * were re-sealed; none when no node ever created the table.
 */
export async function resealPostgresSigningKeys(
  tx: Queryable,
  from: readonly MasterKey[],
  to: MasterKey,
): Promise<number> {
  const [table] = await tx.query<{ found: boolean }>("SELECT to_regclass('cairn_signing_keys') IS NOT NULL AS found");
  if (table?.found !== true) return 0;
  await tx.query("LOCK TABLE cairn_signing_keys IN EXCLUSIVE MODE");
  const rows = await tx.query<KeyRow>(
    `SELECT ${COLUMNS} FROM cairn_signing_keys ORDER BY region, generation FOR UPDATE`,
  );
  for (const row of rows) {
    const info = publicInfoOf(row);
    const pem = openSealedPrivateKey(info, row.private_key_sealed, from, `${row.region} key ${row.fingerprint}`);
    await tx.query("UPDATE cairn_signing_keys SET private_key_sealed = $1 WHERE region = $2 AND generation = $3", [
      sealPrivateKey(info, pem, to),
      row.region,
      row.generation,
    ]);
  }
  return rows.length;
}

/**
 * Adds keys from elsewhere (an embedded data dir's files, `cairn migrate --to-cluster`), each
 * private key sealed with `masterKey`, keeping its fingerprint and validity so the digests it signed
 * stay verifiable. A key whose fingerprint the region already holds is skipped (a re-run adds
 * nothing); the others follow the region's newest generation, oldest first, so the newest copied key
 * is the one nodes sign with while it is current. Resolves how many keys were added.
 */
export async function importPostgresSigningKeys(
  db: PostgresDatabase,
  keys: readonly OpenedSigningKey[],
  masterKey: MasterKey,
): Promise<number> {
  await migrate(db, "signing-keys", MIGRATIONS);
  let added = 0;
  const ordered = [...keys].sort((a, b) => a.info.validityStartMs - b.info.validityStartMs);
  for (const { info, privateKeyPem } of ordered) {
    assertRegionName(info.region);
    added += await db.transaction(async (tx) => {
      await tx.query("LOCK TABLE cairn_signing_keys IN EXCLUSIVE MODE");
      const [held] = await tx.query("SELECT 1 FROM cairn_signing_keys WHERE region = $1 AND fingerprint = $2", [
        info.region,
        info.fingerprint,
      ]);
      if (held !== undefined) return 0;
      const [newest] = await tx.query<{ generation: number | null }>(
        "SELECT max(generation) AS generation FROM cairn_signing_keys WHERE region = $1",
        [info.region],
      );
      await tx.query(`INSERT INTO cairn_signing_keys (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        ...[info.region, (newest?.generation ?? 0) + 1, info.fingerprint, info.validityStartMs],
        ...[info.validityEndMs, info.publicKeyDer, sealPrivateKey(info, privateKeyPem, masterKey)],
      ]);
      return 1;
    });
  }
  return added;
}
