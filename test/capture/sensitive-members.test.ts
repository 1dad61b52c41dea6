import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ServiceModels } from "../../src/capture/protocols/service-models.js";
import { decodeCall } from "../../src/capture/protocols/decode-call.js";
import { identifyCall } from "../../src/capture/protocols/protocol-codecs.js";
import { recordOfCall, type ObservedCall } from "../../src/capture/proxy/record-of-call.js";
import { EC2_SENSITIVE_DATA_REMOVED, HIDDEN, PASSWORD_MASK } from "../../src/normalize/redact.js";

/**
 * Secrets in captured calls, over the real service models: each call goes in as the bytes a client
 * and the service exchange, and comes out as the CloudTrail record Cairn stores. Expected values are
 * those of CloudTrail's own records (see src/normalize/redaction-exceptions.ts for the citations).
 */
const models = new ServiceModels();
const context = { models, principals: undefined, defaultAccountId: "123456789012" };
const SIGV4 =
  "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/SERVICE/aws4_request, SignedHeaders=host, Signature=00";
const SECRET = "TopS3cret-c4ff33";

interface CallSpec {
  service: string;
  /** JSON protocols: the X-Amz-Target; query protocols: leave out and give a form body. */
  target?: string;
  /** REST protocols: the route and the request's own headers. */
  rest?: { method: string; path: string; headers: Record<string, string> };
  body: string;
  responseBody: string;
}

function observed(spec: CallSpec): ObservedCall {
  const body = Buffer.from(spec.body);
  const responseBody = Buffer.from(spec.responseBody);
  const json = spec.target !== undefined || spec.rest !== undefined;
  return {
    scope: { accessKeyId: "AKIAEXAMPLE", region: "us-east-1", service: spec.service },
    request: {
      method: spec.rest?.method ?? "POST",
      path: spec.rest?.path ?? "/",
      rawQuery: "",
      headers: {
        authorization: SIGV4.replace("SERVICE", spec.service),
        "content-type": json ? "application/x-amz-json-1.1" : "application/x-www-form-urlencoded",
        ...(spec.target === undefined ? {} : { "x-amz-target": spec.target }),
        ...spec.rest?.headers,
      },
      body,
      bodyBytes: body.length,
    },
    response: {
      status: 200,
      headers: { "content-type": json ? "application/x-amz-json-1.1" : "text/xml" },
      body: responseBody,
      bodyBytes: responseBody.length,
    },
    sourceIPAddress: "127.0.0.1",
    completedAtMs: Date.UTC(2026, 0, 1),
  };
}

type EventRecord = Record<string, unknown> & {
  requestParameters: Record<string, unknown> | null;
  responseElements: Record<string, unknown> | null;
};

/** The stored record; asserts no secret of the call survives anywhere in its JSON. */
function record(spec: CallSpec, secrets: readonly string[] = [SECRET]): EventRecord {
  const json = recordOfCall(context, observed(spec));
  assert.ok(json, `no record for ${spec.target ?? spec.rest?.path ?? spec.body}`);
  for (const secret of secrets) assert.equal(json.includes(secret), false, `${secret} in ${json}`);
  return JSON.parse(json) as EventRecord;
}

/** requestParameters/responseElements as decoded, before the record drops read-only answers. */
function decoded(spec: CallSpec) {
  const call = observed(spec);
  const identified = identifyCall(models, spec.service, call.request);
  assert.ok(identified);
  return decodeCall(identified, call.request, call.response);
}

const xml = (operation: string, result: string, namespace = "https://iam.amazonaws.com/doc/2010-05-08/") =>
  `<${operation}Response xmlns="${namespace}"><${operation}Result>${result}</${operation}Result>` +
  `<ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata></${operation}Response>`;

