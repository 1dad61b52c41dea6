import {
  folderFileKey,
  uniqueSuffix,
  UNIQUE_LENGTH,
  type KeyScope,
  type LogFolder,
} from "../../model/trail-object-key.js";
import type { PlannedFile } from "../../stores/trails/index.js";

/**
 * The in-memory side of batching: selected entries wait here, per account and region, until their
 * file is due. Nothing here is durable — after a crash the journal is read again from the cursor.
 */
export const RECORDS_PER_FILE_MAX_DEFAULT = 5_000;
/** Uncompressed bytes per file; well under CloudTrail's 50 MB compressed ceiling (spec §2.2). */
export const BYTES_PER_FILE_MAX_DEFAULT = 32 * 1024 * 1024;

export interface FileLimits {
  readonly intervalMs: number;
  readonly recordsPerFileMax: number;
  readonly bytesPerFileMax: number;
}

interface Group {
  readonly accountId: string;
  readonly region: string;
  readonly folder: LogFolder;
  readonly seqs: number[];
  readonly sizes: number[];
  /** Each entry's eventTime as log files report it (logEventTime), undefined when it has none. */
  readonly times: (string | undefined)[];
  bytes: number;
  readonly firstAppendedAtMs: number;
}

/** The oldest and newest eventTime of a file's records; undefined members when none has one. */
export interface EventTimeRange {
  readonly oldest: string | undefined;
  readonly newest: string | undefined;
}

/**
 * A planned file and its records' time range, known from the records examined: the digest needs the
 * range, and taking it from them spares parsing each record again to build the file. Only the file
 * is saved in the intent; a file put again after a restart reads its range from its records.
 */
export interface PlannedLogFile {
  readonly file: PlannedFile;
  readonly eventTimes: EventTimeRange;
}

/** Fixed-width ISO-8601 UTC strings (logEventTime) order correctly as strings. */
export function eventTimeRange(times: Iterable<string | undefined>): EventTimeRange {
  let oldest: string | undefined;
  let newest: string | undefined;
  for (const time of times) {
    if (time === undefined) continue;
    if (oldest === undefined || time < oldest) oldest = time;
    if (newest === undefined || time > newest) newest = time;
  }
  return { oldest, newest };
}

export class PendingBatch {
  private readonly groups = new Map<string, Group>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** `folder`: Insights events go to files of their own (spec §2.1), never among the events. */
  add(
    accountId: string,
    region: string,
    seq: number,
    bytes: number,
    appendedAtMs: number,
    folder: LogFolder = "CloudTrail",
    eventTime?: string,
  ): void {
    const id = `${accountId}/${region}/${folder}`;
    let group = this.groups.get(id);
    if (group === undefined) {
      group = {
        accountId,
        region,
        folder,
        seqs: [],
        sizes: [],
        times: [],
        bytes: 0,
        firstAppendedAtMs: appendedAtMs,
      };
      this.groups.set(id, group);
    }
    group.seqs.push(seq);
    group.sizes.push(bytes);
    group.times.push(eventTime);
    group.bytes += bytes;
    this.count++;
  }

  /** The lowest seq waiting; undefined when nothing does. */
  oldestSeq(): number | undefined {
    let oldest: number | undefined;
    for (const group of this.groups.values()) {
      const first = group.seqs[0];
      if (first !== undefined && (oldest === undefined || first < oldest)) oldest = first;
    }
    return oldest;
  }

  /** A file is due when its oldest entry waited a full interval, or when it is full. */
  isDue(nowMs: number, limits: FileLimits): boolean {
    for (const group of this.groups.values()) {
      if (nowMs - group.firstAppendedAtMs >= limits.intervalMs) return true;
      if (group.seqs.length >= limits.recordsPerFileMax || group.bytes >= limits.bytesPerFileMax) return true;
    }
    return false;
  }

  /**
   * Turns everything pending into files (split at the limits), with their keys, and empties the
   * batch. Every group goes, not only the due one: the cursor is a single seq, so it can only move
   * past entries that are in a file.
   */
  plan(
    scopeFor: (accountId: string) => KeyScope,
    bucket: string,
    deliveredAtMs: number,
    randomBytes: (n: number) => Uint8Array,
    limits: FileLimits,
  ): PlannedLogFile[] {
    const files: PlannedLogFile[] = [];
    for (const group of this.groups.values()) {
      let start = 0;
      while (start < group.seqs.length) {
        let end = start;
        let bytes = 0;
        while (
          end < group.seqs.length &&
          end - start < limits.recordsPerFileMax &&
          (end === start || bytes + group.sizes[end]! <= limits.bytesPerFileMax)
        ) {
          bytes += group.sizes[end]!;
          end++;
        }
        const key = folderFileKey(
          group.folder,
          scopeFor(group.accountId),
          group.region,
          deliveredAtMs,
          uniqueSuffix(randomBytes(UNIQUE_LENGTH)),
        );
        files.push({
          file: { bucket, key, accountId: group.accountId, region: group.region, seqs: group.seqs.slice(start, end) },
          eventTimes: eventTimeRange(group.times.slice(start, end)),
        });
        start = end;
      }
    }
    this.groups.clear();
    this.count = 0;
    return files;
  }
}
