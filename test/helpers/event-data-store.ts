import type { EventDataStore } from "../../src/lake/catalog/index.js";

/**
 * An event data store as the catalog keeps it, for tests that put one straight into a catalog:
 * enabled, management events, multi-region, seven years' retention, created at time 0; `overrides`
 * change any of it (its ARN follows the id, account and region unless given).
 */
export function eventDataStoreFixture(
  overrides: Partial<EventDataStore> & Pick<EventDataStore, "id" | "accountId">,
): EventDataStore {
  const region = overrides.region ?? "us-east-1";
  return {
    region,
    name: "all",
    arn: `arn:aws:cloudtrail:${region}:${overrides.accountId}:eventdatastore/${overrides.id}`,
    status: "ENABLED",
    advancedEventSelectors: [
      { Name: "management", FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] },
    ],
    multiRegionEnabled: true,
    organizationEnabled: false,
    retentionPeriod: 2557,
    terminationProtectionEnabled: false,
    billingMode: "EXTENDABLE_RETENTION_PRICING",
    tags: [],
    createdMs: 0,
    updatedMs: 0,
    fromSeq: 0,
    ...overrides,
  };
}
