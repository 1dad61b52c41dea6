import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { emptyDeliveryState } from "../../src/stores/trails/delivery-state.js";
import { deliveryStatePath, openFileDeliveryStateStore } from "../../src/stores/trails/file-delivery-state-store.js";

const ARN = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main trail";

describe("file delivery-state store specifics", () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "cairn-delivery-state-"));
    await mkdir(join(dataDir, "trails"));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  it("keeps the layout existing data dirs have: <data-dir>/trails/<account>_<region>_<name>_<hash>.json, mode 0600", async () => {
    const states = openFileDeliveryStateStore(dataDir);
    await states.save({ ...emptyDeliveryState(ARN), cursor: 7 });
    const hash = createHash("sha256").update(ARN).digest("hex").slice(0, 12);
    const expected = join(dataDir, "trails", `111122223333_us-east-1_main_trail_${hash}.json`);
    assert.equal(deliveryStatePath(dataDir, ARN), expected);
    const names = await readdir(join(dataDir, "trails"));
    assert.ok(names.includes(`111122223333_us-east-1_main_trail_${hash}.json`), names.join());
    assert.deepEqual(
      names.filter((n) => n.endsWith(".tmp")),
      [],
      "no temp file is left behind",
    );
    assert.equal(JSON.parse(await readFile(expected, "utf8")).cursor, 7);
    assert.equal((await stat(expected)).mode & 0o777, 0o600);
  });

  it("reads a state file written by an earlier release", async () => {
    const arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/old";
    const written = { ...emptyDeliveryState(arn), cursor: 12 };
    await writeFile(deliveryStatePath(dataDir, arn), `${JSON.stringify(written)}\n`);
    assert.deepEqual(await openFileDeliveryStateStore(dataDir).load(arn), written);
  });

  it("keeps the fencing token beside the state in the file; a file of an earlier release is not fenced yet", async () => {
    const arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/fenced";
    const states = openFileDeliveryStateStore(dataDir);
    await writeFile(deliveryStatePath(dataDir, arn), `${JSON.stringify(emptyDeliveryState(arn))}\n`);
    await states.save({ ...emptyDeliveryState(arn), cursor: 3 }, { fencingToken: 0 });
    await states.save({ ...emptyDeliveryState(arn), cursor: 4 }, { fencingToken: 4 });
    const file = JSON.parse(await readFile(deliveryStatePath(dataDir, arn), "utf8"));
    assert.deepEqual(file, { ...emptyDeliveryState(arn), cursor: 4, fencingToken: 4 });
    assert.deepEqual(await states.load(arn), { ...emptyDeliveryState(arn), cursor: 4 }, "the token is not state");
    await assert.rejects(states.save({ ...emptyDeliveryState(arn), cursor: 5 }), /a save without a token is refused/);
    assert.equal((await states.load(arn)).cursor, 4, "the refused unfenced save changed nothing");
  });

  it("refuses a file that holds another trail's state", async () => {
    const arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/mixed-up";
    await writeFile(deliveryStatePath(dataDir, arn), JSON.stringify(emptyDeliveryState(ARN)));
    await assert.rejects(openFileDeliveryStateStore(dataDir).load(arn), /is not version 1 state for/);
  });
});
