import assert from "node:assert/strict";
import { it } from "node:test";
import { triage } from "../../src/capture/ingest/ingest-batch.js";
import { syntheticRecords } from "../helpers/synthetic-records.js";

const HOME = "123456789012";
const OTHER = "444455556666";
const ROOT_PROVENANCE = {
  source: "ingest",
  principalArn: `arn:aws:iam::${HOME}:root`,
  accessKeyId: "AKIAHOMEROOTKEY00001",
} as const;

it("keeps who ingested each record; another account's record shows the identity, not its key", () => {
  const [own, elsewhere] = syntheticRecords().slice(0, 2);
  const records = [
    { ...own, recipientAccountId: HOME },
    { ...elsewhere, recipientAccountId: OTHER, userIdentity: { type: "Root", accountId: OTHER } },
  ];
  const sorted = triage(
    records,
    { accountId: HOME, mayIngestAnyAccount: true, provenance: ROOT_PROVENANCE },
    Date.now(),
  );
  assert.deepEqual(sorted.failed, []);
  assert.deepEqual(sorted.items[0]?.provenance, ROOT_PROVENANCE);
  assert.deepEqual(sorted.items[1]?.provenance, { source: "ingest", principalArn: ROOT_PROVENANCE.principalArn });
  for (const item of sorted.items) assert.ok(!item.json.includes("AKIAHOMEROOTKEY00001"));
});
