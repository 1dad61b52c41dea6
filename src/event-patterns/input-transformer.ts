import { evaluateJsonPath, parseJsonPath } from "./json-path.js";

/** A target's InputTransformer, as PutTargets takes it. */
export interface InputTransformer {
  readonly InputPathsMap?: Readonly<Record<string, string>>;
  readonly InputTemplate: string;
}

/** The members of a target that shape what it receives; at most one is set (validateTargetInput). */
export interface TargetInputSpec {
  readonly Input?: string;
  readonly InputPath?: string;
  readonly InputTransformer?: InputTransformer;
}

/** What the reserved placeholders stand for, besides the event itself. */
export interface TransformContext {
  /** `arn:aws:events:<region>:<account>:rule/[<bus>/]<name>`. */
  readonly ruleArn: string;
  readonly ruleName: string;
  /** ISO 8601, when the event was received (for Cairn: when its record was made durable). */
  readonly ingestionTime: string;
}

/** The body a target receives, or why there is none (a template whose output is not JSON). */
export type TransformResult =
  { readonly ok: true; readonly body: string } | { readonly ok: false; readonly reason: string };

/** The placeholders EventBridge defines itself; InputPathsMap keys cannot take these names (they hold dots). */
const RESERVED = [
  "aws.events.rule-arn",
  "aws.events.rule-name",
  "aws.events.event.ingestion-time",
  "aws.events.event",
  "aws.events.event.json",
];
const PLACEHOLDER = /<([A-Za-z0-9_.-]+)>/y;

/**
 * What `target` receives for `event` (a parsed event, e.g. a CloudTrail envelope), as EventBridge
 * shapes a target's input: nothing set → the whole event; `Input` → that JSON text; `InputPath` →
 * the value at the path (nothing when the path names nothing); `InputTransformer` → its template
 * with the placeholders filled in (renderTemplate).
 */
export function transformTargetInput(
  target: TargetInputSpec,
  event: Record<string, unknown>,
  context: TransformContext,
): TransformResult {
  if (target.Input !== undefined) return { ok: true, body: target.Input };
  if (target.InputPath !== undefined) {
    const path = parseJsonPath(target.InputPath);
    const value = path === undefined ? undefined : evaluateJsonPath(path, event);
    return { ok: true, body: value === undefined ? "" : JSON.stringify(value) };
  }
  if (target.InputTransformer !== undefined) return renderTemplate(target.InputTransformer, event, context);
  return { ok: true, body: JSON.stringify(event) };
}

/**
 * `aws.events.event`: the event without `detail`, `detail-type` spelled `detailType`, in the order
 * EventBridge writes it (as recorded against AWS: id, account, detailType, time, source, region,
 * resources, version).
 */
function eventWithoutDetail(event: Record<string, unknown>): Record<string, unknown> {
  const order = ["id", "account", "detail-type", "time", "source", "region", "resources", "version"];
  const keys = [
    ...order.filter((key) => Object.hasOwn(event, key)),
    ...Object.keys(event).filter((key) => !order.includes(key)),
  ];
  const result: Record<string, unknown> = {};
  for (const key of keys) if (key !== "detail") result[key === "detail-type" ? "detailType" : key] = event[key];
  return result;
}

function placeholderValues(
  transformer: InputTransformer,
  event: Record<string, unknown>,
  context: TransformContext,
): Map<string, unknown> {
  const values = new Map<string, unknown>([
    ["aws.events.rule-arn", context.ruleArn],
    ["aws.events.rule-name", context.ruleName],
    ["aws.events.event.ingestion-time", context.ingestionTime],
    ["aws.events.event", eventWithoutDetail(event)],
    ["aws.events.event.json", event],
  ]);
  for (const [name, pathText] of Object.entries(transformer.InputPathsMap ?? {})) {
    const path = parseJsonPath(pathText);
    // A path that names nothing leaves its variable empty: "" where a JSON value goes, nothing inside a string.
    values.set(name, path === undefined ? undefined : evaluateJsonPath(path, event));
  }
  return values;
}

