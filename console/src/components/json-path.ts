export type JsonPath = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * A path as an analyst types it: `userIdentity.sessionContext.sessionIssuer.arn`, `resources[0].ARN`;
 * a key that is not an identifier is quoted (`requestParameters["x-amz-acl"]`).
 */
export function pathOf(path: JsonPath): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else if (IDENTIFIER.test(part)) text += text === "" ? part : `.${part}`;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text;
}
