import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import { SigmaEngine, uploadedRule, type SigmaMatch as EngineMatch, type SigmaRule } from "../../sigma/index.js";
import type { NewSigmaMatch, StoredSigmaRule } from "../../stores/sigma/index.js";

/** Accounts whose correlation state is kept at once; the least recently active one's is dropped beyond. */
const SIGMA_ACCOUNTS_MAX = 10_000;

interface AccountRules {
  /** Changes when the account's rules change: its engine (and correlation state) is then built anew. */
  readonly fingerprint: string;
  readonly rules: readonly SigmaRule[];
}

/**
 * The live rules over records of many accounts: each account has its own engine over the
 * server-wide rules and the rules it added, so that a record reaches only its own account's rules
 * and correlations never mix accounts. Engines are built on an account's first record.
 */
export class SigmaEvaluator {
  private accountRules = new Map<string, AccountRules>();
  private readonly engines = new Map<string, SigmaEngine>();
  /** Account rules stored but refused when read back (the engine changed since they were added). */
  refusedStoredRules = 0;

  constructor(
    private readonly serverRules: readonly SigmaRule[],
    private readonly log: (line: string) => void,
    private readonly accountsMax = SIGMA_ACCOUNTS_MAX,
  ) {}

  /** Takes the stored rules of every account; an account whose rules changed starts a fresh engine. */
  setStoredRules(stored: readonly StoredSigmaRule[]): void {
    const next = new Map<string, { fingerprint: string[]; rules: SigmaRule[] }>();
    let refused = 0;
    for (const rule of stored) {
      const upload = uploadedRule(`${rule.accountId}/${rule.id}`, rule.yaml);
      const entry = next.get(rule.accountId) ?? { fingerprint: [], rules: [] };
      next.set(rule.accountId, entry);
      entry.fingerprint.push(`${rule.id}@${rule.addedAtMs}`);
      if ("reason" in upload) {
        refused++;
        continue;
      }
      entry.rules.push(...upload.rules);
    }
    if (refused > this.refusedStoredRules)
      this.log(`sigma: ${refused} stored rule(s) no longer load and are not evaluated\n`);
    this.refusedStoredRules = refused;
    const accountRules = new Map(
      [...next].map(([account, { fingerprint, rules }]) => [account, { fingerprint: fingerprint.join(","), rules }]),
    );
    for (const account of new Set([...this.accountRules.keys(), ...accountRules.keys()]))
      if (this.accountRules.get(account)?.fingerprint !== accountRules.get(account)?.fingerprint)
        this.engines.delete(account);
    this.accountRules = accountRules;
  }

  /** Forgets every correlation's state (it is rebuilt by replaying the journal). */
  reset(): void {
    this.engines.clear();
  }

  /** The longest correlation timespan of any loaded rule (0 without correlations). */
  longestTimespanMs(): number {
    const all = [this.serverRules, ...[...this.accountRules.values()].map(({ rules }) => rules)];
    return Math.max(0, ...all.flat().map((rule) => (rule.kind === "correlation" ? rule.timespanMs : 0)));
  }

  /** Whether any rule is loaded: without one, records are not even parsed. */
  hasRules(): boolean {
    return this.serverRules.length > 0 || [...this.accountRules.values()].some(({ rules }) => rules.length > 0);
  }

  ruleCounts(): { serverWide: number; accounts: number; accountRules: number } {
    const rules = [...this.accountRules.values()];
    return {
      serverWide: this.serverRules.length,
      accounts: rules.length,
      accountRules: rules.reduce((sum, { rules: list }) => sum + list.length, 0),
    };
  }

  /** The matches a journal record makes, for its own account. */
  offer(record: unknown, seq: number, matchedAtMs: number): NewSigmaMatch[] {
    if (typeof record !== "object" || record === null) return [];
    const accountId = recordAccountId(record as CloudTrailRecord);
    // A record without an account cannot be listed by anyone: no rule is evaluated on it.
    if (typeof accountId !== "string" || accountId === "") return [];
    const engine = this.engineOf(accountId);
    if (engine === undefined) return [];
    return engine.offer(record).map((match) => storedMatchOf(match, accountId, seq, matchedAtMs));
  }

  private engineOf(accountId: string): SigmaEngine | undefined {
    let engine = this.engines.get(accountId);
    if (engine !== undefined) {
      // Most recently active last, so that the bound drops the idlest account's state.
      this.engines.delete(accountId);
      this.engines.set(accountId, engine);
      return engine;
    }
    const own = this.accountRules.get(accountId)?.rules ?? [];
    if (own.length === 0 && this.serverRules.length === 0) return undefined;
    engine = new SigmaEngine([...this.serverRules, ...own]);
    this.engines.set(accountId, engine);
    if (this.engines.size > this.accountsMax) this.engines.delete(this.engines.keys().next().value!);
    return engine;
  }
}

function storedMatchOf(match: EngineMatch, accountId: string, seq: number, matchedAtMs: number): NewSigmaMatch {
  const events = match.events ?? [{ eventID: match.eventID, eventTime: match.eventTime }];
  return {
    accountId,
    ruleId: match.ruleId,
    title: match.title,
    level: match.level,
    kind: match.kind,
    eventID: match.eventID,
    eventTime: match.eventTime,
    events,
    ...(match.groupBy !== undefined ? { groupBy: match.groupBy } : {}),
    matchedAtMs,
    seq,
  };
}
