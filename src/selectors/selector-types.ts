/** Event selectors (spec §6): the shapes PutEventSelectors takes and GetEventSelectors returns. */
export interface DataResource {
  readonly Type: string;
  readonly Values?: readonly string[];
}

export interface BasicEventSelector {
  readonly ReadWriteType?: "ReadOnly" | "WriteOnly" | "All";
  readonly IncludeManagementEvents?: boolean;
  readonly DataResources?: readonly DataResource[];
  readonly ExcludeManagementEventSources?: readonly string[];
}

export interface AdvancedFieldSelector {
  readonly Field: string;
  readonly Equals?: readonly string[];
  readonly StartsWith?: readonly string[];
  readonly EndsWith?: readonly string[];
  readonly NotEquals?: readonly string[];
  readonly NotStartsWith?: readonly string[];
  readonly NotEndsWith?: readonly string[];
}

export interface AdvancedEventSelector {
  readonly Name?: string;
  readonly FieldSelectors: readonly AdvancedFieldSelector[];
}

/**
 * One matcher for trails and (later) Lake event data stores: compiled once from a configuration,
 * then asked per record. Implemented in src/selectors/selector-matcher.ts.
 */
export interface EventSelectorMatcher {
  matches(record: import("../model/record.js").CloudTrailRecord): boolean;
}
