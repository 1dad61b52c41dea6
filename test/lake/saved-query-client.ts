/**
 * A real AWS SDK client for Cairn's saved-query operations: the AWS SDK for JavaScript v2 (signing,
 * the JSON 1.1 protocol, modelled errors) over CloudTrail's own model with the three Cairn
 * operations added, as a user would call an API extension the published SDKs do not model.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import AWS from "aws-sdk";

const require = createRequire(import.meta.url);

const TEXT = { type: "string" };
const SAVED_QUERY = {
  type: "structure",
  members: {
    Name: TEXT,
    QueryStatement: TEXT,
    Description: TEXT,
    CreationTime: { type: "timestamp" },
    UpdatedTime: { type: "timestamp" },
  },
};

function cloudTrailModelWithSavedQueries(): Record<string, unknown> {
  const model = JSON.parse(readFileSync(require.resolve("aws-sdk/apis/cloudtrail-2013-11-01.min.json"), "utf8")) as {
    operations: Record<string, unknown>;
  };
  model.operations["PutSavedQuery"] = {
    input: {
      type: "structure",
      required: ["Name", "QueryStatement"],
      members: { Name: TEXT, QueryStatement: TEXT, Description: TEXT },
    },
    output: SAVED_QUERY,
  };
  model.operations["ListSavedQueries"] = {
    input: { type: "structure", members: { MaxResults: { type: "integer" }, NextToken: TEXT } },
    output: {
      type: "structure",
      members: { SavedQueries: { type: "list", member: SAVED_QUERY }, NextToken: TEXT },
    },
  };
  model.operations["DeleteSavedQuery"] = {
    input: { type: "structure", required: ["Name"], members: { Name: TEXT } },
    output: { type: "structure", members: {} },
  };
  return model;
}

export interface SavedQueryView {
  readonly Name: string;
  readonly QueryStatement: string;
  readonly Description?: string;
  readonly CreationTime: Date;
  readonly UpdatedTime: Date;
}

export interface SavedQueryClient {
  put(input: { Name: string; QueryStatement: string; Description?: string }): Promise<SavedQueryView>;
  list(input?: {
    MaxResults?: number;
    NextToken?: string;
  }): Promise<{ SavedQueries: SavedQueryView[]; NextToken?: string }>;
  delete(input: { Name: string }): Promise<void>;
}

export function savedQueryClient(
  url: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  region = "us-east-1",
): SavedQueryClient {
  // `apiConfig` is a documented Service option the v2 typings leave out.
  const options = {
    apiConfig: cloudTrailModelWithSavedQueries(),
    endpoint: url,
    region,
    credentials: new AWS.Credentials(credentials),
    maxRetries: 0,
  };
  const service = new AWS.Service(options as unknown as AWS.Service["config"]);
  const call = <T>(operation: string, params: object): Promise<T> =>
    service.makeRequest(operation, params).promise() as Promise<T>;
  return {
    put: (input) => call("putSavedQuery", input),
    list: (input = {}) => call("listSavedQueries", input),
    delete: async (input) => void (await call("deleteSavedQuery", input)),
  };
}
