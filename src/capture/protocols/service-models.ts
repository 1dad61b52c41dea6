/**
 * Finds AWS's published model for a service from the SigV4 credential scope's service name, reading
 * the `apis/` folder of the `aws-sdk` v2 package at run time (operations, routes, member names and
 * types are never hand-written here). Models are parsed on first use and cached.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { ServiceModel } from "./model-types.js";

const MODEL_FILE = /^(.+)-(\d{4}-\d{2}-\d{2})\.min\.json$/;

export class ServiceModels {
  private readonly byFile = new Map<string, ServiceModel>();
  /** File prefix (e.g. `elasticache`) → newest model file name. */
  private readonly newestByPrefix = new Map<string, string>();
  /** signingName → file names; built only when a name is not also a file prefix (a one-off ~0.5 s scan). */
  private bySigningName: Map<string, string[]> | undefined;

  constructor(readonly directory: string = defaultApisDirectory()) {
    for (const file of readdirSync(directory).sort()) {
      const match = MODEL_FILE.exec(file);
      // Sorted by name, so the last version date seen for a prefix is the newest.
      if (match !== null) this.newestByPrefix.set(match[1]!, file);
    }
  }

  /**
   * The models signed with `signingName`, best guess first: the file named after it (`rds` before
   * `docdb`, `neptune`, which also sign as `rds`), then the others.
   */
  candidates(signingName: string): ServiceModel[] {
    const out: ServiceModel[] = [];
    const direct = this.newestByPrefix.get(signingName);
    if (direct !== undefined) {
      const model = this.load(direct);
      if ((model.metadata.signingName ?? model.metadata.endpointPrefix) === signingName) out.push(model);
    }
    for (const file of this.signingIndex().get(signingName) ?? []) {
      if (file !== direct) out.push(this.load(file));
    }
    return out;
  }

  /** Builds the signing-name index now (a proxy calls this at start, so no call pays for it). */
  prepare(): void {
    this.signingIndex();
  }

  private signingIndex(): Map<string, string[]> {
    if (this.bySigningName !== undefined) return this.bySigningName;
    const index = new Map<string, string[]>();
    for (const file of this.newestByPrefix.values()) {
      // Parsed and dropped: keeping every model would cost ~100 MB for a name lookup.
      const { metadata } = this.byFile.get(file) ?? this.parse(file);
      const name = metadata.signingName ?? metadata.endpointPrefix;
      index.set(name, [...(index.get(name) ?? []), file]);
    }
    this.bySigningName = index;
    return index;
  }

  private load(file: string): ServiceModel {
    const cached = this.byFile.get(file);
    if (cached !== undefined) return cached;
    const model = this.parse(file);
    this.byFile.set(file, model);
    return model;
  }

  private parse(file: string): ServiceModel {
    return JSON.parse(readFileSync(join(this.directory, file), "utf8")) as ServiceModel;
  }
}

function defaultApisDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("aws-sdk/package.json")), "apis");
}
