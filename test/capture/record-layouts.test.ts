import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { withRecordLayout } from "../../src/capture/protocols/record-layouts.js";

describe("record layouts: calls CloudTrail logs under its own member names", () => {
  const decoded = {
    requestParameters: { instanceId: "i-1", instanceOSUser: "ec2-user", sSHPublicKey: "ssh-rsa AAAA" },
    responseElements: { requestId: "r-1", success: true },
  };

  it("EC2 Instance Connect SendSSHPublicKey: osUser, SSHKey.publicKey, no responseElements", () => {
    assert.deepEqual(withRecordLayout("ec2-instance-connect.amazonaws.com", "SendSSHPublicKey", decoded), {
      requestParameters: { instanceId: "i-1", osUser: "ec2-user", SSHKey: { publicKey: "ssh-rsa AAAA" } },
      responseElements: null,
    });
  });

  it("leaves other calls as decoded, and a caller's __proto__ member a member", () => {
    assert.equal(withRecordLayout("ec2.amazonaws.com", "SendSSHPublicKey", decoded), decoded);
    const hostile = { requestParameters: JSON.parse('{"__proto__": {"polluted": 1}, "instanceOSUser": "u"}') };
    const laid = withRecordLayout("ec2-instance-connect.amazonaws.com", "SendSSHPublicKey", {
      ...hostile,
      responseElements: null,
    });
    assert.deepEqual(Object.keys(laid.requestParameters ?? {}), ["__proto__", "osUser"]);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
    assert.equal(Object.getPrototypeOf(laid.requestParameters), Object.prototype);
  });
});
