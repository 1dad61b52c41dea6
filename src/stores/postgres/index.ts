/** The PostgreSQL database of the cluster backends (issue #13): the pooled connection and the schema migrations. */
export * from "./postgres-database.js";
export * from "./migrations.js";
export * from "./insert-rows.js";
