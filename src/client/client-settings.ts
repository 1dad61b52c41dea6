import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const DEFAULT_ENDPOINT_URL = "http://127.0.0.1:7680";
const DEFAULT_REGION = "us-east-1";

export interface ClientCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** Where the key came from, for error messages ("signed with AKIA… from AWS_ACCESS_KEY_ID"). */
  readonly origin: string;
}

/** What a command needs to reach a running Cairn server. */
export interface ClientSettings {
  readonly endpointUrl: string;
  readonly region: string;
  readonly credentials: ClientCredentials;
}

export interface ClientFlags {
  readonly endpointUrl?: string;
  readonly region?: string;
  readonly dataDir?: string;
}

/**
 * Resolves endpoint, region and credentials for commands that call a running server.
 *
 * Credentials: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY when both are set (the order every AWS SDK
 * uses, so acting as another principal is just a matter of exporting its key), otherwise the
 * `[default]` profile of `<data dir>/credentials`, which the server writes for its bootstrap admin.
 *
 * @example
 * const settings = resolveClientSettings({ endpointUrl: "http://127.0.0.1:7680" }, process.env);
 */
export function resolveClientSettings(flags: ClientFlags, env: NodeJS.ProcessEnv): ClientSettings {
  const dataDir = resolve(flags.dataDir ?? nonEmpty(env.CAIRN_DATA_DIR) ?? "./.cairn");
  const endpointUrl =
    flags.endpointUrl ?? nonEmpty(env.CAIRN_ENDPOINT_URL) ?? endpointOfDataDirectory(dataDir) ?? DEFAULT_ENDPOINT_URL;
  if (!/^https?:\/\/[^/]+/.test(endpointUrl)) {
    throw new Error(`--endpoint-url: must be an http:// or https:// URL (got ${JSON.stringify(endpointUrl)})`);
  }
  const region =
    flags.region ??
    nonEmpty(env.AWS_REGION) ??
    nonEmpty(env.AWS_DEFAULT_REGION) ??
    nonEmpty(env.CAIRN_REGION) ??
    DEFAULT_REGION;
  return { endpointUrl: endpointUrl.replace(/\/+$/, ""), region, credentials: resolveCredentials(dataDir, env) };
}

function resolveCredentials(dataDir: string, env: NodeJS.ProcessEnv): ClientCredentials {
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
    return { accessKeyId, secretAccessKey, origin: "AWS_ACCESS_KEY_ID", ...(sessionToken ? { sessionToken } : {}) };
  }
  const path = join(dataDir, "credentials");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new Error(
      `No credentials: ${path} does not exist and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set. ` +
        "Start the server once with this --data-dir (it writes that file), or export a key from `cairn principal add`.",
    );
  }
  const profile = parseIniSection(text, "default");
  const fileKeyId = profile.get("aws_access_key_id");
  const fileSecret = profile.get("aws_secret_access_key");
  if (fileKeyId === undefined || fileSecret === undefined) {
    throw new Error(`${path}: the [default] profile has no aws_access_key_id/aws_secret_access_key.`);
  }
  return { accessKeyId: fileKeyId, secretAccessKey: fileSecret, origin: path };
}

/**
 * The URL the server wrote into `<data dir>/config` at its last start (its `[services cairn]`
 * section), so commands given the data dir reach a server on any port.
 */
function endpointOfDataDirectory(dataDir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, "config"), "utf8");
  } catch {
    return undefined;
  }
  return /^\s*endpoint_url\s*=\s*(https?:\/\/\S+)\s*$/m.exec(text)?.[1];
}

/** Reads `key = value` lines of one `[section]` of an AWS-style INI file. */
export function parseIniSection(text: string, section: string): Map<string, string> {
  const values = new Map<string, string>();
  let inSection = false;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (header) {
      inSection = header[1] === section;
      continue;
    }
    const equals = line.indexOf("=");
    if (inSection && equals > 0) values.set(line.slice(0, equals).trim(), line.slice(equals + 1).trim());
  }
  return values;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
