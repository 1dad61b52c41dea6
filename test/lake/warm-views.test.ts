import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DuckDBInstance } from "@duckdb/node-api";
import type { FileSnapshot } from "../../src/lake/compaction/compaction.js";
import { recordToRow } from "../../src/lake/engine/lake-schema.js";
import { writeParquet } from "../../src/lake/engine/parquet-writer.js";
import { openDuck, runQuery } from "../../src/lake/engine/query-engine.js";
import { viewNameOf } from "../../src/lake/engine/query-sql.js";
import { WarmViews } from "../../src/lake/engine/warm-views.js";
import type { CloudTrailRecord } from "../../src/model/record.js";

const STORE = "5a5a5a5a-1111-4222-8333-944455556666";
const OTHER = "6b6b6b6b-1111-4222-8333-944455556666";

function record(eventID: string, eventName: string): CloudTrailRecord {
  return {
    eventVersion: "1.08",
    userIdentity: { type: "Root", arn: "arn:aws:iam::111122223333:root", accountId: "111122223333" },
    eventTime: "2024-03-01T10:00:00Z",
    eventSource: "iam.amazonaws.com",
    eventName,
    awsRegion: "us-east-1",
    eventID,
    recipientAccountId: "111122223333",
  } as CloudTrailRecord;
}

/** The files a query reads, as the server's committed-file snapshots hand them over. */
function snapshotOf(files: Record<string, string[]>): FileSnapshot {
  return { filesOf: (id) => files[id] ?? [], ensureLocal: async () => undefined, release: () => undefined };
}

/**
 * Query connections kept with their views (decision 0028): reused only over exactly the files they
 * were made for, never after a query that did not run to its end, and at most four kept.
 */
describe("WarmViews", () => {
  let dir: string;
  let duck: DuckDBInstance;
  const files: string[] = [];
  let views: WarmViews;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cairn-warm-views-"));
    duck = await openDuck(dir);
    views = new WarmViews(duck, dir);
    for (const [i, name] of ["CreateUser", "DeleteUser", "CreateRole", "DeleteRole", "PutRolePolicy"].entries()) {
      const target = { lakeDir: dir, edsId: STORE, eventDate: "2024-03-01", name: `f${i}` };
      const r = record(`e${i}`, name);
      files.push(await writeParquet(duck, target, [recordToRow(r, JSON.stringify(r))]));
    }
  });

  after(() => {
    views?.close();
    duck?.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });

  const count = `SELECT count(*) AS n, string_agg(eventName, ',' ORDER BY eventName) AS names FROM "${viewNameOf(STORE)}"`;

  it("hands a released connection to the next query over the same files, with the same answer", async () => {
    const first = await views.take([STORE], new Map(), snapshotOf({ [STORE]: files.slice(0, 2) }));
    const answer = await runQuery(first.connection, count);
    assert.deepEqual(answer.rows, [["2", "CreateUser,DeleteUser"]]);
    assert.equal(first.scan.files, 2);
    first.release(true);
    const second = await views.take([STORE], new Map(), snapshotOf({ [STORE]: files.slice(0, 2) }));
    assert.equal(second.connection, first.connection);
    assert.deepEqual((await runQuery(second.connection, count)).rows, answer.rows);
    assert.equal(second.scan.files, 2);
    second.release(true);
  });

  it("binds a new view when the files differ (a new file, or another store)", async () => {
    const kept = await views.take([STORE], new Map(), snapshotOf({ [STORE]: files.slice(0, 2) }));
    kept.release(true);
    const more = await views.take([STORE], new Map(), snapshotOf({ [STORE]: files.slice(0, 3) }));
    assert.notEqual(more.connection, kept.connection);
    assert.deepEqual((await runQuery(more.connection, count)).rows, [["3", "CreateRole,CreateUser,DeleteUser"]]);
    more.release(true);
    const other = await views.take([OTHER], new Map(), snapshotOf({ [STORE]: files.slice(0, 2) }));
    assert.notEqual(other.connection, kept.connection);
    const empty = await runQuery(other.connection, `SELECT count(*) FROM "${viewNameOf(OTHER)}"`);
    assert.deepEqual(empty.rows, [["0"]]);
    await assert.rejects(runQuery(other.connection, count), /does not exist/);
    other.release(false);
  });

  it("closes a connection whose query did not run to its end", async () => {
    const snapshot = snapshotOf({ [STORE]: files.slice(1, 3) });
    const failed = await views.take([STORE], new Map(), snapshot);
    await assert.rejects(runQuery(failed.connection, "SELECT 1 / 0 ::INTEGER FROM nowhere"));
    failed.release(false);
    const next = await views.take([STORE], new Map(), snapshot);
    assert.notEqual(next.connection, failed.connection);
    assert.deepEqual((await runQuery(next.connection, count)).rows, [["2", "CreateRole,DeleteUser"]]);
    next.release(true);
  });

  it("keeps at most four idle connections, the least recently used dropped first", async () => {
    views.close();
    const taken = [];
    for (let n = 1; n <= 5; n++)
      taken.push(await views.take([STORE], new Map(), snapshotOf({ [STORE]: files.slice(0, n) })));
    const connections = taken.map((t) => t.connection);
    for (const t of taken) t.release(true);
    const oldest = await views.take([STORE], new Map(), snapshotOf({ [STORE]: files.slice(0, 1) }));
    assert.ok(!connections.includes(oldest.connection), "the first released was dropped");
    oldest.release(false);
    for (let n = 2; n <= 5; n++) {
      const again = await views.take([STORE], new Map(), snapshotOf({ [STORE]: files.slice(0, n) }));
      assert.equal(again.connection, connections[n - 1]);
      assert.equal((await runQuery(again.connection, count)).rows[0]![0], String(n));
      again.release(true);
    }
  });
});
