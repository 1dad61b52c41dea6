import type { FastifyReply } from "fastify";
import { escapeXml } from "../lib/xml-text.js";
import type { AuditedCall } from "./audited-route.js";

type Members<V> = { readonly [name: string]: V | undefined };

/**
 * Answers a Query-protocol call (IAM, SNS): `<ActionResponse xmlns=…><ActionResult>…</ActionResult>
 * <ResponseMetadata>…` with lists as `<member>` items and nested objects as elements. `special`
 * renders what a service has beyond that (SNS's attribute maps) and returns undefined for the rest.
 */
export function sendQueryResult<V>(
  reply: FastifyReply,
  call: AuditedCall,
  namespace: string,
  result: Members<V> | null,
  special: (value: V) => string | undefined = () => undefined,
): void {
  const membersXml = (members: Members<V>): string =>
    Object.entries(members)
      .filter((entry): entry is [string, V] => entry[1] !== undefined)
      .map(([name, value]) => `<${name}>${valueXml(value)}</${name}>`)
      .join("");
  const valueXml = (value: V): string => {
    const rendered = special(value);
    if (rendered !== undefined) return rendered;
    if (Array.isArray(value)) return value.map((item: V) => `<member>${valueXml(item)}</member>`).join("");
    if (typeof value === "object" && value !== null) return membersXml(value as Members<V>);
    return escapeXml(String(value));
  };
  const action = call.note.eventName;
  const body =
    `<${action}Response xmlns="${namespace}">` +
    (result === null ? "" : `<${action}Result>${membersXml(result)}</${action}Result>`) +
    `<ResponseMetadata><RequestId>${call.requestId}</RequestId></ResponseMetadata></${action}Response>`;
  void reply.code(200).headers({ "content-type": "text/xml", "x-amzn-requestid": call.requestId }).send(body);
}
