/**
 * Validation of basic event selectors (spec §6.1): what PutEventSelectors accepts in `EventSelectors`,
 * returned with every member filled in, as GetEventSelectors shows them.
 */
import { InvalidEventSelectorsError, SelectorShapeError } from "./selector-errors.js";
import type { BasicEventSelector, DataResource } from "./selector-types.js";

const MAX_BASIC_SELECTORS = 5;
/** Per trail, across selectors; "all resources of a type" values are not counted (spec §5.6). */
const MAX_DATA_RESOURCE_VALUES = 250;
const READ_WRITE_TYPES = ["ReadOnly", "WriteOnly", "All"] as const;
export const EXCLUDABLE_MANAGEMENT_SOURCES = ["kms.amazonaws.com", "rdsdata.amazonaws.com"] as const;

/** What a trail logs before any PutEventSelectors: every management event, no data events. */
export const DEFAULT_BASIC_SELECTOR: BasicEventSelector = Object.freeze({
  ReadWriteType: "All",
  IncludeManagementEvents: true,
  DataResources: Object.freeze([]),
  ExcludeManagementEventSources: Object.freeze([]),
});

const P = "arn:aws(?:-[a-z]+)*";
/** Per type: the "every resource of the type" forms, and the form of one resource (or prefix). */
const DATA_RESOURCE_TYPES: Readonly<Record<string, { all: RegExp; one: RegExp; example: string }>> = {
  "AWS::S3::Object": {
    all: new RegExp(`^${P}:s3(?::::)?$`),
    // A bucket alone is refused: the trailing "/" says "objects of the bucket" (spec §6.1).
    one: new RegExp(`^${P}:s3:::[A-Za-z0-9][A-Za-z0-9._-]{1,254}/.*$`),
    example: "arn:aws:s3 (all buckets) or arn:aws:s3:::bucket/ or arn:aws:s3:::bucket/prefix",
  },
  "AWS::Lambda::Function": {
    all: new RegExp(`^${P}:lambda$`),
    one: new RegExp(`^${P}:lambda:[a-z0-9-]+:\\d{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9$_-]{1,128})?$`),
    example: "arn:aws:lambda (all functions) or arn:aws:lambda:<region>:<account>:function:<name>",
  },
  "AWS::DynamoDB::Table": {
    all: new RegExp(`^${P}:dynamodb$`),
    one: new RegExp(`^${P}:dynamodb:[a-z0-9-]+:\\d{12}:table/[A-Za-z0-9_.-]{3,255}$`),
    example: "arn:aws:dynamodb (all tables) or arn:aws:dynamodb:<region>:<account>:table/<name>",
  },
};
const BASIC_DATA_RESOURCE_TYPES: readonly string[] = Object.keys(DATA_RESOURCE_TYPES);

/** Whether a DataResources value means "every resource of its type" (not counted against the 250). */
function isAllResourcesValue(type: string, value: string): boolean {
  return DATA_RESOURCE_TYPES[type]?.all.test(value) ?? false;
}

function invalid(message: string): InvalidEventSelectorsError {
  return new InvalidEventSelectorsError(message);
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new SelectorShapeError(`${where} must be a structure.`);
  return value as Record<string, unknown>;
}

function asOptionalList(value: unknown, where: string): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new SelectorShapeError(`${where} must be a list.`);
  return value;
}

function asString(value: unknown, where: string): string {
  if (typeof value !== "string") throw new SelectorShapeError(`${where} must be a string.`);
  return value;
}

