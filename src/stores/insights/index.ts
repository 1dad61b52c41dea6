/** CloudTrail Insights series: the contract, its embedded backend (SQLite) and its cluster backend (PostgreSQL). */
export * from "./insight-series-store.js";
export * from "./sqlite-insight-series-store.js";
export * from "./postgres-insight-series-store.js";
export * from "./insights-import.js";
