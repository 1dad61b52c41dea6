/**
 * The one event-selector matcher (spec §6), shared by trails and Lake event data stores: compiled once
 * from a configuration, then asked per record. It assumes a validated configuration.
 */
import type { CloudTrailRecord } from "../model/record.js";
import { categoryOf, fieldValues, isReadOnly, resourcesOf } from "./record-fields.js";
import type {
  AdvancedEventSelector,
  AdvancedFieldSelector,
  BasicEventSelector,
  EventSelectorMatcher,
} from "./selector-types.js";

type Predicate = (record: CloudTrailRecord) => boolean;
type ValueTest = (value: string) => boolean;

export interface SelectorConfiguration {
  readonly eventSelectors?: readonly BasicEventSelector[];
  readonly advancedEventSelectors?: readonly AdvancedEventSelector[];
}

/** One DataResources value against one resource ARN of its type (spec §6.1 "matching rules"). */
function dataResourceValueMatches(type: string, value: string, arn: string): boolean {
  // S3 values are plain prefixes of the object ARN (`arn:aws:s3:::bucket/` = every object of bucket).
  if (type === "AWS::S3::Object") return arn.startsWith(value);
  // Lambda and DynamoDB values name one function/table (or every one): `…:function:hello` must not
  // match `hello2`, but does match a qualified `…:function:hello:1` and a table's `…/stream/…`.
  return arn === value || arn.startsWith(`${value}:`) || arn.startsWith(`${value}/`);
}

function compileBasic(selector: BasicEventSelector): Predicate {
  const readWrite = selector.ReadWriteType ?? "All";
  const includeManagement = selector.IncludeManagementEvents ?? true;
  const excluded = new Set(selector.ExcludeManagementEventSources ?? []);
  const resources = selector.DataResources ?? [];
  return (record) => {
    if (readWrite === "ReadOnly" && !isReadOnly(record)) return false;
    if (readWrite === "WriteOnly" && isReadOnly(record)) return false;
    const category = categoryOf(record);
    if (category === "Management") return includeManagement && !excluded.has(record.eventSource);
    // Basic selectors know no network activity or Insights events; data events need a DataResource.
    if (category !== "Data") return false;
    const refs = resourcesOf(record);
    return resources.some((resource) =>
      refs.some(
        (ref) =>
          ref.type === resource.Type &&
          ref.arn !== undefined &&
          (resource.Values ?? []).some((value) => dataResourceValueMatches(resource.Type, value, ref.arn!)),
      ),
    );
  };
}

function valueTests(fieldSelector: AdvancedFieldSelector, positive: boolean): ValueTest[] {
  const [equals, startsWith, endsWith] = positive
    ? [fieldSelector.Equals, fieldSelector.StartsWith, fieldSelector.EndsWith]
    : [fieldSelector.NotEquals, fieldSelector.NotStartsWith, fieldSelector.NotEndsWith];
  // Values are literal: `*` is no wildcard (spec §6.2).
  return [
    ...(equals ?? []).map(
      (v): ValueTest =>
        (x) =>
          x === v,
    ),
    ...(startsWith ?? []).map(
      (v): ValueTest =>
        (x) =>
          x.startsWith(v),
    ),
    ...(endsWith ?? []).map(
      (v): ValueTest =>
        (x) =>
          x.endsWith(v),
    ),
  ];
}

/**
 * "How CloudTrail evaluates multiple conditions for a field": the SELECT operators are ORed (some
 * value must match one), the DESELECT operators reject the event when any of their values matches,
 * and a field with both kinds needs both to pass.
 */
function compileField(fieldSelector: AdvancedFieldSelector, arnTypes: ReadonlySet<string> | undefined): Predicate {
  const select = valueTests(fieldSelector, true);
  const deselect = valueTests(fieldSelector, false);
  const field = fieldSelector.Field;
  return (record) => {
    const values = fieldValues(record, field, arnTypes);
    if (select.length > 0 && !values.some((x) => select.some((test) => test(x)))) return false;
    return !values.some((x) => deselect.some((test) => test(x)));
  };
}

function compileAdvanced(selector: AdvancedEventSelector): Predicate {
  const typeField = selector.FieldSelectors.find((f) => f.Field === "resources.type");
  const arnTypes = typeField?.Equals !== undefined ? new Set(typeField.Equals) : undefined;
  const fields = selector.FieldSelectors.map((f) => compileField(f, arnTypes));
  return (record) => fields.every((matches) => matches(record));
}

/**
 * Compiles a selector configuration: advanced selectors when given, else basic selectors, else the
 * default (every management event, read and write; no data, network activity or Insights events).
 * A record is selected when any selector matches it.
 *
 * @example compileEventSelectors({ eventSelectors: [{ ReadWriteType: "WriteOnly" }] }).matches(record)
 */
export function compileEventSelectors(config: SelectorConfiguration): EventSelectorMatcher {
  const predicates =
    config.advancedEventSelectors !== undefined
      ? config.advancedEventSelectors.map(compileAdvanced)
      : (config.eventSelectors ?? [{}]).map(compileBasic);
  return { matches: (record) => predicates.some((matches) => matches(record)) };
}
