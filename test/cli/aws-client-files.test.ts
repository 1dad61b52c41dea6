import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeAwsClientFiles } from "../../src/app/bootstrap.js";
import { parseIniSection, resolveClientSettings } from "../../src/client/client-settings.js";

const directory = mkdtempSync(join(tmpdir(), "cairn-client-files-"));
after(() => rmSync(directory, { recursive: true, force: true }));

const input = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  region: "eu-west-1",
  endpointUrl: "http://127.0.0.1:7680",
};

describe("writeAwsClientFiles", () => {
  it("writes a 0600 credentials file with the [default] profile", async () => {
    const dataDir = join(directory, "a");
    const { credentialsPath } = await writeAwsClientFiles(dataDir, input);
    assert.equal(credentialsPath, join(dataDir, "credentials"));
    assert.equal(statSync(credentialsPath).mode & 0o777, 0o600);
    const profile = parseIniSection(readFileSync(credentialsPath, "utf8"), "default");
    assert.equal(profile.get("aws_access_key_id"), input.accessKeyId);
    assert.equal(profile.get("aws_secret_access_key"), input.secretAccessKey);
  });

  it("writes a config file whose services section points CloudTrail (only) at Cairn", async () => {
    const dataDir = join(directory, "b");
    const { configPath } = await writeAwsClientFiles(dataDir, input);
    const text = readFileSync(configPath, "utf8");
    const profile = parseIniSection(text, "default");
    assert.equal(profile.get("region"), "eu-west-1");
    assert.equal(profile.get("services"), "cairn");
    assert.equal(profile.get("endpoint_url"), undefined, "a profile-wide endpoint would capture S3 and STS too");
    assert.match(text, /\n\[services cairn\]\ncloudtrail =\n {2}endpoint_url = http:\/\/127\.0\.0\.1:7680\n/);
    // The IAM-shaped API and SNS are on the same endpoint.
    assert.match(text, /\niam =\n {2}endpoint_url = http:\/\/127\.0\.0\.1:7680\n/);
    assert.match(text, /\nsns =\n {2}endpoint_url = http:\/\/127\.0\.0\.1:7680\n/);
  });

  it("replaces files atomically, leaving no temp files", async () => {
    const dataDir = join(directory, "c");
    await writeAwsClientFiles(dataDir, input);
    await writeAwsClientFiles(dataDir, { ...input, endpointUrl: "http://127.0.0.1:9999" });
    assert.deepEqual(readdirSync(dataDir).sort(), ["config", "credentials"]);
    assert.match(readFileSync(join(dataDir, "config"), "utf8"), /127\.0\.0\.1:9999/);
    assert.equal(statSync(join(dataDir, "credentials")).mode & 0o777, 0o600);
  });

  it("is what the CLI's client commands read their credentials from", async () => {
    const dataDir = join(directory, "d");
    await writeAwsClientFiles(dataDir, input);
    const settings = resolveClientSettings({ dataDir }, {});
    assert.equal(settings.credentials.accessKeyId, input.accessKeyId);
    assert.equal(settings.credentials.secretAccessKey, input.secretAccessKey);
    assert.equal(settings.endpointUrl, "http://127.0.0.1:7680");
    const fromEnv = resolveClientSettings(
      { dataDir },
      { AWS_ACCESS_KEY_ID: "AKIAOTHEROTHEROTHER1", AWS_SECRET_ACCESS_KEY: "s", CAIRN_ENDPOINT_URL: "http://h:1/" },
    );
    assert.equal(fromEnv.credentials.accessKeyId, "AKIAOTHEROTHEROTHER1");
    assert.equal(fromEnv.endpointUrl, "http://h:1");
    assert.throws(() => resolveClientSettings({ dataDir: join(directory, "missing") }, {}), /No credentials/);
  });
});
