import { ApiError } from "../../lib/api-error.js";
import { isPlainObject } from "../../lib/plain-object.js";
import type { ConnectionParameter, InvocationHttpParameters, OAuthAuth } from "../../stores/event-rules/index.js";
import { endpointOf } from "./api-destinations.js";
import {
  constraintError,
  enumString,
  optionalList,
  optionalObject,
  optionalString,
  requiredString,
  type StringShape,
} from "./events-input.js";

/** `AuthHeaderParameters` of the model: a header name or value without control characters or `:`. */
export const AUTH_HEADER: StringShape = {
  min: 1,
  max: 512,
  // Control characters are what the pattern excludes, so it must name them.
  // eslint-disable-next-line no-control-regex
  pattern: /^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$/,
  patternText: "^[ \\t]*[^\\x00-\\x1F:\\x7F]+([ \\t]+[^\\x00-\\x1F:\\x7F]+)*[ \\t]*$",
};
const PARAMETER_LISTS = ["HeaderParameters", "QueryStringParameters", "BodyParameters"] as const;
const OAUTH_METHODS = ["GET", "POST", "PUT"] as const;
const OAUTH_AT = "AuthParameters.OAuthParameters";

function parametersOf(list: unknown[], at: string): ConnectionParameter[] {
  if (list.length > 100) throw constraintError(at, "…", "Member must have length less than or equal to 100");
  return list.map((item, index) => {
    const member = `${at}.${index + 1}.member`;
    if (!isPlainObject(item)) throw new ApiError("SerializationException", `Member '${member}' must be an object.`);
    const key = requiredString(item, `${member}.Key`, { min: 1, max: 512 });
    const value = requiredString(item, `${member}.Value`, { max: 512 });
    const secret = item["IsValueSecret"];
    if (secret !== undefined && secret !== null && typeof secret !== "boolean") {
      throw new ApiError("SerializationException", `Member '${member}.IsValueSecret' must be a boolean.`);
    }
    return { key, value, isValueSecret: secret === true };
  });
}

/** A ConnectionHttpParameters member (`InvocationHttpParameters`, `OAuthHttpParameters`) of `parent` at `at`. */
export function httpParametersOf(
  parent: Record<string, unknown>,
  member: string,
  at: string,
): InvocationHttpParameters | undefined {
  const parameters = optionalObject(parent, member);
  if (parameters === undefined) return undefined;
  const out: Record<string, ConnectionParameter[]> = {};
  for (const list of PARAMETER_LISTS) {
    const where = `${at}.${list}`;
    const given = optionalList(parameters, where);
    if (given !== undefined) out[list.charAt(0).toLowerCase() + list.slice(1)] = parametersOf(given, where);
  }
  return out;
}

/** ConnectionHttpParameters as DescribeConnection shows it (secret values are absent from the stored view). */
export function parametersOutput(parameters: InvocationHttpParameters): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const member of PARAMETER_LISTS) {
    const list = parameters[(member.charAt(0).toLowerCase() + member.slice(1)) as keyof InvocationHttpParameters];
    if (list === undefined) continue;
    out[member] = list.map((p) => ({
      Key: p.key,
      ...(p.value !== undefined ? { Value: p.value } : {}),
      IsValueSecret: p.isValueSecret,
    }));
  }
  return out;
}

/**
 * `OAuthParameters` of CreateConnection (every member but OAuthHttpParameters required) or, with
 * `current`, of UpdateConnection: a member not given keeps the current one, as EventBridge updates
 * an OAuth connection member by member.
 */
export function oauthOf(given: Record<string, unknown>, current?: OAuthAuth): OAuthAuth {
  const client = current === undefined ? undefined : optionalObject(given, "ClientParameters");
  const clientParameters = current === undefined ? required(given, "ClientParameters") : client;
  const at = `${OAUTH_AT}.ClientParameters`;
  const clientId = clientParameters && optionalString(clientParameters, `${at}.ClientID`, AUTH_HEADER);
  const clientSecret = clientParameters && optionalString(clientParameters, `${at}.ClientSecret`, AUTH_HEADER);
  const endpoint =
    current === undefined || given["AuthorizationEndpoint"] != null
      ? endpointOf(given, "AuthorizationEndpoint", `${OAUTH_AT}.AuthorizationEndpoint`)
      : current.authorizationEndpoint;
  const method = enumString(given, `${OAUTH_AT}.HttpMethod`, OAUTH_METHODS, current === undefined);
  const parameters = httpParametersOf(given, "OAuthHttpParameters", `${OAUTH_AT}.OAuthHttpParameters`);
  const oauthHttpParameters = parameters ?? current?.oauthHttpParameters;
  return {
    authorizationEndpoint: endpoint,
    httpMethod: method ?? current!.httpMethod,
    clientId: clientId ?? current?.clientId ?? missing(`${at}.ClientID`),
    clientSecret: clientSecret ?? current?.clientSecret ?? missing(`${at}.ClientSecret`),
    ...(oauthHttpParameters !== undefined ? { oauthHttpParameters } : {}),
  };
}

function required(given: Record<string, unknown>, member: string): Record<string, unknown> {
  const value = optionalObject(given, member);
  if (value === undefined) throw constraintError(`${OAUTH_AT}.${member}`, null, "Member must not be null");
  return value;
}

function missing(member: string): never {
  throw constraintError(member, null, "Member must not be null");
}

/** DescribeConnection's `OAuthParameters`: the client id, never the secret. */
export function oauthOutput(oauth: Omit<OAuthAuth, "clientSecret">): Record<string, unknown> {
  return {
    ClientParameters: { ClientID: oauth.clientId },
    AuthorizationEndpoint: oauth.authorizationEndpoint,
    HttpMethod: oauth.httpMethod,
    ...(oauth.oauthHttpParameters !== undefined
      ? { OAuthHttpParameters: parametersOutput(oauth.oauthHttpParameters) }
      : {}),
  };
}