function parseDataResource(value: unknown, where: string): DataResource {
  const item = asObject(value, where);
  const type = item["Type"];
  if (type === undefined || type === null) throw invalid(`${where}.Type is required.`);
  const typeName = asString(type, `${where}.Type`);
  const rules = DATA_RESOURCE_TYPES[typeName];
  if (rules === undefined) {
    throw invalid(
      `${where}.Type ${typeName} is not valid for basic event selectors; use one of ${BASIC_DATA_RESOURCE_TYPES.join(", ")}, or advanced event selectors for other types.`,
    );
  }
  const values = (asOptionalList(item["Values"], `${where}.Values`) ?? []).map((v, i) =>
    asString(v, `${where}.Values[${i}]`),
  );
  if (values.length === 0) throw invalid(`${where}.Values must name at least one ARN (${rules.example}).`);
  values.forEach((v, i) => {
    if (!rules.all.test(v) && !rules.one.test(v))
      throw invalid(`Value ${v} for ${where}.Values[${i}] is invalid for ${typeName}; expected ${rules.example}.`);
  });
  return { Type: typeName, Values: values };
}

function parseSelector(value: unknown, index: number): BasicEventSelector {
  const where = `EventSelectors[${index}]`;
  const item = asObject(value, where);
  const readWrite = item["ReadWriteType"] ?? "All";
  if (typeof readWrite !== "string" || !(READ_WRITE_TYPES as readonly string[]).includes(readWrite))
    throw invalid(`${where}.ReadWriteType ${JSON.stringify(readWrite)} is not valid; use ReadOnly, WriteOnly or All.`);
  const include = item["IncludeManagementEvents"] ?? true;
  if (typeof include !== "boolean") throw new SelectorShapeError(`${where}.IncludeManagementEvents must be a boolean.`);
  const resources = (asOptionalList(item["DataResources"], `${where}.DataResources`) ?? []).map((r, i) =>
    parseDataResource(r, `${where}.DataResources[${i}]`),
  );
  const excluded = (
    asOptionalList(item["ExcludeManagementEventSources"], `${where}.ExcludeManagementEventSources`) ?? []
  ).map((v, i) => asString(v, `${where}.ExcludeManagementEventSources[${i}]`));
  for (const source of excluded) {
    if (!(EXCLUDABLE_MANAGEMENT_SOURCES as readonly string[]).includes(source))
      throw invalid(
        `${where}.ExcludeManagementEventSources: ${source} cannot be excluded; only ${EXCLUDABLE_MANAGEMENT_SOURCES.join(" and ")} can.`,
      );
  }
  return {
    ReadWriteType: readWrite as BasicEventSelector["ReadWriteType"],
    IncludeManagementEvents: include,
    DataResources: resources,
    ExcludeManagementEventSources: [...new Set(excluded)],
  };
}

/**
 * Validates `EventSelectors` as sent and returns it with defaults filled in. Throws
 * InvalidEventSelectorsError (or SelectorShapeError for wrong JSON types).
 *
 * @example validateBasicEventSelectors([{ ReadWriteType: "WriteOnly" }])
 */
export function validateBasicEventSelectors(input: unknown): BasicEventSelector[] {
  if (!Array.isArray(input)) throw new SelectorShapeError("EventSelectors must be a list.");
  if (input.length < 1 || input.length > MAX_BASIC_SELECTORS)
    throw invalid(`A trail takes 1 to ${MAX_BASIC_SELECTORS} event selectors; ${input.length} were given.`);
  const selectors = input.map((item, index) => parseSelector(item, index));
  let counted = 0;
  selectors.forEach((selector, index) => {
    let inSelector = 0;
    for (const resource of selector.DataResources ?? [])
      for (const value of resource.Values ?? []) if (!isAllResourcesValue(resource.Type, value)) inSelector += 1;
    if (inSelector > MAX_DATA_RESOURCE_VALUES)
      throw invalid(
        `EventSelectors[${index}] names ${inSelector} data resources; the limit is ${MAX_DATA_RESOURCE_VALUES}.`,
      );
    counted += inSelector;
  });
  if (counted > MAX_DATA_RESOURCE_VALUES)
    throw invalid(
      `The event selectors name ${counted} data resources in total; a trail allows ${MAX_DATA_RESOURCE_VALUES} (values that select every resource of a type are not counted).`,
    );
  return selectors;
}