/**
 * A value as text without JSON's quotes: EventBridge "removes any internal quotes" of an object or
 * array referenced inside a string (`{acc_id:0a787ecb-4015,sf_id:baz}`, `[ACTIVE,INACTIVE]`).
 */
function unquoted(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return `[${value.map(unquoted).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .map(([key, member]) => `${key}:${unquoted(member)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Text escaped to sit inside a JSON string literal, so the string stays one string. */
function insideString(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/**
 * A placeholder's replacement. Inside a quoted string: the value's text, escaped. Outside: in a
 * JSON template, the value as JSON (strings gain their quotes, a missing value is `""`); in a text
 * template, the value's text as it is.
 */
function replacement(value: unknown, inString: boolean, jsonTemplate: boolean): string {
  if (inString) return value === undefined ? "" : insideString(unquoted(value));
  if (jsonTemplate) return value === undefined ? '""' : JSON.stringify(value);
  return value === undefined ? "" : unquoted(value);
}

/** The template with every defined placeholder replaced, tracking whether each sits inside a JSON string. */
function fillTemplate(template: string, values: ReadonlyMap<string, unknown>, jsonTemplate: boolean): string {
  let output = "";
  let inString = false;
  for (let i = 0; i < template.length;) {
    const char = template[i]!;
    if (inString && char === "\\") {
      output += template.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (char === "<") {
      PLACEHOLDER.lastIndex = i;
      const match = PLACEHOLDER.exec(template);
      if (match !== null && values.has(match[1]!)) {
        output += replacement(values.get(match[1]!), inString, jsonTemplate);
        i += match[0].length;
        continue;
      }
    }
    if (char === '"') inString = !inString;
    output += char;
    i++;
  }
  return output;
}

/** A JSON template is one that is a JSON object (EventBridge: "surrounded by curly braces"); any other is text. */
function isJsonTemplate(template: string): boolean {
  return template.trimStart().startsWith("{");
}

function renderTemplate(
  transformer: InputTransformer,
  event: Record<string, unknown>,
  context: TransformContext,
): TransformResult {
  const template = transformer.InputTemplate;
  const jsonTemplate = isJsonTemplate(template);
  const filled = fillTemplate(template, placeholderValues(transformer, event, context), jsonTemplate);
  if (!jsonTemplate) return { ok: true, body: filled };
  try {
    // EventBridge passes JSON minified.
    return { ok: true, body: JSON.stringify(JSON.parse(filled)) };
  } catch {
    return { ok: false, reason: "The InputTemplate did not produce valid JSON for this event." };
  }
}

const TEMPLATE_LENGTH_MAX = 8192;
const INPUT_LENGTH_MAX = 8192;
const PATHS_MAX = 100;
const PATH_KEY = /^[A-Za-z0-9_-]{1,256}$/;

function constraint(member: string, text: string): string {
  return `1 validation error detected: Value at '${member}' failed to satisfy constraint: ${text}`;
}

function validatePathsMap(
  paths: Readonly<Record<string, string>>,
  targetId: string,
  member: string,
): string | undefined {
  const entries = Object.entries(paths);
  if (entries.length > PATHS_MAX)
    return constraint(member, `Member must have length less than or equal to ${PATHS_MAX}`);
  for (const [key, path] of entries) {
    if (!PATH_KEY.test(key)) {
      return constraint(
        member,
        "Map keys must satisfy constraint: [Member must have length less than or equal to 256, Member must have length " +
          "greater than or equal to 1, Member must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+]",
      );
    }
    if (path.length > 256)
      return constraint(
        member,
        "Map value must satisfy constraint: [Member must have length less than or equal to 256]",
      );
    if (parseJsonPath(path) === undefined)
      return `InputPathsMap for target ${targetId} contains an invalid JSON path for ${key}.`;
  }
  return undefined;
}

/** Every placeholder in the template must be a key of InputPathsMap or a reserved name. */
function undefinedPlaceholder(template: string, defined: ReadonlySet<string>): string | undefined {
  for (const match of template.matchAll(/<([A-Za-z0-9_.-]+)>/g)) if (!defined.has(match[1]!)) return match[1];
  return undefined;
}

/**
 * Whether a JSON template is JSON once its placeholders are values: a placeholder outside a string
 * stands for a value, so one used as an object key (which EventBridge forbids) or a template that
 * is not JSON fails here.
 */
function jsonTemplateIsValid(template: string, defined: ReadonlySet<string>): boolean {
  const values = new Map([...defined].map((name) => [name, 0] as const));
  try {
    JSON.parse(fillTemplate(template, values, true));
    return true;
  } catch {
    return false;
  }
}

/**
 * Why PutTargets refuses an InputTransformer (a ValidationException message), or undefined when it
 * is valid. `member` names it in AWS's constraint messages (e.g. `targets.1.member.inputTransformer`).
 */
export function validateInputTransformer(
  transformer: InputTransformer,
  targetId: string,
  member = "inputTransformer",
): string | undefined {
  const template = transformer.InputTemplate;
  if (template.length < 1)
    return constraint(`${member}.inputTemplate`, "Member must have length greater than or equal to 1");
  if (template.length > TEMPLATE_LENGTH_MAX) {
    return constraint(
      `${member}.inputTemplate`,
      `Member must have length less than or equal to ${TEMPLATE_LENGTH_MAX}`,
    );
  }
  const paths = transformer.InputPathsMap ?? {};
  const pathsError = validatePathsMap(paths, targetId, `${member}.inputPathsMap`);
  if (pathsError !== undefined) return pathsError;
  const defined = new Set([...RESERVED, ...Object.keys(paths)]);
  const missing = undefinedPlaceholder(template, defined);
  if (missing !== undefined) return `InputTemplate for target ${targetId} contains invalid placeholder ${missing}.`;
  if (isJsonTemplate(template) && !jsonTemplateIsValid(template, defined)) {
    return `InputTemplate for target ${targetId} is not valid JSON.`;
  }
  return undefined;
}

function validateInput(input: string, targetId: string, member: string): string | undefined {
  if (input.length > INPUT_LENGTH_MAX)
    return constraint(`${member}.input`, `Member must have length less than or equal to ${INPUT_LENGTH_MAX}`);
  try {
    JSON.parse(input);
    return undefined;
  } catch {
    return `Input for target ${targetId} is not a valid JSON text.`;
  }
}

/**
 * Why PutTargets refuses a target's input members (a ValidationException message), or undefined:
 * at most one of Input, InputPath, InputTransformer; Input valid JSON; InputPath a path EventBridge
 * evaluates; the InputTransformer valid. `member` is the target's path in AWS's messages (`targets.1.member`).
 */
export function validateTargetInput(target: TargetInputSpec, targetId: string, member = "target"): string | undefined {
  const set = [target.Input, target.InputPath, target.InputTransformer].filter((value) => value !== undefined);
  if (set.length > 1)
    return `Only one of Input, InputPath, or InputTransformer must be provided for target ${targetId}.`;
  if (target.Input !== undefined) return validateInput(target.Input, targetId, member);
  if (target.InputPath !== undefined) {
    if (target.InputPath.length > 256)
      return constraint(`${member}.inputPath`, "Member must have length less than or equal to 256");
    if (parseJsonPath(target.InputPath) === undefined)
      return `InputPath for target ${targetId} is not a valid JSON path.`;
  }
  if (target.InputTransformer !== undefined)
    return validateInputTransformer(target.InputTransformer, targetId, `${member}.inputTransformer`);
  return undefined;
}
