/**
 * Trino functions Lake users rely on, as DuckDB macros. Names DuckDB already uses with other
 * semantics get a `cairn_` name and query-sql.ts renames calls to them; the rest keep Trino's name.
 */
export const LAKE_MACROS: readonly string[] = [
  // Trino element_at: map value by key, or 1-based array element (NULL when absent, no error).
  "cairn_element_at(c, k) AS c[k]",
  // Trino date_add(unit, value, timestamp); DuckDB's takes (date, interval).
  "cairn_date_add(unit, n, t) AS t + n * CAST('1 ' || unit AS INTERVAL)",
  "cairn_contains(a, x) AS list_contains(a, x)",
  "cairn_json_array_contains(j, v) AS json_contains(CAST(j AS JSON), to_json(v))",
  "cairn_split(s, d) AS string_split(s, d)",
  "regexp_like(s, p) AS regexp_matches(s, p)",
  "json_extract_scalar(j, p) AS json_extract_string(j, p)",
  "from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)",
  "from_iso8601_date(s) AS CAST(s AS DATE)",
  "json_parse(s) AS json(s)",
  "json_format(j) AS CAST(j AS VARCHAR)",
  "is_json_scalar(j) AS json_type(CAST(j AS JSON)) NOT IN ('OBJECT', 'ARRAY')",
  "json_array_get(j, i) AS json_extract(CAST(j AS JSON), '$[' || i || ']')",
  "approx_distinct(x) AS approx_count_distinct(x)",
  "to_unixtime(t) AS epoch(t)",
  "from_unixtime(x) AS to_timestamp(x)",
  "date(x) AS CAST(x AS DATE)",
  "date_format(t, f) AS strftime(t, f)",
  "array_join(a, s) AS array_to_string(a, s)",
  "day_of_month(t) AS dayofmonth(t)",
  "day_of_year(t) AS dayofyear(t)",
  "year_of_week(t) AS isoyear(t)",
  "yow(t) AS isoyear(t)",
  "doy(t) AS dayofyear(t)",
];
