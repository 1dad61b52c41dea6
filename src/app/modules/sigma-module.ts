import { quarantineFor } from "../../consumers/quarantine.js";
import { workerEvaluation } from "../../consumers/sigma/sigma-evaluation.js";
import { SigmaRunner } from "../../consumers/sigma/sigma-runner.js";
import { registerSigmaRoutes } from "../../http/routes/sigma-route.js";
import { loadRuleFiles, SigmaEngine, type SigmaRule } from "../../sigma/index.js";
import type { LeaseStore } from "../../stores/lease/index.js";
import { SIGMA_MATCH_RETENTION_MS } from "../../stores/sigma/index.js";
import type { CairnModule } from "../registry.js";

const RETENTION_INTERVAL_MS = 3_600_000;

/**
 * The server-wide rules of CAIRN_SIGMA_RULES_DIR (every account's records meet them): a rule the
 * engine refuses is reported with its reason and left out; the server starts anyway.
 */
async function serverWideRules(directory: string | undefined, log: (line: string) => void): Promise<SigmaRule[]> {
  if (directory === undefined) return [];
  const { rules, errors } = await loadRuleFiles([directory]);
  const refused = [...errors, ...new SigmaEngine(rules).errors];
  for (const error of refused)
    log(
      `sigma: rule ${error.source.file}${error.source.document >= 0 ? ` document ${error.source.document}` : ""} not loaded: ${error.reason}\n`,
    );
  // A correlation that could not resolve is left out; the engine would drop it anyway.
  const unresolved = new Set(refused.map((error) => error.id).filter((id) => id !== undefined));
  const loaded = rules.filter((rule) => !(rule.kind === "correlation" && unresolved.has(rule.id)));
  log(`sigma: ${loaded.length} server-wide rule(s) loaded from CAIRN_SIGMA_RULES_DIR, ${refused.length} refused\n`);
  return loaded;
}

/**
 * Sigma rules live on the journal (docs/reference/sigma.md, "Live rules"): the consumer, the
 * `/sigma/…` API, and the daily trim of matches past 90 days, on the node's Sigma store
 * (`<data-dir>/sigma.db` embedded, PostgreSQL in a cluster, where `leases` makes one node evaluate).
 */
function sigmaModuleOn(leases?: { store: LeaseStore; holder: string }): CairnModule {
  return {
    name: "sigma",
    async start(context) {
      const log = (line: string) => process.stderr.write(line);
      const store = context.sigma;
      const evaluation = await workerEvaluation(await serverWideRules(context.settings.sigmaRulesDir, log), log);
      try {
        const runner = new SigmaRunner(
          {
            store,
            evaluation,
            journal: context.journal,
            clock: context.clock,
            quarantine: quarantineFor(context.quarantine, "sigma", context.clock, log),
            report: context.onInternalError,
          },
          leases,
        );
        await runner.start();
        return {
          routes: (app, routeContext) => registerSigmaRoutes(app, routeContext, { rules: store, matches: store }),
          consumers: () => [runner.status()],
          ...(leases !== undefined ? { clusterFloor: async () => (await store.cursor()) + 1 } : {}),
          leasesHeld: () => runner.leasesHeld(),
          health: () => runner.health(),
          jobs: [
            {
              name: "sigma-match-retention",
              intervalMs: RETENTION_INTERVAL_MS,
              runAtStart: true,
              run: async () => void (await store.trim(context.clock.nowMs() - SIGMA_MATCH_RETENTION_MS)),
            },
          ],
          close: async () => {
            await runner.close();
            await evaluation.close();
          },
        };
      } catch (error) {
        await evaluation.close();
        throw error;
      }
    },
  };
}

export const sigmaModule: CairnModule = sigmaModuleOn();

/** Cluster mode: the node holding the `sigma` lease evaluates. */
export function clusterSigmaModule(leases: LeaseStore, nodeId: string): CairnModule {
  return sigmaModuleOn({ store: leases, holder: nodeId });
}
