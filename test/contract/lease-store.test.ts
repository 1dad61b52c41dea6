import { LocalLeaseStore } from "../../src/stores/lease/index.js";
import { leaseStoreContractSuite } from "./lease-store.suite.js";

leaseStoreContractSuite("LocalLeaseStore", async () => {
  let nowMs = 1_700_000_000_000;
  return {
    store: new LocalLeaseStore({ nowMs: () => nowMs }),
    advanceMs: (ms) => void (nowMs += ms),
    cleanup: async () => undefined,
  };
});
