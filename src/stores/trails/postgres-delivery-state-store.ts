import { migrate, safeInteger, type Migration, type PostgresDatabase } from "../postgres/index.js";
import {
  checkFencingToken,
  emptyDeliveryState,
  StaleFencingTokenError,
  type DeliveryState,
  type DeliveryStateStore,
} from "./delivery-state.js";

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "trail delivery state",
    // The state is the JSON text the embedded store writes to its file (exact, NUL-safe as JSON
    // escapes it); NULL while a fenced load has claimed a trail that never saved. `fencing_token` is
    // the highest lease token that loaded or saved the row; NULL until a fenced call.
    sql: `CREATE TABLE cairn_trail_delivery_state (
            trail_arn     TEXT PRIMARY KEY,
            state_json    TEXT,
            fencing_token BIGINT CHECK (fencing_token >= 0)
          )`,
  },
];

/**
 * A fenced save: one conditional upsert, so the token test and the write are atomic against every
 * node. The row's lock orders concurrent calls; a token lower than the kept one matches nothing.
 * Without a token ($3 NULL) the write is unfenced: allowed only while no token was ever kept.
 */
const SAVE = `
  INSERT INTO cairn_trail_delivery_state AS kept (trail_arn, state_json, fencing_token) VALUES ($1, $2, $3)
  ON CONFLICT (trail_arn) DO UPDATE SET
    state_json = excluded.state_json, fencing_token = excluded.fencing_token
  WHERE kept.fencing_token IS NULL OR kept.fencing_token <= excluded.fencing_token
  RETURNING 1`;
/** A fenced load: claims the row for the token (creating it without state) and returns what it holds. */
const CLAIM = `
  INSERT INTO cairn_trail_delivery_state AS kept (trail_arn, state_json, fencing_token) VALUES ($1, NULL, $2)
  ON CONFLICT (trail_arn) DO UPDATE SET fencing_token = excluded.fencing_token
  WHERE kept.fencing_token IS NULL OR kept.fencing_token <= excluded.fencing_token
  RETURNING state_json`;

/** The PostgreSQL store can be closed; closing leaves the database to its owner. */
export interface PostgresDeliveryStateStore extends DeliveryStateStore {
  /**
   * Every trail's saved state, whichever node saved it, read unfenced in one statement (cluster
   * journal retention: each trail's durable position). A trail that never saved has none here.
   */
  loadAll(): Promise<DeliveryState[]>;
  close(): Promise<void>;
}

/**
 * Opens (migrating) the cluster delivery-state store on `db`: one row per trail with its state and
 * the highest fencing token that claimed it. A save is one statement, durable once committed; the
 * digest chain head a new holder reads is the one the last fenced commit left in the database.
 *
 * @example const states = await openPostgresDeliveryStateStore(db);
 * await states.save(state, { fencingToken: grant.fencingToken });
 */
export async function openPostgresDeliveryStateStore(db: PostgresDatabase): Promise<PostgresDeliveryStateStore> {
  await migrate(db, "trail-delivery-state", MIGRATIONS);
  let closed = false;
  const open = (): PostgresDatabase => {
    if (closed) throw new Error("The delivery-state store is closed.");
    return db;
  };
  return {
    async load(trailArn, options) {
      const token = checkFencingToken(options);
      refuseNul(trailArn);
      if (token === undefined) {
        const [row] = await open().query<{ state_json: string | null }>(
          "SELECT state_json FROM cairn_trail_delivery_state WHERE trail_arn = $1",
          [trailArn],
        );
        return parseState(trailArn, row?.state_json ?? null);
      }
      const [claimed] = await open().query<{ state_json: string | null }>(CLAIM, [trailArn, token]);
      if (claimed === undefined) throw await staleError(db, trailArn, token);
      return parseState(trailArn, claimed.state_json);
    },
    async save(state, options) {
      const token = checkFencingToken(options);
      refuseNul(state.trailArn);
      const saved = await open().query(SAVE, [state.trailArn, JSON.stringify(state), token ?? null]);
      if (saved.length === 0) throw await staleError(db, state.trailArn, token);
    },
    async loadAll() {
      const rows = await open().query<{ trail_arn: string; state_json: string }>(
        "SELECT trail_arn, state_json FROM cairn_trail_delivery_state WHERE state_json IS NOT NULL",
      );
      return rows.map((row) => parseState(row.trail_arn, row.state_json));
    },
    async close() {
      closed = true;
    },
  };
}

/** Trail ARNs are built from checked names; one with NUL (which PostgreSQL text cannot hold) is a caller's bug. */
function refuseNul(trailArn: string): void {
  if (trailArn.includes("\u0000")) throw new RangeError("A trail ARN cannot contain NUL.");
}

function parseState(trailArn: string, json: string | null): DeliveryState {
  if (json === null) return emptyDeliveryState(trailArn);
  const state = JSON.parse(json) as DeliveryState;
  if (state.version !== 1 || state.trailArn !== trailArn)
    throw new Error(`The stored delivery state of ${trailArn} is not version 1 state for that trail.`);
  return state;
}

/** The refusal names the token that holds the state now (read after the fact: it only grows). */
async function staleError(
  db: PostgresDatabase,
  trailArn: string,
  token: number | undefined,
): Promise<StaleFencingTokenError> {
  const [row] = await db.query<{ fencing_token: string | null }>(
    "SELECT fencing_token FROM cairn_trail_delivery_state WHERE trail_arn = $1",
    [trailArn],
  );
  return new StaleFencingTokenError(trailArn, token, safeInteger(row?.fencing_token ?? token ?? 0, "a fencing token"));
}
