/**
 * Names a call that no bundled service model knows (an unpublished API such as the SSM agent's
 * ssmmessages channels, an operation newer than the models), so that it is still recorded: CloudTrail
 * logs every call, modelled or not. Best effort, from what the request itself says:
 *
 * - eventSource: `<service>.amazonaws.com` of the SigV4 scope's service (a model's endpoint prefix
 *   when one is signed so); the SSM agent's `ssmmessages` and `ec2messages` are logged as
 *   `ssm.amazonaws.com`, as CloudTrail does.
 * - eventName: `X-Amz-Target` `<Prefix>.<Operation>` → `<Operation>`; else the `Action` form
 *   parameter; else a known route (ssmmessages' channels); else the method and the path's word
 *   segments (`GET /v1/widget-types/wt-1a2b` → `GetWidgetTypes`). Segments that are not plain words
 *   (ids, tokens: anything with a digit or a capital) never reach the name.
 * - requestParameters: the URL's and form body's parameters (signing parameters dropped), the JSON
 *   body's members lower-camel, and a known route's ids (`channelId`). No model says which members
 *   are secret, so the shared name-list redaction of `buildApiCallRecord` is their protection.
 */
import { lowerFirst, toLowerCamelKeys } from "../../normalize/lower-camel.js";
import { asObject, tryParseJson } from "./decode-request.js";
import { headerText, type CapturedRequest } from "./identify.js";
import { parseQueryParams } from "./query-request.js";

export interface UnmodelledCall {
  readonly eventSource: string;
  readonly eventName: string;
  readonly requestParameters: Record<string, unknown> | null;
}

/** Signing names whose calls CloudTrail logs under another service's eventSource. */
const LOGGED_UNDER: Readonly<Record<string, string>> = { ssmmessages: "ssm", ec2messages: "ssm" };

/** What a SigV4 service name looks like; anything else is not named in an eventSource. */
const SERVICE_NAME = /^[a-z0-9][a-z0-9.-]{0,62}$/;
/** An operation name as AWS spells them. */
const OPERATION_NAME = /^[A-Za-z][A-Za-z0-9]{0,127}$/;
/** A path segment kept in a derived eventName: a lower-case word (`control-channel`). */
const WORD_SEGMENT = /^[a-z]+(?:-[a-z]+)*$/;
const MAX_NAME_SEGMENTS = 6;
const MAX_WORD_LENGTH = 40;

interface KnownRoute {
  readonly path: RegExp;
  /** HTTP method → eventName. */
  readonly names: Readonly<Record<string, string>>;
  /** The member the path's id is logged as. */
  readonly idMember: string;
}

/**
 * Routes of unpublished APIs whose names CloudTrail's records show: the SSM agent opens its Session
 * Manager channels with `POST /v1/control-channel/<channel id>` (CreateControlChannel, logged with
 * `channelId`) and `/v1/data-channel/<session id>`, then the websocket `GET` on the same path.
 */
const KNOWN_ROUTES: Readonly<Record<string, readonly KnownRoute[]>> = {
  ssmmessages: [
    {
      path: /^\/v1\/control-channel\/([A-Za-z0-9_.-]{1,128})$/,
      names: { POST: "CreateControlChannel", GET: "OpenControlChannel" },
      idMember: "channelId",
    },
    {
      path: /^\/v1\/data-channel\/([A-Za-z0-9_.-]{1,128})$/,
      names: { POST: "CreateDataChannel", GET: "OpenDataChannel" },
      idMember: "channelId",
    },
  ],
};

/** Query and form parameters that sign or route a request rather than state what it asks. */
function isTransportParameter(name: string): boolean {
  return name === "Action" || name === "Version" || name.toLowerCase().startsWith("x-amz-");
}

function isFormBody(request: CapturedRequest): boolean {
  const type = (headerText(request.headers, "content-type") ?? "").toLowerCase();
  return type.startsWith("application/x-www-form-urlencoded");
}

function parametersOf(request: CapturedRequest): Map<string, string> {
  const params = parseQueryParams(request.rawQuery);
  if (request.body !== undefined && isFormBody(request)) {
    for (const [key, value] of parseQueryParams(request.body.toString("utf8"))) {
      if (!params.has(key)) params.set(key, value);
    }
  }
  return params;
}

/**
 * @example describeUnmodelledCall("ssmmessages", { method: "POST", path: "/v1/control-channel/c-1", … })
 * // → { eventSource: "ssm.amazonaws.com", eventName: "CreateControlChannel", requestParameters: { channelId: "c-1", … } }
 */
export function describeUnmodelledCall(
  service: string,
  request: CapturedRequest,
  modelledSource?: string,
): UnmodelledCall | undefined {
  if (!SERVICE_NAME.test(service)) return undefined;
  const eventSource = `${LOGGED_UNDER[service] ?? modelledSource ?? service}.amazonaws.com`;
  const params = parametersOf(request);
  const route = KNOWN_ROUTES[service]?.flatMap((known) => {
    const match = known.path.exec(request.path);
    const name = known.names[request.method];
    return match === null || name === undefined ? [] : [{ name, id: { [known.idMember]: match[1]! } }];
  })[0];
  const eventName = targetOperation(request) ?? actionOf(params) ?? route?.name ?? routeName(request);
  const members = new Map<string, unknown>(route === undefined ? [] : Object.entries(route.id));
  for (const [key, value] of params) if (!isTransportParameter(key)) members.set(lowerFirst(key), value);
  const body = isFormBody(request) ? null : jsonBodyOf(request);
  for (const [key, value] of Object.entries(body ?? {})) members.set(key, value);
  // fromEntries defines own properties: a `__proto__` member stays a member.
  const requestParameters = members.size === 0 ? null : Object.fromEntries(members);
  return { eventSource, eventName, requestParameters };
}

function targetOperation(request: CapturedRequest): string | undefined {
  const target = headerText(request.headers, "x-amz-target") ?? "";
  const operation = target.slice(target.lastIndexOf(".") + 1);
  return OPERATION_NAME.test(operation) ? operation : undefined;
}

function actionOf(params: ReadonlyMap<string, string>): string | undefined {
  const action = params.get("Action");
  return action !== undefined && OPERATION_NAME.test(action) ? action : undefined;
}

/** `<Method><Word segments>`, PascalCase: `POST /v1/things/abc123/refresh` → `PostThingsRefresh`. */
function routeName(request: CapturedRequest): string {
  const method = /^[A-Z]{1,16}$/.test(request.method) ? pascal(request.method.toLowerCase()) : "Request";
  const words = request.path
    .split("/")
    .filter((segment) => segment.length <= MAX_WORD_LENGTH && WORD_SEGMENT.test(segment))
    .slice(0, MAX_NAME_SEGMENTS);
  return method + words.map((word) => word.split("-").map(pascal).join("")).join("");
}

function pascal(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function jsonBodyOf(request: CapturedRequest): Record<string, unknown> | null {
  if (request.body === undefined) return null;
  return asObject(toLowerCamelKeys(tryParseJson(request.body.toString("utf8"))));
}
