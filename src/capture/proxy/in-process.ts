/**
 * The capture proxy inside `cairn server` (`--proxy-upstream URL [--proxy-port 7682]`): the same proxy
 * as `cairn proxy`, but its records go straight into the server's journal, through the normalize
 * pipeline `/ingest` applies (validation, redaction, size limits, the de-duplication key), with no HTTP
 * hop, no spool and no Ingest self-audit event. As with the standalone proxy, a call is recorded after
 * its answer has been forwarded; records are appended in groups (one append, one fsync, every
 * `APPEND_BATCH_MS`), retried while the journal cannot write, and flushed when the server stops.
 */
import type { PrincipalStore } from "../../stores/principals/index.js";
import type { Journal, JournalAppendItem } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import { PROXY_PROVENANCE } from "../../model/provenance.js";
import { normalizeIngestedRecord } from "../../normalize/pipeline.js";
import { ServiceModels } from "../protocols/service-models.js";
import { startProxy, type RunningProxy } from "./proxy-server.js";

interface InProcessProxySettings {
  readonly proxyUpstream?: string | undefined;
  readonly proxyPort: number;
  readonly host: string;
  readonly accountId: string;
}

export interface InProcessProxyOptions {
  readonly settings: InProcessProxySettings;
  readonly journal: Journal;
  readonly principals: PrincipalStore;
  /**
   * The SQLite file behind `principals`, when there is one: the recording worker then reads callers
   * itself. A cluster's principals are in PostgreSQL, so they are looked up through `principals`.
   */
  readonly principalsPath?: string;
  readonly clock: Clock;
  readonly log?: (line: string) => void;
}

export interface InProcessProxy extends RunningProxy {
  /** The banner line: where the proxy listens and what it forwards to. */
  readonly bannerLine: string;
}

const APPEND_BATCH_MS = 10;
const APPEND_RECORDS_MAX = 1_000;
const RECORDS_HELD_MAX = 100_000;
const RETRY_DELAY_MS_MAX = 5_000;
const DRAIN_ON_CLOSE_MS = 5_000;

/** Starts the proxy when `settings.proxyUpstream` is set; undefined otherwise. */
export async function startInProcessProxy(options: InProcessProxyOptions): Promise<InProcessProxy | undefined> {
  const { settings } = options;
  if (settings.proxyUpstream === undefined) return undefined;
  const log = options.log ?? ((line: string) => void process.stderr.write(`cairn capture proxy: ${line}\n`));
  const upstream = new URL(settings.proxyUpstream);
  const sink = new JournalSink(options.journal, options.clock, log);
  let proxy: RunningProxy;
  try {
    proxy = await startProxy({
      upstream,
      host: settings.host,
      port: settings.proxyPort,
      verifySignatures: false,
      models: new ServiceModels(),
      principals: options.principals,
      ...(options.principalsPath === undefined ? {} : { principalsPath: options.principalsPath }),
      defaultAccountId: settings.accountId,
      onRecord: (json) => sink.enqueue(json),
      log,
    });
  } catch (error) {
    await sink.close(0);
    throw error;
  }
  return {
    url: proxy.url,
    bannerLine: `  capture proxy:    ${proxy.url} → upstream ${upstream.origin} (events straight into the journal)`,
    async close() {
      await proxy.close();
      await sink.close(DRAIN_ON_CLOSE_MS);
    },
  };
}

/** Appends records to the journal in groups; holds and retries them while the journal cannot write. */
class JournalSink {
  private queue: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private appending: Promise<void> | undefined;
  private delayMs = 0;
  private closing = false;
  private closed = false;

  constructor(
    private readonly journal: Journal,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {}

  enqueue(json: string): void {
    if (this.closed) return;
    if (this.queue.length >= RECORDS_HELD_MAX) {
      this.log("dropped a record: the journal has not accepted records for a while and the queue is full");
      return;
    }
    this.queue.push(json);
    this.schedule(APPEND_BATCH_MS);
  }

  /** Appends what is queued for up to `timeoutMs`; what is left then is lost (and logged). */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = this.clock.nowMs() + timeoutMs;
    while (this.queue.length > 0 || this.appending !== undefined) {
      if (this.appending === undefined) this.appending = this.append();
      await this.appending;
      if (this.clock.nowMs() >= deadline) break;
      if (this.queue.length > 0 && this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.closed = true;
    if (this.queue.length > 0) this.log(`${this.queue.length} record(s) could not be written to the journal`);
    this.queue = [];
  }

  private schedule(delayMs: number): void {
    if (this.timer !== undefined || this.appending !== undefined || this.closing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.appending = this.append();
    }, delayMs);
  }

  private async append(): Promise<void> {
    const records = this.queue.splice(0, APPEND_RECORDS_MAX);
    const receivedAtMs = this.clock.nowMs();
    const items: JournalAppendItem[] = [];
    for (const json of records) {
      // The checks /ingest applies to a record it receives (the proxy built it with buildApiCallRecord).
      const result = normalizeIngestedRecord(JSON.parse(json), { receivedAtMs });
      if (result.ok)
        items.push({
          json: result.json,
          dedupKey: result.dedupKey,
          provenance: PROXY_PROVENANCE,
          record: result.record,
        });
      else this.log(`a record was rejected: ${result.errorCode}: ${result.message}`);
    }
    try {
      if (items.length > 0) await this.journal.append(items);
      this.delayMs = 0;
    } catch (error) {
      // Put back in order; retried with back-off (the journal refuses everything while it cannot write).
      this.queue.unshift(...records);
      this.delayMs = Math.min(Math.max(this.delayMs * 2, 250), RETRY_DELAY_MS_MAX);
      this.log(`cannot append ${this.queue.length} record(s) to the journal yet (${String(error)}); retrying`);
    } finally {
      this.appending = undefined;
    }
    if (this.queue.length > 0) this.schedule(this.delayMs === 0 ? 0 : this.delayMs);
  }
}