describe("sensitive members of captured calls", () => {
  it("SSM PutParameter SecureString: value hidden, as CloudTrail logs it", () => {
    const event = record({
      service: "ssm",
      target: "AmazonSSM.PutParameter",
      body: JSON.stringify({ Name: "/db/password", Value: SECRET, Type: "SecureString", Overwrite: false }),
      responseBody: JSON.stringify({ Version: 1, Tier: "Standard" }),
    });
    assert.deepEqual(event.requestParameters, {
      name: "/db/password",
      value: HIDDEN,
      type: "SecureString",
      overwrite: false,
    });
  });

  it("SSM SendCommand: parameters hidden in the request and in responseElements.command", () => {
    const event = record({
      service: "ssm",
      target: "AmazonSSM.SendCommand",
      body: JSON.stringify({
        DocumentName: "AWS-RunShellScript",
        InstanceIds: ["i-1"],
        Parameters: { commands: [`echo ${SECRET}`] },
      }),
      responseBody: JSON.stringify({
        Command: { CommandId: "c-1", DocumentName: "AWS-RunShellScript", Parameters: { commands: [`echo ${SECRET}`] } },
      }),
    });
    assert.equal(event.requestParameters?.["parameters"], HIDDEN);
    assert.deepEqual(event.responseElements, {
      command: { commandId: "c-1", documentName: "AWS-RunShellScript", parameters: HIDDEN },
    });
  });

  it("SSM GetParameter WithDecryption: the decrypted value is hidden even before the read-only answer is dropped", () => {
    const spec = {
      service: "ssm",
      target: "AmazonSSM.GetParameter",
      body: JSON.stringify({ Name: "/db/password", WithDecryption: true }),
      responseBody: JSON.stringify({ Parameter: { Name: "/db/password", Type: "SecureString", Value: SECRET } }),
    };
    assert.deepEqual(decoded(spec).responseElements, {
      parameter: { name: "/db/password", type: "SecureString", value: HIDDEN },
    });
    assert.equal(record(spec).responseElements, null);
  });

  it("Secrets Manager CreateSecret and PutSecretValue: the secret is not logged; GetSecretValue's is hidden", () => {
    const create = record({
      service: "secretsmanager",
      target: "secretsmanager.CreateSecret",
      body: JSON.stringify({ Name: "db", SecretString: SECRET, ClientRequestToken: "D796F4C4" }),
      responseBody: JSON.stringify({ ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-x", Name: "db" }),
    });
    assert.deepEqual(create.requestParameters, { name: "db", clientRequestToken: "D796F4C4" });
    const put = record({
      service: "secretsmanager",
      target: "secretsmanager.PutSecretValue",
      body: JSON.stringify({ SecretId: "db", SecretString: SECRET, ClientRequestToken: "9128BF7A" }),
      responseBody: JSON.stringify({ ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-x" }),
    });
    assert.deepEqual(put.requestParameters, { secretId: "db", clientRequestToken: "9128BF7A" });
    const get = decoded({
      service: "secretsmanager",
      target: "secretsmanager.GetSecretValue",
      body: JSON.stringify({ SecretId: "db" }),
      responseBody: JSON.stringify({ Name: "db", SecretString: SECRET, SecretBinary: "c2VjcmV0" }),
    });
    assert.deepEqual(get.responseElements, { name: "db", secretString: HIDDEN, secretBinary: HIDDEN });
  });

  it("IAM CreateLoginProfile: no password member; CreateAccessKey: no secretAccessKey", () => {
    const profile = record({
      service: "iam",
      body: `Action=CreateLoginProfile&UserName=bob&Password=${SECRET}&PasswordResetRequired=false&Version=2010-05-08`,
      responseBody: xml(
        "CreateLoginProfile",
        "<LoginProfile><UserName>bob</UserName><CreateDate>2026-01-01T00:00:00Z</CreateDate>" +
          "<PasswordResetRequired>false</PasswordResetRequired></LoginProfile>",
      ),
    });
    assert.deepEqual(profile.requestParameters, { userName: "bob", passwordResetRequired: false });
    const key = record({
      service: "iam",
      body: "Action=CreateAccessKey&UserName=bob&Version=2010-05-08",
      responseBody: xml(
        "CreateAccessKey",
        "<AccessKey><UserName>bob</UserName><AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId><Status>Active</Status>" +
          `<SecretAccessKey>${SECRET}</SecretAccessKey><CreateDate>2026-01-01T00:00:00Z</CreateDate></AccessKey>`,
      ),
    });
    const accessKey = key.responseElements?.["accessKey"] as Record<string, unknown>;
    assert.deepEqual(Object.keys(accessKey).sort(), ["accessKeyId", "createDate", "status", "userName"]);
  });

  it("STS AssumeRole: credentials keep accessKeyId, sessionToken, expiration; no secret key", () => {
    const event = record({
      service: "sts",
      body: "Action=AssumeRole&RoleArn=arn:aws:iam::123456789012:role/r&RoleSessionName=s&Version=2011-06-15",
      responseBody: xml(
        "AssumeRole",
        "<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>" +
          `<SecretAccessKey>${SECRET}</SecretAccessKey><SessionToken>FwoGZXIvYXdzEXAMPLE</SessionToken>` +
          "<Expiration>2026-01-01T01:00:00Z</Expiration></Credentials>" +
          "<AssumedRoleUser><AssumedRoleId>AROA1:s</AssumedRoleId>" +
          "<Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser>",
        "https://sts.amazonaws.com/doc/2011-06-15/",
      ),
    });
    const credentials = event.responseElements?.["credentials"] as Record<string, unknown>;
    assert.deepEqual(Object.keys(credentials).sort(), ["accessKeyId", "expiration", "sessionToken"]);
    assert.equal(credentials["sessionToken"], "FwoGZXIvYXdzEXAMPLE");
  });

  it("RDS CreateDBInstance: masterUserPassword **** in the request and the unwrapped answer", () => {
    const event = record({
      service: "rds",
      body:
        "Action=CreateDBInstance&DBInstanceIdentifier=db1&Engine=mysql&MasterUsername=admin" +
        `&MasterUserPassword=${SECRET}&DBInstanceClass=db.t3.micro&AllocatedStorage=20&Version=2014-10-31`,
      responseBody: xml(
        "CreateDBInstance",
        "<DBInstance><DBInstanceIdentifier>db1</DBInstanceIdentifier><Engine>mysql</Engine>" +
          `<PendingModifiedValues><MasterUserPassword>${SECRET}</MasterUserPassword></PendingModifiedValues></DBInstance>`,
        "http://rds.amazonaws.com/doc/2014-10-31/",
      ),
    });
    assert.equal(event.requestParameters?.["masterUserPassword"], PASSWORD_MASK);
    assert.deepEqual(event.responseElements, {
      dBInstanceIdentifier: "db1",
      engine: "mysql",
      pendingModifiedValues: { masterUserPassword: PASSWORD_MASK },
    });
  });

  it("EC2 CreateKeyPair keyMaterial and RunInstances userData: <sensitiveDataRemoved>", () => {
    const ec2 = "http://ec2.amazonaws.com/doc/2016-11-15/";
    const keyPair = record({
      service: "ec2",
      body: "Action=CreateKeyPair&KeyName=k1&Version=2016-11-15",
      responseBody:
        `<CreateKeyPairResponse xmlns="${ec2}"><requestId>r-1</requestId><keyName>k1</keyName>` +
        `<keyFingerprint>1f:51:ae</keyFingerprint><keyMaterial>-----BEGIN RSA PRIVATE KEY-----${SECRET}` +
        "-----END RSA PRIVATE KEY-----</keyMaterial><keyPairId>key-1</keyPairId></CreateKeyPairResponse>",
    });
    assert.equal(keyPair.responseElements?.["keyMaterial"], EC2_SENSITIVE_DATA_REMOVED);
    const userData = Buffer.from(`#!/bin/sh\necho ${SECRET}\n`).toString("base64");
    const run = record(
      {
        service: "ec2",
        body: `Action=RunInstances&ImageId=ami-1&MinCount=1&MaxCount=1&UserData=${encodeURIComponent(userData)}&Version=2016-11-15`,
        responseBody: `<RunInstancesResponse xmlns="${ec2}"><requestId>r-2</requestId><reservationId>r-9</reservationId></RunInstancesResponse>`,
      },
      [SECRET, userData],
    );
    assert.equal(run.requestParameters?.["userData"], EC2_SENSITIVE_DATA_REMOVED);
  });

  it("EC2 requests: a sensitive member inside a list EC2 renames (TunnelOptions.N → tunnelOptionsSet)", () => {
    const event = record({
      service: "ec2",
      body:
        "Action=CreateVpnConnection&Type=ipsec.1&CustomerGatewayId=cgw-1&VpnGatewayId=vgw-1" +
        `&Options.TunnelOptions.1.PreSharedKey=${SECRET}&Options.TunnelOptions.1.TunnelInsideCidr=169.254.10.0%2F30` +
        "&Version=2016-11-15",
      responseBody:
        '<CreateVpnConnectionResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-3</requestId>' +
        `<vpnConnection><vpnConnectionId>vpn-1</vpnConnectionId><customerGatewayConfiguration>${SECRET}` +
        "</customerGatewayConfiguration><options><tunnelOptionSet><item>" +
        `<preSharedKey>${SECRET}</preSharedKey></item></tunnelOptionSet></options></vpnConnection></CreateVpnConnectionResponse>`,
    });
    const options = event.requestParameters?.["options"] as Record<string, unknown>;
    assert.deepEqual(options["tunnelOptionsSet"], {
      items: [{ preSharedKey: EC2_SENSITIVE_DATA_REMOVED, tunnelInsideCidr: "169.254.10.0/30" }],
    });
    const connection = event.responseElements?.["vpnConnection"] as Record<string, unknown>;
    assert.equal(connection["customerGatewayConfiguration"], EC2_SENSITIVE_DATA_REMOVED);
  });

  it("rest-xml: S3's SSE-C key header is hidden, the other headers kept", () => {
    const event = record({
      service: "s3",
      rest: {
        method: "PUT",
        path: "/bk/key.txt",
        headers: {
          host: "localhost",
          "x-amz-server-side-encryption-customer-algorithm": "AES256",
          "x-amz-server-side-encryption-customer-key": SECRET,
        },
      },
      body: "hello",
      responseBody: "",
    });
    assert.equal(event.requestParameters?.["x-amz-server-side-encryption-customer-key"], HIDDEN);
    assert.equal(event.requestParameters?.["x-amz-server-side-encryption-customer-algorithm"], "AES256");
  });

  it("S3's KMS key ARN header stays, as CloudTrail logs it, though the model marks it sensitive", () => {
    const keyArn = "arn:aws:kms:us-east-1:999999999999:key/attacker-key-id";
    const event = record({
      service: "s3",
      rest: {
        method: "PUT",
        path: "/bk/key.txt",
        headers: {
          host: "localhost",
          "x-amz-copy-source": "bk/other.txt",
          "x-amz-server-side-encryption": "aws:kms",
          "x-amz-server-side-encryption-aws-kms-key-id": keyArn,
          "x-amz-server-side-encryption-context": Buffer.from(`{"k":"${SECRET}"}`).toString("base64"),
        },
      },
      body: "",
      responseBody: "<CopyObjectResult><ETag>&quot;e&quot;</ETag></CopyObjectResult>",
    });
    assert.equal(event["eventName"], "CopyObject");
    assert.equal(event.requestParameters?.["x-amz-server-side-encryption-aws-kms-key-id"], keyArn);
    assert.equal(event.requestParameters?.["x-amz-server-side-encryption-context"], HIDDEN);
  });

  it("rest-json: SSO OIDC CreateToken's client secret and tokens are hidden", () => {
    const token = decoded({
      service: "sso-oauth",
      rest: { method: "POST", path: "/token", headers: { host: "oidc.us-east-1.amazonaws.com" } },
      body: JSON.stringify({ clientId: "c1", clientSecret: SECRET, grantType: "refresh_token", refreshToken: SECRET }),
      responseBody: JSON.stringify({ accessToken: SECRET, idToken: SECRET, refreshToken: SECRET, expiresIn: 28800 }),
    });
    assert.deepEqual(token.requestParameters, {
      clientId: "c1",
      clientSecret: HIDDEN,
      grantType: "refresh_token",
      refreshToken: HIDDEN,
    });
    assert.deepEqual(token.responseElements, {
      accessToken: HIDDEN,
      idToken: HIDDEN,
      refreshToken: HIDDEN,
      expiresIn: 28800,
    });
  });

  it("lists of sensitive items and maps of sensitive values or keys are hidden item by item, or whole", () => {
    const optedOut = decoded({
      service: "sns",
      body: "Action=ListPhoneNumbersOptedOut&Version=2010-03-31",
      responseBody:
        '<ListPhoneNumbersOptedOutResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">' +
        "<ListPhoneNumbersOptedOutResult><phoneNumbers><member>+15555550100</member><member>+15555550101</member>" +
        "</phoneNumbers></ListPhoneNumbersOptedOutResult></ListPhoneNumbersOptedOutResponse>",
    });
    assert.deepEqual(optedOut.responseElements, { phoneNumbers: [HIDDEN, HIDDEN] });
    const service = decoded({
      service: "apprunner",
      target: "AppRunner.CreateService",
      body: JSON.stringify({
        ServiceName: "web",
        SourceConfiguration: {
          ImageRepository: {
            ImageIdentifier: "public.ecr.aws/x/y:latest",
            ImageRepositoryType: "ECR_PUBLIC",
            ImageConfiguration: { Port: "8080", RuntimeEnvironmentVariables: { DB_PASSWORD: SECRET } },
          },
        },
      }),
      responseBody: "{}",
    });
    const repository = (service.requestParameters?.["sourceConfiguration"] as Record<string, unknown>)[
      "imageRepository"
    ] as Record<string, unknown>;
    assert.deepEqual(repository["imageConfiguration"], { port: "8080", runtimeEnvironmentVariables: HIDDEN });
  });
});
