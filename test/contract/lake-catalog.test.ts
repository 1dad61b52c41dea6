import { join } from "node:path";
import { openSqliteLakeCatalog } from "../../src/lake/catalog/index.js";
import { lakeCatalogContractSuite } from "./lake-catalog.suite.js";

lakeCatalogContractSuite("SqliteLakeCatalog", (place) => openSqliteLakeCatalog(join(place, "lake.db")));
