import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createListPublicKeysOperation } from "../../src/control-plane/list-public-keys.js";
import type { Principal } from "../../src/stores/principals/principal.js";
import type { SigningKeyStore } from "../../src/stores/signing-keys/signing-keys.js";
import type { TrailConfig } from "../../src/stores/trails/trail.js";

/**
 * TEST-ONLY CloudTrail endpoint: just the two calls `aws cloudtrail validate-logs` makes
 * (DescribeTrails, ListPublicKeys), without authentication. ListPublicKeys is the real operation
 * handler over the real key store; the real server (src/server.ts) is exercised by the lead's
 * end-to-end run.
 */
export async function startCloudTrailStub(
  keys: SigningKeyStore,
  trails: () => TrailConfig[],
): Promise<{ url: string; close(): Promise<void> }> {
  const listPublicKeys = createListPublicKeysOperation({ keys });
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      void (async () => {
        const target = String(request.headers["x-amz-target"] ?? "")
          .split(".")
          .pop();
        const input = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
        const region =
          /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(request.headers.authorization))?.[1] ?? "us-east-1";
        let body: unknown;
        if (target === "ListPublicKeys") {
          const context = {
            principal: {} as Principal,
            accountId: "",
            region,
            requestId: "stub",
            nowMs: Date.now(),
            authorize: allowed,
          };
          body = (await listPublicKeys(input, context)).output;
        } else if (target === "DescribeTrails") {
          body = {
            trailList: trails().map((t) => ({
              Name: t.name,
              S3BucketName: t.s3BucketName,
              ...(t.s3KeyPrefix ? { S3KeyPrefix: t.s3KeyPrefix } : {}),
              IncludeGlobalServiceEvents: t.includeGlobalServiceEvents,
              IsMultiRegionTrail: t.isMultiRegionTrail,
              HomeRegion: t.homeRegion,
              TrailARN: t.trailArn,
              LogFileValidationEnabled: t.logFileValidationEnabled,
              HasCustomEventSelectors: t.hasCustomEventSelectors,
              HasInsightSelectors: false,
              IsOrganizationTrail: t.isOrganizationTrail,
            })),
          };
        } else {
          response.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
          response.end(JSON.stringify({ __type: "UnknownOperationException", message: String(target) }));
          return;
        }
        response.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
        response.end(JSON.stringify(body));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The stub serves the CLI under test, which may read everything. */
async function allowed(): Promise<void> {}
