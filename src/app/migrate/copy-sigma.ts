import { join } from "node:path";
import { importPostgresSigma, readSqliteSigmaStore } from "../../stores/sigma/index.js";
import { countOne, type CopyCount } from "./copy-count.js";
import type { MigrationStepDefinition } from "./migration-step.js";

export interface SigmaCounts {
  readonly sigmaRules: CopyCount;
  readonly sigmaMatches: CopyCount;
  readonly sigmaCursor: CopyCount;
}

/**
 * The Sigma rules added through the API, the live matches with their ids (ListSigmaMatches' pages
 * go on where they were) and the Sigma consumer's cursor, from `<data-dir>/sigma.db` (none: nothing
 * to copy), so the cluster's Sigma lease holder resumes after the last record the embedded server
 * matched. After the journal: matches and cursor name its seqs.
 */
export const copySigma: MigrationStepDefinition<SigmaCounts> = {
  name: "copy Sigma rules and matches",
  unit: "Sigma matches",
  async run(source, target) {
    const contents = readSqliteSigmaStore(join(source.dataDir, "sigma.db"));
    const added = await importPostgresSigma(target.db, contents);
    return {
      sigmaRules: { copied: added.rules, present: contents.rules.length - added.rules },
      sigmaMatches: { copied: added.matches, present: contents.matches.length - added.matches },
      sigmaCursor: contents.cursor === 0 ? { copied: 0, present: 0 } : countOne(added.cursorMoved),
    };
  },
};
