/**
 * Crash-test rotation (spawned by rotate-master.test.ts): runs `cairn keys rotate-master` in this
 * process and kills it with SIGKILL (no cleanup, no flush: a kill -9) once the named step is durable.
 *
 * Arguments: <data-dir> <step>[:<count>] [<new-master-key-file>]. The current master key comes from
 * CAIRN_MASTER_KEY / CAIRN_MASTER_KEY_FILE, as for the CLI.
 */
import { rotateMasterKey, type RotationStep } from "../../src/app/rotate-master-key.js";

const [dataDir, stopAt, newMasterKeyFile] = process.argv.slice(2);
const [stepName, countText] = stopAt!.split(":");

function isStopStep(step: RotationStep): boolean {
  if (step.step !== stepName) return false;
  return step.step !== "signing-key-resealed" || step.count === Number(countText);
}

await rotateMasterKey({
  dataDir: dataDir!,
  source: {
    ...(process.env.CAIRN_MASTER_KEY !== undefined ? { masterKey: process.env.CAIRN_MASTER_KEY } : {}),
    ...(process.env.CAIRN_MASTER_KEY_FILE !== undefined ? { masterKeyFile: process.env.CAIRN_MASTER_KEY_FILE } : {}),
  },
  ...(newMasterKeyFile !== undefined ? { newMasterKeyFile } : {}),
  afterStep: async (step) => {
    if (isStopStep(step)) process.kill(process.pid, "SIGKILL");
  },
});
// Reaching here means the step never came: the test reads this and fails.
process.stdout.write("FINISHED WITHOUT STOPPING\n");
